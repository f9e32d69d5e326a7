import { openMemory } from "./support/stores.mjs";
import { storeConformance } from "./store-conformance.mjs";

storeConformance("memory", openMemory);
