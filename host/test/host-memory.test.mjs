import { hostSuite } from "./host-suite.mjs";
import { openMemory } from "./support/stores.mjs";

hostSuite("memory", openMemory);
