import { hostSuite } from "./host-suite.mjs";
import { openPglite } from "./support/stores.mjs";

hostSuite("pglite", openPglite);
