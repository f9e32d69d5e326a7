// The organisation's hourly request budget (docs 1.8): every authenticated API request spends one; headers on
// every response; 429 with Retry-After once it is spent. A "storm" answers 429 regardless of the budget.

export class RateLimiter {
  constructor({ clock, config }) {
    this.clock = clock;
    this.config = config;
    this.reset();
  }

  reset() {
    this.windowStartMs = null;
    this.used = 0;
    this.storm = null;
    this.throttled = 0;
  }

  window() {
    const now = this.clock.now();
    const len = this.config.rateLimit.windowMs;
    if (this.windowStartMs === null || now >= this.windowStartMs + len) {
      this.windowStartMs = now;
      this.used = 0;
    }
    return { now, resetMs: this.windowStartMs + len };
  }

  /**
   * Spends one request. Returns `{headers, retryAfterSeconds?}`: with `retryAfterSeconds` the request must be
   * answered 429 (and did not spend budget).
   */
  take() {
    const limit = this.config.rateLimit.limit;
    const { now, resetMs } = this.window();
    const headers = () => ({
      "X-RateLimit-Limit": String(limit),
      "X-RateLimit-Remaining": String(Math.max(0, limit - this.used)),
      "X-RateLimit-Reset": String(Math.ceil(resetMs / 1000)),
    });
    if (this.storm) {
      const s = this.storm;
      const active = (s.remaining === null || s.remaining > 0) && (s.untilMs === null || now < s.untilMs);
      if (active) {
        if (s.remaining !== null) s.remaining--;
        this.throttled++;
        return { headers: headers(), retryAfterSeconds: s.retryAfterSeconds };
      }
      this.storm = null;
    }
    if (this.used >= limit) {
      this.throttled++;
      return { headers: headers(), retryAfterSeconds: Math.max(1, Math.ceil((resetMs - now) / 1000)) };
    }
    this.used++;
    return { headers: headers() };
  }

  /** The next `count` requests (or those within `durationMs`) get 429 with `Retry-After: retryAfterSeconds`. */
  startStorm({ count = null, durationMs = null, retryAfterSeconds = 30 } = {}) {
    if (count === null && durationMs === null) count = 10;
    this.storm = {
      remaining: count,
      untilMs: durationMs === null ? null : this.clock.now() + durationMs,
      retryAfterSeconds,
    };
    return this.status();
  }

  status() {
    const { resetMs } = this.window();
    return {
      limit: this.config.rateLimit.limit,
      used: this.used,
      remaining: Math.max(0, this.config.rateLimit.limit - this.used),
      resetMs,
      throttled: this.throttled,
      storm: this.storm ? { ...this.storm } : null,
    };
  }
}
