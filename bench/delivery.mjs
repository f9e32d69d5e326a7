// The delivery every receive benchmark verifies: a live-shaped CRM+ GiftCreate (reference section 6 of the
// Virtuous facts: `giftDateFormatted`, enriched designations, name-keyed custom fields) padded to an exact size
// with more designations, then with notes. Shared by bench/receive.mjs (Node) and bench/receive-worker.mjs
// (workerd), so both measure the same bytes.

export const SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";
export const SIZES = [1024, 16 * 1024, 256 * 1024];

/** The delivery's JSON text, exactly `size` bytes (ASCII). */
export function deliveryText(size) {
  const gift = {
    id: 78421,
    transactionSource: "YourPlatform",
    transactionId: "donation-9421",
    contactId: 4821,
    contactIndividualId: 9012,
    contactPassthroughId: null,
    giftType: "Cash",
    giftDateFormatted: "12/15/2024",
    amount: 500.0,
    currencyCode: "USD",
    segmentCode: "YE24",
    giftDesignations: [],
    customFields: { "Receipt Status": "Pending" },
    notes: "",
  };
  const text = () => JSON.stringify({ event: "GiftCreate", gift });
  for (let i = 0; ; i++) {
    const d = { projectId: 311 + i, projectCode: `PROJECT-${i}`, amountDesignated: 12.5 };
    gift.giftDesignations.push(d);
    if (text().length > size - 32) {
      gift.giftDesignations.pop();
      break;
    }
  }
  const pad = size - text().length;
  if (pad < 0) throw new Error(`size ${size} is too small for the delivery`);
  gift.notes = "x".repeat(pad);
  const out = text();
  if (out.length !== size) throw new Error(`delivery is ${out.length} bytes, wanted ${size}`);
  return out;
}

/**
 * The hand-written pipeline a partner would write without any library: verify, parse, check the envelope, and
 * drop a repeat by a bounded window of keys. `verify(body) -> boolean` is the engine's HMAC check.
 */
export function handWritten(verify, windowSize = 10_000) {
  const seen = new Map();
  return (body, text) => {
    if (!verify(body)) return { status: 401 };
    const doc = JSON.parse(text);
    if (typeof doc?.event !== "string") return { status: 400 };
    const key = Object.keys(doc).find((k) => k !== "event");
    const resource = key === undefined ? undefined : doc[key];
    if (resource === null || typeof resource !== "object" || resource.id === undefined) return { status: 400 };
    const dedupe = `${doc.event}:${resource.id}:${resource.modifiedDateTimeUtc ?? ""}:${text.length}`;
    const repeat = seen.has(dedupe);
    if (!repeat) {
      seen.set(dedupe, true);
      if (seen.size > windowSize) seen.delete(seen.keys().next().value);
    }
    return { status: 200, repeat, event: doc.event, resource };
  };
}

/**
 * What a server behind a proxy or CDN hands a handler with the delivery: fifteen headers, the signature among them
 * (a plain object; the workerd bench wraps it in a Fetch Headers, as a Worker's `request.headers`).
 */
export function proxyHeaders(signatureHex, contentLength) {
  return {
    host: "hooks.example.org",
    "user-agent": "Virtuous-Webhooks/1.0",
    "content-type": "application/json; charset=utf-8",
    "content-length": String(contentLength),
    accept: "*/*",
    "accept-encoding": "gzip, deflate",
    "x-forwarded-for": "52.1.2.3, 10.0.0.1",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "hooks.example.org",
    "x-request-id": "0f9a1b2c-3d4e-5f60-7182-93a4b5c6d7e8",
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "cf-ray": "8c1d2e3f4a5b6c7d-IAD",
    "cf-connecting-ip": "52.1.2.3",
    "x-virtuous-signature": signatureHex,
    connection: "close",
  };
}
