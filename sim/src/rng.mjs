// Seeded randomness: every id and every fault choice the simulator makes comes from here, so a seed replays a run.
import { createHash } from "node:crypto";

/** A 32-bit state from any seed (number or string), through SHA-256 so nearby seeds diverge. */
function seedState(seed, stream) {
  const digest = createHash("sha256").update(`${String(seed)}\u0000${stream}`).digest();
  return digest.readUInt32LE(0);
}

/** mulberry32: small, fast, good enough for test choices (not for secrets). */
export class Rng {
  constructor(seed, stream = "main") {
    this.state = seedState(seed, stream) >>> 0;
  }
  /** A float in [0, 1). */
  next() {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo, hi) {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** True with probability p. */
  chance(p) {
    return p > 0 && this.next() < p;
  }
  pick(list) {
    return list[Math.floor(this.next() * list.length)];
  }
  /** Hex string of n bytes (deterministic tokens; never used as a real secret). */
  hex(n) {
    let s = "";
    for (let i = 0; i < n; i++) s += this.int(0, 255).toString(16).padStart(2, "0");
    return s;
  }
}
