// Which Durable Object a delivery goes to. The one place the Worker host derives record keys from an event (the
// core's `lookupKeys`, through the host kit's store-shaped adapter).
import { lookupKeys } from "../keys.mjs";
import { productRecordKey } from "../host.mjs";

const SYNCED = new Set(["gift", "contact"]);

/** The record key for events this host does not keep (unsupported, not synced): one Object per customer. */
export const OTHER_KEY = "_other";

/**
 * `{keys, fallbackKey}`: the lookup keys of `event`'s record (Virtuous id, our external references) and the key a
 * new record gets when the index knows none of them (`gift:v123`).
 */
export function routeKeys(core, event) {
  const keys = lookupKeys(core, event);
  // A Raise or Volunteer event goes to its link's Object (raise:contact:v77), never to the CRM+ record's.
  if (keys.product && keys.product !== "crm")
    return { keys, fallbackKey: keys.kind && keys.virtuousId ? productRecordKey(keys.product, keys.kind, keys.virtuousId) : OTHER_KEY };
  if (!SYNCED.has(keys.kind) || !keys.virtuousId) return { keys, fallbackKey: OTHER_KEY };
  return { keys, fallbackKey: `${keys.kind}:v${keys.virtuousId}` };
}

/** The Durable Object name of a record: customer and record key, unambiguous (the customer id cannot hold NUL). */
export const objectName = (customerId, recordKey) => `${customerId}\u0000${recordKey}`;
