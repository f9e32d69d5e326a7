// The simulator's clock. "real" follows the machine clock plus an offset that `advance` grows; "manual" stands
// still until `advance`/`set` moves it. Every timestamp the simulator writes and every retry it schedules reads it,
// so tests move time instead of sleeping.

export class Clock {
  /** @param {{mode?: "real"|"manual", startMs?: number}} [options] */
  constructor(options = {}) {
    this.mode = options.mode === "manual" ? "manual" : "real";
    const start = options.startMs ?? (typeof options.start === "string" ? Date.parse(options.start) : undefined);
    if (start !== undefined && !Number.isFinite(start)) throw new TypeError("clock.startMs must be a finite number");
    if (this.mode === "manual") {
      this.manualMs = start ?? Date.UTC(2026, 0, 1);
      this.offsetMs = 0;
    } else {
      this.offsetMs = start === undefined ? 0 : start - Date.now();
    }
  }
  now() {
    return this.mode === "manual" ? this.manualMs : Date.now() + this.offsetMs;
  }
  advance(ms) {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError("advance: ms must be a finite number >= 0");
    if (this.mode === "manual") this.manualMs += ms;
    else this.offsetMs += ms;
    return this.now();
  }
  set(ms) {
    if (!Number.isFinite(ms)) throw new RangeError("set: ms must be a finite number");
    if (this.mode === "manual") this.manualMs = ms;
    else this.offsetMs = ms - Date.now();
    return this.now();
  }
  toJSON() {
    const nowMs = this.now();
    return { mode: this.mode, nowMs, iso: new Date(nowMs).toISOString() };
  }
}
