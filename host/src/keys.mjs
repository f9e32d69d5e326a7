// How an inbound event finds its stored record: the core's `lookupKeys(event)` (Virtuous id, then the external
// reference our platform stamped on it: the nightly batch's create of our own Transaction carries a Virtuous id we
// have never stored), in the shape the stores index by.

/** Normalised external-reference key: the source compared trimmed and case-insensitively, the id exactly (after trim). */
export function refKey(source, id) {
  if (source == null || id == null) return undefined;
  const s = String(source).trim().toLowerCase();
  const i = String(id).trim();
  return s && i ? { source: s, id: i } : undefined;
}

/**
 * The keys under which `event`'s record may be stored, from `core.lookupKeys(event)`:
 * `{ kind, virtuousId?, refs: [{source, id}], mergedInto? }`. `kind` is absent for a kind that does not sync;
 * `refs` holds only our own references (the core compares the stamp's source with the platform name).
 */
export function lookupKeys(core, event) {
  const found = core.lookupKeys(event);
  const out = { kind: found.kind, virtuousId: undefined, refs: [] };
  if (found.product) out.product = found.product; // Raise or Volunteer: the link's product (omitted for CRM+)
  for (const k of found.keys) {
    if (k.tag === "virtuous-id") out.virtuousId ??= k.val;
    else if (k.tag === "external-ref") {
      const r = refKey(k.val.source, k.val.id);
      if (r && !out.refs.some((x) => x.id === r.id)) out.refs.push(r);
    } else if (k.tag === "merged-into") out.mergedInto = k.val;
  }
  return out;
}
