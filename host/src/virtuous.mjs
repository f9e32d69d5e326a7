// The Virtuous HTTP client the host uses: one request, its status, rate-limit headers and body; a network failure
// is `status: null` (what classifyResponse and RateBudget.observe expect). Never throws for an HTTP outcome.

export class VirtuousClient {
  /** @param {{baseUrl: string, token?: string, fetch?: typeof fetch, timeoutMs?: number}} options */
  constructor({ baseUrl, token, fetch: f = globalThis.fetch, timeoutMs = 30_000 }) {
    if (!baseUrl) throw new TypeError("virtuous.baseUrl is required");
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.token = token;
    // Never called as a method of this client: workerd's fetch throws "Illegal invocation" unless `this` is the
    // global scope.
    this.fetch = (input, init) => f.call(globalThis, input, init);
    this.timeoutMs = timeoutMs;
  }

  /** `request` as the core returns it: `{method, path, body?}`; `query` adds `?skip=&take=` style parameters. */
  async send({ method, path, body, query }) {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v));
    const headers = { accept: "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined && method !== "GET") headers["content-type"] = "application/json";
    let res;
    try {
      res = await this.fetch(url, {
        method,
        headers,
        body: body !== undefined && method !== "GET" ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      return { status: null, headers: {}, text: "", json: undefined, error: e?.name === "TimeoutError" ? "timeout" : "network" };
    }
    const text = await res.text().catch(() => "");
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const h = (n) => res.headers.get(n) ?? undefined;
    return {
      status: res.status,
      headers: { limit: h("x-ratelimit-limit"), remaining: h("x-ratelimit-remaining"), reset: h("x-ratelimit-reset"), retryAfter: h("retry-after") },
      text,
      json,
    };
  }
}
