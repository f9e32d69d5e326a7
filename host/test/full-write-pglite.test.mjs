import { fullWriteSuite } from "./full-write-suite.mjs";
import { openPglite } from "./support/stores.mjs";

fullWriteSuite("full-record writes, pglite", openPglite);
