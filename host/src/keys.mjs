// How an inbound event finds its stored record: by Virtuous id, or by the external reference our platform
// stamped on it (the nightly batch's create of our own Transaction carries a Virtuous id we have never stored).
// Kept to this one function on purpose: the core will offer `core.lookupKeys(event)`, which replaces it.

/** Normalised external-reference key: the source compared trimmed and case-insensitively, the id exactly (after trim). */
export function refKey(source, id) {
  if (source == null || id == null) return undefined;
  const s = String(source).trim().toLowerCase();
  const i = String(id).trim();
  return s && i ? { source: s, id: i } : undefined;
}

/**
 * The keys under which `event`'s record may be stored: `{ kind, virtuousId?, refs: [{source, id}] }`.
 * `refs` holds only references whose source is `platformName` (other platforms' references are not ours to link).
 */
export function lookupKeys(event, platformName) {
  const kind = event?.resourceKind;
  const resource = event?.resource ?? {};
  const virtuousId = event?.resourceId != null && event.resourceId !== "" ? String(event.resourceId) : undefined;
  const ours = String(platformName).trim().toLowerCase();
  const refs = [];
  const add = (source, id) => {
    const k = refKey(source, id);
    if (k && k.source === ours && !refs.some((r) => r.id === k.id)) refs.push(k);
  };
  if (kind === "gift") add(resource.transactionSource, resource.transactionId);
  if (kind === "contact") {
    add(resource.referenceSource, resource.referenceId);
    if (Array.isArray(resource.contactReferences)) for (const r of resource.contactReferences) add(r?.source, r?.id);
  }
  return { kind, virtuousId, refs };
}
