import { e2eSuite } from "./e2e-suite.mjs";
import { openPglite } from "./support/stores.mjs";

e2eSuite("e2e pglite", openPglite, { workers: 1 });
