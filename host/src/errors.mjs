// The host's one coded error. Codes (a closed set): invalid-setting, invalid-argument, unknown-customer,
// unknown-record, record-busy, not-in-conflict, partner-port, read-before-write, budget, query-failed,
// subscription-read, subscription-write, unknown-review. Messages never contain a secret.
export const HOST_ERROR_CODES = Object.freeze([
  "invalid-setting", "invalid-argument", "unknown-customer", "unknown-record", "record-busy", "not-in-conflict",
  "partner-port", "read-before-write", "budget", "query-failed", "subscription-read", "subscription-write", "unknown-review",
]);

export class HostError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "HostError";
    this.code = code;
  }
}
