import { MemoryStore } from "../src/store/memory.mjs";
import { storeConformance } from "./store-conformance.mjs";

storeConformance("memory", async () => new MemoryStore());
