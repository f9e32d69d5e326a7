// A small client for the admin API (/_sim/...) and for the sim's CRM+ API, usable from any package (global
// fetch: Node 18+). Every method resolves to the parsed JSON body, or throws a SimClientError with the status.

export class SimClientError extends Error {
  constructor(status, body, method, path) {
    const msg = body?.error?.message ?? (typeof body === "string" ? body : JSON.stringify(body));
    super(`${method} ${path}: ${status} ${msg}`);
    this.name = "SimClientError";
    this.status = status;
    this.body = body;
  }
}

async function call(base, method, path, body, headers = {}) {
  const res = await fetch(new URL(path, base), {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* plain text body */
  }
  if (!res.ok) throw new SimClientError(res.status, parsed, method, path);
  return parsed;
}

/** The admin API of a running simulator at `url` (e.g. `http://127.0.0.1:4010`). */
export class SimAdmin {
  constructor(url) {
    this.url = url.endsWith("/") ? url : `${url}/`;
  }
  request(method, path, body) {
    return call(this.url, method, path.replace(/^\//, ""), body);
  }
  health() { return this.request("GET", "_sim/health"); }
  store() { return this.request("GET", "_sim/store"); }
  reset(options = {}) { return this.request("POST", "_sim/reset", options); }
  config() { return this.request("GET", "_sim/config"); }
  patchConfig(patch) { return this.request("PATCH", "_sim/config", patch); }
  // clock
  clock() { return this.request("GET", "_sim/clock"); }
  advance(ms) { return this.request("POST", "_sim/clock/advance", { ms }); }
  setClock(msOrIso) { return this.request("POST", "_sim/clock/set", typeof msOrIso === "string" ? { iso: msOrIso } : { ms: msOrIso }); }
  // staff actions
  createContact(fields) { return this.request("POST", "_sim/contacts", fields); }
  contact(id) { return this.request("GET", `_sim/contacts/${id}`); }
  editContact(id, set) { return this.request("PATCH", `_sim/contacts/${id}`, { set }); }
  deleteContact(id) { return this.request("DELETE", `_sim/contacts/${id}`); }
  merge(from, into) { return this.request("POST", "_sim/contacts/merge", { from, into }); }
  createGift(fields) { return this.request("POST", "_sim/gifts", fields); }
  gift(id) { return this.request("GET", `_sim/gifts/${id}`); }
  editGift(id, set) { return this.request("PATCH", `_sim/gifts/${id}`, { set }); }
  deleteGift(id) { return this.request("DELETE", `_sim/gifts/${id}`); }
  fixtures(options = {}) { return this.request("POST", "_sim/fixtures", options); }
  trigger(event, options = {}) { return this.request("POST", "_sim/trigger", { event, ...options }); }
  // transactions
  transactions() { return this.request("GET", "_sim/transactions"); }
  runBatch(options = {}) { return this.request("POST", "_sim/batch/run", options); }
  // subscriptions, events, deliveries
  subscriptions() { return this.request("GET", "_sim/subscriptions"); }
  subscribe(body) { return this.request("POST", "_sim/subscriptions", body); }
  events() { return this.request("GET", "_sim/events"); }
  deliveries(filter = {}) {
    const qs = new URLSearchParams(filter).toString();
    return this.request("GET", `_sim/deliveries${qs ? `?${qs}` : ""}`);
  }
  delivery(id) { return this.request("GET", `_sim/deliveries/${id}`); }
  flush(options = {}) { return this.request("POST", "_sim/deliveries/flush", options); }
  hold() { return this.request("POST", "_sim/deliveries/hold"); }
  release(order = "fifo") { return this.request("POST", "_sim/deliveries/release", { order }); }
  redeliver(id) { return this.request("POST", `_sim/deliveries/${id}/redeliver`); }
  duplicateNext(count = 1) { return this.request("POST", "_sim/deliveries/duplicate-next", { count }); }
  // outages and rate limits
  outages() { return this.request("GET", "_sim/outages"); }
  setOutages(o) { return this.request("PUT", "_sim/outages", o); }
  apiFaults() { return this.request("GET", "_sim/api-faults"); }
  setApiFaults(list) { return this.request("PUT", "_sim/api-faults", list); }
  rateLimit() { return this.request("GET", "_sim/rate-limit"); }
  storm(options = {}) { return this.request("POST", "_sim/rate-limit/storm", options); }
  resetRateLimit() { return this.request("POST", "_sim/rate-limit/reset"); }
  // observation, scenarios
  requests(filter = {}) {
    const qs = new URLSearchParams(filter).toString();
    return this.request("GET", `_sim/requests${qs ? `?${qs}` : ""}`);
  }
  scenarios() { return this.request("GET", "_sim/scenarios"); }
  scenario(name, options = {}) { return this.request("POST", `_sim/scenarios/${encodeURIComponent(name)}/run`, options); }
}

/** The simulator's CRM+ API with a bearer token (default: the sim's default API key). */
export class SimApi {
  constructor(url, token = "sim-api-key") {
    this.url = url.endsWith("/") ? url : `${url}/`;
    this.token = token;
  }
  /** Raw call: resolves to the fetch Response (for status and headers). */
  raw(method, path, body, headers = {}) {
    return fetch(new URL(path.replace(/^\//, ""), this.url), {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  request(method, path, body) {
    return call(this.url, method, path.replace(/^\//, ""), body, { authorization: `Bearer ${this.token}` });
  }
}
