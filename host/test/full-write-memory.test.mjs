import { fullWriteSuite } from "./full-write-suite.mjs";
import { openMemory } from "./support/stores.mjs";

fullWriteSuite("full-record writes, memory", openMemory);
