// The store on PostgreSQL's dialect, shared by PGlite (embedded) and PostgreSQL (`pg`). A `db` adapter gives
// `query(text, params) -> {rows, rowCount}` and `tx(fn(query))` (one transaction; rolled back when fn throws).
// Every operation that must be atomic is one statement or one transaction here; the conformance suite
// (test/store-conformance.mjs) pins the contract every store keeps (see ./contract.mjs for its documentation).
import { MIGRATIONS } from "./migrations.mjs";
import { StoreError, retried } from "./contract.mjs";

const num = (v) => (v == null ? undefined : Number(v));
const json = (v) => (v === undefined ? null : JSON.stringify(v));

function recordRow(r) {
  if (!r) return null;
  return {
    customerId: r.customer_id,
    recordKey: r.record_key,
    product: r.product ?? "crm",
    kind: r.kind,
    partnerId: r.partner_id ?? undefined,
    virtuousId: r.virtuous_id ?? undefined,
    version: Number(r.version),
    state: r.state ?? null,
    dirty: r.dirty,
    recheckMs: num(r.recheck_ms),
    changeSeq: Number(r.change_seq),
    lockOwner: r.lock_owner ?? undefined,
    lockUntilMs: num(r.lock_until_ms),
    updatedMs: Number(r.updated_ms),
    ...(r.written != null ? { written: r.written } : {}),
    ...(r.retry != null ? { retry: r.retry } : {}),
  };
}

function inboxRow(r) {
  return {
    id: String(r.id),
    customerId: r.customer_id,
    dedupeKey: r.dedupe_key,
    receivedMs: Number(r.received_ms),
    origin: r.origin,
    body: r.body ?? undefined,
    event: r.event ?? undefined,
    status: r.status,
    attempts: r.attempts,
    dueMs: Number(r.due_ms),
    leaseOwner: r.lease_owner ?? undefined,
    leaseUntilMs: num(r.lease_until_ms),
    lastError: r.last_error ?? undefined,
  };
}

function outboxRow(r) {
  return {
    customerId: r.customer_id,
    recordKey: r.record_key,
    request: r.request,
    queuedMs: Number(r.queued_ms),
    dueMs: Number(r.due_ms),
    attempts: r.attempts,
    status: r.status,
    leaseOwner: r.lease_owner ?? undefined,
    leaseUntilMs: num(r.lease_until_ms),
    nextRequest: r.next_request ?? undefined,
    dropAfter: r.drop_after,
    lastError: r.last_error ?? undefined,
    lastStatus: r.last_status ?? undefined,
    ...(r.prev_status === "in-flight" ? { leasedBefore: true } : {}),
  };
}

export class SqlStore {
  /** @param db {{query(text, params?): Promise<{rows: any[], rowCount?: number}>, tx<T>(fn: (q) => Promise<T>): Promise<T>, close(): Promise<void>}} */
  constructor(db, { name }) {
    this.db = db;
    this.name = name;
  }

  async migrate() {
    // One transaction under an advisory lock: processes starting together migrate one after the other (DDL is
    // transactional in PostgreSQL, so a failed migration leaves nothing half-applied).
    return this.db.tx(async (q) => {
      await q("SELECT pg_advisory_xact_lock(7461726001)");
      await q("CREATE TABLE IF NOT EXISTS vsh_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_ms bigint NOT NULL)");
      const applied = new Set((await q("SELECT version FROM vsh_migrations")).rows.map((r) => r.version));
      const done = [];
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        for (const stmt of m.sql.split(";").map((x) => x.trim()).filter(Boolean)) await q(stmt);
        await q("INSERT INTO vsh_migrations (version, name, applied_ms) VALUES ($1, $2, $3)", [m.version, m.name, Date.now()]);
        done.push(m.version);
      }
      return { applied: done, version: MIGRATIONS.at(-1).version };
    });
  }

  async schemaVersion() {
    const r = await this.db.query("SELECT max(version) AS v FROM vsh_migrations");
    return Number(r.rows[0]?.v ?? 0);
  }

  close() {
    return this.db.close();
  }

  // --- customers -----------------------------------------------------------------------------------------------
  async putCustomer(customerId, settings, nowMs) {
    const r = await this.db.query(
      `INSERT INTO vsh_customers (customer_id, settings, created_ms) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (customer_id) DO UPDATE SET settings = EXCLUDED.settings, rev = vsh_customers.rev + 1
       RETURNING rev`,
      [customerId, json(settings), nowMs],
    );
    return Number(r.rows[0].rev);
  }

  async getCustomer(customerId) {
    const r = await this.db.query("SELECT * FROM vsh_customers WHERE customer_id = $1", [customerId]);
    const c = r.rows[0];
    return c ? { customerId, settings: c.settings, rev: c.rev, pausedAtMs: num(c.paused_at_ms), budget: c.budget ?? undefined } : null;
  }

  async listCustomers() {
    const r = await this.db.query("SELECT customer_id FROM vsh_customers ORDER BY customer_id");
    return r.rows.map((x) => x.customer_id);
  }

  async setPaused(customerId, pausedAtMs) {
    await this.db.query("UPDATE vsh_customers SET paused_at_ms = $2 WHERE customer_id = $1", [customerId, pausedAtMs ?? null]);
  }

  /** Read-modify-write of the customer's rate budget state under a row lock; `fn(state|undefined)` is synchronous. */
  async updateBudget(customerId, fn) {
    return this.db.tx(async (q) => {
      const r = await q("SELECT budget FROM vsh_customers WHERE customer_id = $1 FOR UPDATE", [customerId]);
      if (!r.rows.length) throw new StoreError("unknown-customer", customerId);
      const { state, result } = fn(r.rows[0].budget ?? undefined);
      await q("UPDATE vsh_customers SET budget = $2::jsonb WHERE customer_id = $1", [customerId, json(state)]);
      return result;
    });
  }

  // --- key/value (cursors, progress, counters) ------------------------------------------------------------------
  async kvGet(customerId, key) {
    const r = await this.db.query("SELECT value FROM vsh_kv WHERE customer_id = $1 AND key = $2", [customerId, key]);
    return r.rows[0]?.value;
  }

  async kvPut(customerId, key, value) {
    await this.db.query(
      `INSERT INTO vsh_kv (customer_id, key, value) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (customer_id, key) DO UPDATE SET value = EXCLUDED.value`,
      [customerId, key, json(value)],
    );
  }

  /** Adds `by` to numeric counters stored under `counters` (atomic). */
  async countersAdd(customerId, deltas) {
    await this.db.tx(async (q) => {
      const r = await q("SELECT value FROM vsh_kv WHERE customer_id = $1 AND key = 'counters' FOR UPDATE", [customerId]);
      const c = { ...(r.rows[0]?.value ?? {}) };
      for (const [k, v] of Object.entries(deltas)) c[k] = (c[k] ?? 0) + v;
      await q(
        `INSERT INTO vsh_kv (customer_id, key, value) VALUES ($1, 'counters', $2::jsonb)
         ON CONFLICT (customer_id, key) DO UPDATE SET value = EXCLUDED.value`,
        [customerId, json(c)],
      );
    });
  }

  // --- inbox ------------------------------------------------------------------------------------------------------
  async inboxInsert({ customerId, dedupeKey, receivedMs, origin, body, event }) {
    const r = await this.db.query(
      `INSERT INTO vsh_inbox (customer_id, dedupe_key, received_ms, origin, body, event, status, due_ms)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'pending', $3)
       ON CONFLICT (customer_id, dedupe_key) DO NOTHING RETURNING id`,
      [customerId, dedupeKey, receivedMs, origin, body ?? null, json(event)],
    );
    return r.rows.length ? { inserted: true, id: String(r.rows[0].id) } : { inserted: false };
  }

  async inboxClaim({ owner, nowMs, leaseMs, limit }) {
    const r = await this.db.query(
      `UPDATE vsh_inbox SET status = 'claimed', lease_owner = $1, lease_until_ms = $2, attempts = attempts + 1
       WHERE id IN (
         SELECT id FROM vsh_inbox
         WHERE (status = 'pending' AND due_ms <= $3) OR (status = 'claimed' AND lease_until_ms < $3)
         ORDER BY due_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [owner, nowMs + leaseMs, nowMs, limit],
    );
    return r.rows.map(inboxRow).sort((a, b) => a.dueMs - b.dueMs || Number(a.id) - Number(b.id));
  }

  /** Back to pending at `dueMs`; `countAttempt: false` undoes the claim's attempt (the record was busy, not failing). */
  async inboxRelease(id, owner, { dueMs, error, countAttempt = true }) {
    const r = await this.db.query(
      `UPDATE vsh_inbox SET status = 'pending', lease_owner = NULL, lease_until_ms = NULL, due_ms = $3,
         last_error = COALESCE($4, last_error), attempts = attempts - $5
       WHERE id = $1 AND status = 'claimed' AND lease_owner = $2`,
      [id, owner, dueMs, error ?? null, countAttempt ? 0 : 1],
    );
    return r.rowCount === 1;
  }

  async inboxComplete(id, owner, nowMs) {
    return this.db.tx(async (q) => completeInbox(q, id, owner, nowMs));
  }

  async inboxDeadLetter(id, owner, error, nowMs) {
    return this.db.tx(async (q) => {
      const r = await q(
        `UPDATE vsh_inbox SET status = 'dead', lease_owner = NULL, lease_until_ms = NULL, last_error = $3, done_ms = $4
         WHERE id = $1 AND status = 'claimed' AND lease_owner = $2 RETURNING *`,
        [id, owner, error, nowMs],
      );
      if (!r.rows.length) return false;
      const e = r.rows[0];
      await q(
        "INSERT INTO vsh_dead_letters (customer_id, origin, dedupe_key, body, error, at_ms) VALUES ($1, 'inbox', $2, $3, $4, $5)",
        [e.customer_id, e.dedupe_key, e.body, error, nowMs],
      );
      return true;
    });
  }

  async deadLetter({ customerId, origin, dedupeKey, body, error, atMs }) {
    await this.db.query(
      "INSERT INTO vsh_dead_letters (customer_id, origin, dedupe_key, body, error, at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
      [customerId, origin, dedupeKey ?? null, body ?? null, error, atMs],
    );
  }

  async listDeadLetters(customerId) {
    const r = await this.db.query("SELECT * FROM vsh_dead_letters WHERE customer_id = $1 ORDER BY id", [customerId]);
    return r.rows.map((x) => ({ id: String(x.id), origin: x.origin, dedupeKey: x.dedupe_key ?? undefined, error: x.error, atMs: Number(x.at_ms) }));
  }

  async inboxGet(customerId, dedupeKey) {
    const r = await this.db.query("SELECT * FROM vsh_inbox WHERE customer_id = $1 AND dedupe_key = $2", [customerId, dedupeKey]);
    return r.rows[0] ? inboxRow(r.rows[0]) : null;
  }

  // --- records ------------------------------------------------------------------------------------------------
  /** The record stored under any of the keys: record key, partner id, Virtuous id, or one of the references. */
  async findRecord(customerId, { recordKey, product = "crm", kind, partnerId, virtuousId, refs = [] }) {
    if (recordKey) {
      const r = await this.db.query("SELECT * FROM vsh_records WHERE customer_id = $1 AND record_key = $2", [customerId, recordKey]);
      return recordRow(r.rows[0]);
    }
    const conds = [];
    const params = [customerId, kind];
    if (virtuousId != null) {
      params.push(String(virtuousId));
      conds.push(`virtuous_id = $${params.length}`);
    }
    if (partnerId != null) {
      params.push(String(partnerId));
      conds.push(`partner_id = $${params.length}`);
    }
    for (const ref of refs) {
      params.push(ref.source, ref.id);
      conds.push(`(ext_source = $${params.length - 1} AND ext_id = $${params.length})`);
    }
    if (!conds.length) return null;
    // A Virtuous-id match wins over a reference match (the id is what Virtuous addresses).
    const order = virtuousId != null ? `CASE WHEN virtuous_id = $3 THEN 0 ELSE 1 END, ` : "";
    params.push(product);
    const r = await this.db.query(
      `SELECT * FROM vsh_records WHERE customer_id = $1 AND kind = $2 AND product = $${params.length} AND (${conds.join(" OR ")}) ORDER BY ${order}record_key LIMIT 1`,
      params,
    );
    return recordRow(r.rows[0]);
  }

  /** Whether the customer has any Raise or Volunteer link of `kind`. */
  async hasProductLinks(customerId, kind) {
    const r = await this.db.query("SELECT 1 FROM vsh_records WHERE customer_id = $1 AND kind = $2 AND product <> 'crm' LIMIT 1", [customerId, kind]);
    return r.rows.length > 0;
  }

  /** Every link of a partner record (one per product: CRM+, Raise, Volunteer), by record key. */
  async partnerLinks(customerId, { kind, partnerId }) {
    if (partnerId == null) return [];
    const r = await this.db.query("SELECT * FROM vsh_records WHERE customer_id = $1 AND kind = $2 AND partner_id = $3 ORDER BY record_key", [customerId, kind, String(partnerId)]);
    return r.rows.map(recordRow);
  }

  /**
   * Takes the record's lock by compare-and-set on its version (free, or its lease lapsed); creates the row, locked,
   * when `create` is given and no row has the key. Returns the locked row, or null when another worker holds it
   * (or a concurrent create won the key or one of its unique ids).
   */
  async lockRecord(customerId, recordKey, { owner, nowMs, leaseMs, create }) {
    const until = nowMs + leaseMs;
    if (create) {
      const ins = await this.db.query(
        `INSERT INTO vsh_records (customer_id, record_key, kind, partner_id, virtuous_id, version, lock_owner, lock_until_ms, updated_ms, product)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING *`,
        [customerId, recordKey, create.kind, create.partnerId ?? null, create.virtuousId ?? null, owner, until, nowMs, create.product ?? "crm"],
      );
      if (ins.rows.length) return recordRow(ins.rows[0]);
    }
    const r = await this.db.query(
      `UPDATE vsh_records SET lock_owner = $3, lock_until_ms = $4, version = version + 1
       WHERE customer_id = $1 AND record_key = $2 AND (lock_owner IS NULL OR lock_until_ms < $5) RETURNING *`,
      [customerId, recordKey, owner, until, nowMs],
    );
    return recordRow(r.rows[0]);
  }

  async unlockRecord(customerId, recordKey, owner, version) {
    const r = await this.db.query(
      `UPDATE vsh_records SET lock_owner = NULL, lock_until_ms = NULL
       WHERE customer_id = $1 AND record_key = $2 AND lock_owner = $3 AND version = $4`,
      [customerId, recordKey, owner, version],
    );
    return r.rowCount === 1;
  }

  /**
   * Commits one unit of work on a locked record in one transaction: the next state (and the ids derived from it),
   * the dirty/recheck marks, decision log entries, the outbox change and the inbox entry's completion. Fails with
   * `lost-lock` (nothing written) unless the caller still holds the lock at the version it locked.
   */
  async commitRecord(c) {
    return this.db.tx(async (q) => {
      const s = c.state;
      const pid = s?.partnerId ?? c.partnerId ?? null;
      // The partner's change hook can report a record the host is creating on its side (an inbound create) before
      // the create is committed; that made a stub row for the partner id. The stub is this record: fold it in, also
      // while another worker holds the stub's lock (its commit then finds the row gone: lost-lock, and it marks the
      // partner id dirty again, which now names this record). Skipping a locked stub failed this commit on the
      // partner id's uniqueness, and the delivery's retry found the partner record its create had made (bench/hosts.md).
      const folded = pid
        ? await q(
            `DELETE FROM vsh_records WHERE customer_id = $1
               AND (kind, product) = (SELECT kind, product FROM vsh_records WHERE customer_id = $1 AND record_key = $2)
               AND partner_id = $3 AND record_key <> $2 AND state IS NULL AND virtuous_id IS NULL
             RETURNING record_key`,
            [c.customerId, c.recordKey, String(pid)],
          )
        : { rows: [] };
      const ref = s?.externalRef ? { source: String(s.externalRef.source).trim().toLowerCase(), id: String(s.externalRef.id).trim() } : null;
      const r = await q(
        `UPDATE vsh_records SET state = $5::jsonb, partner_id = COALESCE($6, partner_id), virtuous_id = COALESCE($7, virtuous_id),
           ext_source = COALESCE($8, ext_source), ext_id = COALESCE($9, ext_id),
           dirty = CASE WHEN change_seq = $10 AND NOT $14::boolean THEN $11::boolean ELSE true END,
           recheck_ms = CASE WHEN change_seq = $10 AND NOT $14::boolean THEN $12::bigint ELSE $13::bigint END,
           lock_owner = NULL, lock_until_ms = NULL, version = version + 1, updated_ms = $13,
           written = CASE WHEN $15::jsonb IS NOT NULL AND written = $15::jsonb THEN NULL ELSE written END,
           retry = NULL
         WHERE customer_id = $1 AND record_key = $2 AND lock_owner = $3 AND version = $4
         RETURNING version, dirty, (SELECT retry FROM vsh_records o WHERE o.customer_id = $1 AND o.record_key = $2) AS old_retry`,
        [
          c.customerId, c.recordKey, c.owner, c.version, json(s ?? undefined),
          pid, s?.virtuousId ?? null, ref?.source ?? null, ref?.id ?? null,
          c.changeSeq, Boolean(c.dirty), c.recheckMs ?? null, c.nowMs, folded.rows.length > 0, json(c.reported),
        ],
      );
      if (!r.rows.length) throw new StoreError("lost-lock", `${c.customerId}/${c.recordKey}`);
      for (const e of c.log ?? []) {
        await q(
          "INSERT INTO vsh_decisions (customer_id, record_key, at_ms, direction, action, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
          [c.customerId, c.recordKey, c.nowMs, e.direction, e.action, e.reason, json(e.detail)],
        );
      }
      // A redecided write's carried attempts (contract.mjs): the next write inherits them; a record left dirty keeps them.
      let retry = r.rows[0].old_retry ?? null;
      for (const op of c.outbox ?? []) {
        if (op.drop) await dropOutbox(q, c.customerId, c.recordKey);
        if (op.put) await putOutbox(q, c.customerId, c.recordKey, op.put, c.nowMs, retry);
        if (op.put) retry = null;
      }
      if (retry && r.rows[0].dirty)
        await q("UPDATE vsh_records SET retry = $3::jsonb WHERE customer_id = $1 AND record_key = $2", [c.customerId, c.recordKey, json(retry)]);
      if (c.inbox) {
        if (!(await completeInbox(q, c.inbox.id, c.inbox.owner, c.nowMs))) throw new StoreError("lost-lease", c.inbox.id);
      }
      return { version: Number(r.rows[0].version) };
    });
  }

  /** A partner change was reported: mark the record dirty and due now (creating its row for a new partner record). */
  async markDirty(customerId, { kind, partnerId, recordKey }, nowMs) {
    const key = recordKey ?? `${kind}:${partnerId}`;
    // Update the row holding the partner id (or the key); else insert a stub. A concurrent commit can link the
    // partner id between the two statements: the insert then does nothing and the update runs again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const u = await this.db.query(
        `UPDATE vsh_records SET dirty = true, recheck_ms = $3, change_seq = change_seq + 1
         WHERE customer_id = $1 AND ((kind = $2 AND partner_id = $4 AND product = 'crm') OR record_key = $5) RETURNING record_key`,
        [customerId, kind, nowMs, String(partnerId), key],
      );
      if (u.rows.length) return u.rows[0].record_key;
      const ins = await this.db.query(
        `INSERT INTO vsh_records (customer_id, record_key, kind, partner_id, version, dirty, recheck_ms, change_seq, updated_ms)
         VALUES ($1, $2, $3, $4, 1, true, $5, 1, $5) ON CONFLICT DO NOTHING RETURNING record_key`,
        [customerId, key, kind, String(partnerId), nowMs],
      );
      if (ins.rows.length) return key;
    }
    throw new StoreError("unique-violation", `${customerId}/${key}`);
  }

  /** Whether a record of this kind is being created on the partner side right now (locked, linked, no state yet). */
  async createInProgress(customerId, kind, nowMs) {
    const r = await this.db.query(
      `SELECT 1 FROM vsh_records WHERE customer_id = $1 AND kind = $2 AND product = 'crm' AND state IS NULL AND virtuous_id IS NOT NULL
         AND lock_owner IS NOT NULL AND lock_until_ms >= $3 LIMIT 1`,
      [customerId, kind, nowMs],
    );
    return r.rows.length > 0;
  }

  /** Removes a stub row (no state) the caller holds locked. */
  async dropStub(customerId, recordKey, owner, version) {
    const r = await this.db.query(
      "DELETE FROM vsh_records WHERE customer_id = $1 AND record_key = $2 AND lock_owner = $3 AND version = $4 AND state IS NULL",
      [customerId, recordKey, owner, version],
    );
    return r.rowCount === 1;
  }

  async dueRecords({ nowMs, limit }) {
    const r = await this.db.query(
      `SELECT r.* FROM vsh_records r JOIN vsh_customers c USING (customer_id)
       WHERE r.dirty AND r.recheck_ms <= $1 AND (r.lock_owner IS NULL OR r.lock_until_ms < $1) AND c.paused_at_ms IS NULL
       ORDER BY r.recheck_ms LIMIT $2`,
      [nowMs, limit],
    );
    return r.rows.map(recordRow);
  }

  async listRecords(customerId, { product, kind, state, partnerIds, virtuousIds, redecided } = {}) {
    const params = [customerId];
    let where = "customer_id = $1";
    if (redecided) where += " AND retry IS NOT NULL";
    if (product) {
      params.push(product);
      where += ` AND product = $${params.length}`;
    }
    if (kind) {
      params.push(kind);
      where += ` AND kind = $${params.length}`;
    }
    if (state) {
      params.push(state);
      where += ` AND state->>'state' = $${params.length}`;
    }
    const r = await this.db.query(`SELECT * FROM vsh_records WHERE ${where} ORDER BY record_key`, params);
    let rows = r.rows.map(recordRow);
    if (virtuousIds) rows = rows.filter((x) => x.virtuousId && virtuousIds.includes(x.virtuousId));
    if (partnerIds) rows = rows.filter((x) => x.partnerId && partnerIds.includes(x.partnerId));
    return rows;
  }

  async timeline(customerId, recordKey, { limit = 200 } = {}) {
    const r = await this.db.query(
      "SELECT * FROM vsh_decisions WHERE customer_id = $1 AND record_key = $2 ORDER BY id DESC LIMIT $3",
      [customerId, recordKey, limit],
    );
    return r.rows.reverse().map((x) => ({ atMs: Number(x.at_ms), direction: x.direction, action: x.action, reason: x.reason, detail: x.detail ?? undefined }));
  }

  async logDecision(customerId, recordKey, nowMs, e) {
    await this.db.query(
      "INSERT INTO vsh_decisions (customer_id, record_key, at_ms, direction, action, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
      [customerId, recordKey ?? null, nowMs, e.direction, e.action, e.reason, json(e.detail)],
    );
  }

  /** The customer's newest decisions (any record), newest first: the status page's "recent decisions". */
  async recentDecisions(customerId, { limit = 50 } = {}) {
    const r = await this.db.query("SELECT * FROM vsh_decisions WHERE customer_id = $1 ORDER BY id DESC LIMIT $2", [customerId, limit]);
    return r.rows.map((x) => ({ recordKey: x.record_key ?? undefined, atMs: Number(x.at_ms), direction: x.direction, action: x.action, reason: x.reason, detail: x.detail ?? undefined }));
  }

  /**
   * Retention (see docs/customer/privacy): drops decisions and dead letters older than the given times and clears
   * the parsed event of finished inbox entries (their dedupe keys stay, so a late redelivery is still recognised).
   */
  async prune(customerId, { decisionsBeforeMs, deadLettersBeforeMs, inboxBeforeMs } = {}) {
    const out = { decisions: 0, deadLetters: 0, inboxEvents: 0 };
    if (decisionsBeforeMs != null)
      out.decisions = (await this.db.query("DELETE FROM vsh_decisions WHERE customer_id = $1 AND at_ms < $2", [customerId, decisionsBeforeMs])).rowCount ?? 0;
    if (deadLettersBeforeMs != null)
      out.deadLetters = (await this.db.query("DELETE FROM vsh_dead_letters WHERE customer_id = $1 AND at_ms < $2", [customerId, deadLettersBeforeMs])).rowCount ?? 0;
    if (inboxBeforeMs != null)
      out.inboxEvents =
        (await this.db.query("UPDATE vsh_inbox SET event = NULL, body = NULL WHERE customer_id = $1 AND status = 'done' AND done_ms < $2 AND event IS NOT NULL", [customerId, inboxBeforeMs])).rowCount ?? 0;
    return out;
  }

  // --- outbox -------------------------------------------------------------------------------------------------
  async getOutbox(customerId, recordKey) {
    const r = await this.db.query("SELECT * FROM vsh_outbox WHERE customer_id = $1 AND record_key = $2", [customerId, recordKey]);
    return r.rows[0] ? outboxRow(r.rows[0]) : null;
  }

  async listOutbox(customerId) {
    const r = await this.db.query("SELECT * FROM vsh_outbox WHERE customer_id = $1 ORDER BY queued_ms, record_key", [customerId]);
    return r.rows.map(outboxRow);
  }

  /**
   * Leases due queued entries (and in-flight ones whose lease lapsed: a crashed submitter) of unpaused customers; the
   * latter come back with `leasedBefore` (whether their send reached Virtuous is unknown).
   */
  async leaseOutbox({ owner, nowMs, leaseMs, limit }) {
    const r = await this.db.query(
      `WITH due AS (
         SELECT x.customer_id, x.record_key, x.status AS prev_status FROM vsh_outbox x JOIN vsh_customers c USING (customer_id)
         WHERE c.paused_at_ms IS NULL AND ((x.status = 'queued' AND x.due_ms <= $3) OR (x.status = 'in-flight' AND x.lease_until_ms < $3))
         ORDER BY x.due_ms LIMIT $4 FOR UPDATE OF x SKIP LOCKED)
       UPDATE vsh_outbox o SET status = 'in-flight', lease_owner = $1, lease_until_ms = $2
       FROM due WHERE o.customer_id = due.customer_id AND o.record_key = due.record_key
       RETURNING o.*, due.prev_status`,
      [owner, nowMs + leaseMs, nowMs, limit],
    );
    return r.rows.map(outboxRow).sort((a, b) => a.dueMs - b.dueMs);
  }

  /**
   * Ends a leased entry. `outcome`: `{done: true}` (sent), `{retryAtMs, error, status, countAttempt}` (send again,
   * unchanged, later) or `{failed: true, error, status}` (kept for a person). A replacement queued while it was in
   * flight takes its place in every case; an entry confirmed while in flight (`dropAfter`) is removed.
   * Full-record PUTs (a snapshot, never resent): `{done: true, written: request}` also stores the acknowledged
   * request on the record for the report, makes the record due now and breaks a lock held on it (its holder may be
   * deciding a record fetched after the 2xx: it must decide again after the report); `{redecide: true, retryAtMs}`
   * removes the entry and makes the record due at `retryAtMs`, to be decided again from a fresh fetch.
   */
  async finishOutbox(customerId, recordKey, owner, outcome, nowMs) {
    return this.db.tx(async (q) => {
      // Rows are locked in commitRecord's order (the record, then its outbox entry): the record's side of the send
      // (`written`, `retry`) is written here, and taking the entry first deadlocked against a commit of the same
      // record (its echo decided by another worker), leaving the sent entry in flight until its lease lapsed.
      await q("SELECT 1 FROM vsh_records WHERE customer_id = $1 AND record_key = $2 FOR UPDATE", [customerId, recordKey]);
      const r = await q(
        "SELECT * FROM vsh_outbox WHERE customer_id = $1 AND record_key = $2 AND status = 'in-flight' AND lease_owner = $3 FOR UPDATE",
        [customerId, recordKey, owner],
      );
      if (!r.rows.length) return false;
      const e = r.rows[0];
      const retry = outcome.redecide ? retried(e, outcome) : null;
      if (outcome.done) await q("UPDATE vsh_records SET retry = NULL WHERE customer_id = $1 AND record_key = $2", [customerId, recordKey]);
      if (outcome.written || outcome.redecide) {
        const at = outcome.written ? nowMs : outcome.retryAtMs;
        await q(
          `UPDATE vsh_records SET dirty = true, change_seq = change_seq + 1,
             recheck_ms = CASE WHEN dirty AND recheck_ms IS NOT NULL AND recheck_ms < $3 THEN recheck_ms ELSE $3 END,
             written = COALESCE($4::jsonb, written),
             lock_owner = CASE WHEN $4::jsonb IS NULL THEN lock_owner END,
             lock_until_ms = CASE WHEN $4::jsonb IS NULL THEN lock_until_ms END,
             version = version + CASE WHEN $4::jsonb IS NULL THEN 0 ELSE 1 END,
             retry = COALESCE($5::jsonb, retry)
           WHERE customer_id = $1 AND record_key = $2`,
          [customerId, recordKey, at, json(outcome.written), e.next_request ? null : json(retry ?? undefined)],
        );
      }
      if (e.next_request) {
        await q(
          `UPDATE vsh_outbox SET request = next_request, queued_ms = next_queued_ms, next_request = NULL, next_queued_ms = NULL,
             status = 'queued', attempts = $4, due_ms = $3, lease_owner = NULL, lease_until_ms = NULL, drop_after = false,
             last_error = $5, last_status = $6
           WHERE customer_id = $1 AND record_key = $2`,
          [customerId, recordKey, nowMs, retry?.attempts ?? 0, retry?.lastError ?? null, retry?.lastStatus ?? null],
        );
      } else if (outcome.done || outcome.redecide || e.drop_after) {
        await q("DELETE FROM vsh_outbox WHERE customer_id = $1 AND record_key = $2", [customerId, recordKey]);
      } else if (outcome.failed) {
        await q(
          `UPDATE vsh_outbox SET status = 'failed', lease_owner = NULL, lease_until_ms = NULL, attempts = attempts + 1,
             last_error = $3, last_status = $4 WHERE customer_id = $1 AND record_key = $2`,
          [customerId, recordKey, outcome.error ?? null, outcome.status ?? null],
        );
      } else {
        await q(
          `UPDATE vsh_outbox SET status = 'queued', lease_owner = NULL, lease_until_ms = NULL, due_ms = $3,
             attempts = attempts + $6, last_error = $4, last_status = $5 WHERE customer_id = $1 AND record_key = $2`,
          [customerId, recordKey, outcome.retryAtMs, outcome.error ?? null, outcome.status ?? null, outcome.countAttempt === false ? 0 : 1],
        );
      }
      return true;
    });
  }

  // --- review queue ---------------------------------------------------------------------------------------------
  async addReview(customerId, kind, item, nowMs) {
    const r = await this.db.query(
      "INSERT INTO vsh_review (customer_id, kind, item, at_ms) VALUES ($1, $2, $3::jsonb, $4) RETURNING id",
      [customerId, kind, json(item), nowMs],
    );
    return String(r.rows[0].id);
  }

  async resolveReview(customerId, id, resolution, nowMs) {
    if (!/^\d{1,18}$/.test(String(id))) return null;
    const r = await this.db.query(
      "UPDATE vsh_review SET status = 'resolved', item = item || jsonb_build_object('resolution', $3::jsonb, 'resolvedMs', $4::bigint) WHERE customer_id = $1 AND id = $2::bigint AND status = 'open' RETURNING *",
      [customerId, String(id), json(resolution), nowMs],
    );
    const x = r.rows[0];
    return x ? { id: String(x.id), kind: x.kind, item: x.item, status: x.status, atMs: Number(x.at_ms) } : null;
  }

  async listReview(customerId, { status = "open" } = {}) {
    const r = await this.db.query("SELECT * FROM vsh_review WHERE customer_id = $1 AND status = $2 ORDER BY id", [customerId, status]);
    return r.rows.map((x) => ({ id: String(x.id), kind: x.kind, item: x.item, status: x.status, atMs: Number(x.at_ms) }));
  }

  // --- moving a customer between engines (../transfer.mjs) ----------------------------------------------------
  /** The customer's stored sync state in the transfer format's parts (the dedupe window: processed since `sinceMs`). */
  async exportCustomer(customerId, { sinceMs = 0 } = {}) {
    return this.db.tx(async (q) => {
      // One transaction (PostgreSQL: REPEATABLE READ would be stricter; the procedure pauses the customer first).
      const c = (await q("SELECT paused_at_ms, budget FROM vsh_customers WHERE customer_id = $1", [customerId])).rows[0];
      const kv = {};
      for (const r of (await q("SELECT key, value FROM vsh_kv WHERE customer_id = $1 ORDER BY key", [customerId])).rows) kv[r.key] = r.value;
      const inbox = [];
      const dedupe = [];
      for (const r of (await q("SELECT * FROM vsh_inbox WHERE customer_id = $1 AND (status IN ('pending','claimed') OR COALESCE(done_ms, received_ms) >= $2) ORDER BY id", [customerId, sinceMs])).rows) {
        const e = inboxRow(r);
        if (e.status === "pending" || e.status === "claimed")
          inbox.push({ dedupeKey: e.dedupeKey, receivedMs: e.receivedMs, origin: e.origin, event: e.event, attempts: e.status === "claimed" ? e.attempts - 1 : e.attempts, lastError: e.lastError });
        else dedupe.push({ dedupeKey: e.dedupeKey, atMs: num(r.done_ms) ?? e.receivedMs });
      }
      return {
        paused: num(c?.paused_at_ms) ?? null,
        budget: c?.budget ?? null,
        kv,
        records: (await q("SELECT * FROM vsh_records WHERE customer_id = $1 ORDER BY record_key", [customerId])).rows.map(recordRow).map((r) => ({
          recordKey: r.recordKey, ...(r.product !== "crm" ? { product: r.product } : {}), kind: r.kind, partnerId: r.partnerId, virtuousId: r.virtuousId, state: r.state, dirty: r.dirty, recheckMs: r.recheckMs, changeSeq: r.changeSeq,
          ...(r.written ? { written: r.written } : {}),
          ...(r.retry ? { retry: r.retry } : {}),
        })),
        outbox: (await q("SELECT * FROM vsh_outbox WHERE customer_id = $1 ORDER BY record_key", [customerId])).rows.map((r) => {
          const o = outboxRow(r);
          return { recordKey: o.recordKey, request: o.request, queuedMs: o.queuedMs, dueMs: o.dueMs, attempts: o.attempts, status: o.status, lastError: o.lastError, lastStatus: o.lastStatus, nextRequest: o.nextRequest, nextQueuedMs: num(r.next_queued_ms), dropAfter: o.dropAfter };
        }),
        inbox,
        dedupe,
        review: (await q("SELECT kind, item, status, at_ms FROM vsh_review WHERE customer_id = $1 AND status = 'open' ORDER BY id", [customerId])).rows.map((r) => ({ kind: r.kind, item: r.item, status: r.status, atMs: Number(r.at_ms) })),
        deadLetters: (await q("SELECT origin, dedupe_key, error, at_ms FROM vsh_dead_letters WHERE customer_id = $1 ORDER BY id", [customerId])).rows.map((r) => ({ origin: r.origin, dedupeKey: r.dedupe_key ?? undefined, error: r.error, atMs: Number(r.at_ms) })),
      };
    });
  }
  /** Writes a checked transfer document's parts in one transaction (transfer.mjs importIntoStore checks first). */
  async importCustomer(customerId, doc) {
    const now = doc.exportedMs;
    await this.db.tx(async (q) => {
      await q("UPDATE vsh_customers SET paused_at_ms = $2, budget = COALESCE($3::jsonb, budget) WHERE customer_id = $1", [customerId, doc.paused ?? null, json(doc.budget ?? undefined)]);
      for (const [k, v] of Object.entries(doc.kv))
        await q("INSERT INTO vsh_kv (customer_id, key, value) VALUES ($1, $2, $3::jsonb) ON CONFLICT (customer_id, key) DO UPDATE SET value = EXCLUDED.value", [customerId, k, json(v)]);
      for (const r of doc.records) {
        const ext = r.state?.externalRef;
        await q(
          `INSERT INTO vsh_records (customer_id, record_key, kind, partner_id, virtuous_id, ext_source, ext_id, version, state, dirty, recheck_ms, change_seq, updated_ms, product, written, retry)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8::jsonb, $9, $10, $11, $12, $13, $14::jsonb, $15::jsonb)`,
          [customerId, r.recordKey, r.kind, r.partnerId ?? null, r.virtuousId ?? null, ext ? String(ext.source).trim().toLowerCase() : null, ext ? String(ext.id).trim() : null,
            json(r.state ?? null), Boolean(r.dirty), r.recheckMs ?? null, r.changeSeq ?? 0, now, r.product ?? "crm", json(r.written), json(r.retry)],
        );
      }
      for (const o of doc.outbox)
        await q(
          `INSERT INTO vsh_outbox (customer_id, record_key, request, queued_ms, due_ms, attempts, status, next_request, next_queued_ms, drop_after, last_error, last_status)
           VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12)`,
          [customerId, o.recordKey, json(o.request), o.queuedMs, o.dueMs ?? o.queuedMs, o.attempts ?? 0, o.status, json(o.nextRequest), o.nextQueuedMs ?? null, Boolean(o.dropAfter), o.lastError ?? null, o.lastStatus ?? null],
        );
      for (const d of doc.dedupe)
        await q(
          `INSERT INTO vsh_inbox (customer_id, dedupe_key, received_ms, origin, status, due_ms, done_ms) VALUES ($1, $2, $3, 'import', 'done', $3, $3)
           ON CONFLICT (customer_id, dedupe_key) DO NOTHING`,
          [customerId, d.dedupeKey, d.atMs ?? now],
        );
      for (const e of doc.inbox)
        await q(
          `INSERT INTO vsh_inbox (customer_id, dedupe_key, received_ms, origin, event, status, attempts, due_ms, last_error) VALUES ($1, $2, $3, $4, $5::jsonb, 'pending', $6, $3, $7)
           ON CONFLICT (customer_id, dedupe_key) DO NOTHING`,
          [customerId, e.dedupeKey, e.receivedMs ?? now, e.origin ?? "webhook", json(e.event), e.attempts ?? 0, e.lastError ?? null],
        );
      for (const r of doc.review) await q("INSERT INTO vsh_review (customer_id, kind, item, status, at_ms) VALUES ($1, $2, $3::jsonb, $4, $5)", [customerId, r.kind, json(r.item), r.status ?? "open", r.atMs ?? now]);
      for (const d of doc.deadLetters)
        await q("INSERT INTO vsh_dead_letters (customer_id, origin, dedupe_key, error, at_ms) VALUES ($1, $2, $3, $4, $5)", [customerId, d.origin, d.dedupeKey ?? null, d.error ?? "", d.atMs ?? now]);
    });
  }

  // --- status -----------------------------------------------------------------------------------------------------
  async statusCounts(customerId) {
    const q = (t, p = [customerId]) => this.db.query(t, p).then((r) => r.rows[0]);
    const inbox = await q(
      `SELECT count(*) FILTER (WHERE status IN ('pending','claimed')) AS pending, count(*) FILTER (WHERE status = 'dead') AS dead,
              max(received_ms) FILTER (WHERE origin = 'webhook') AS last_delivery
       FROM vsh_inbox WHERE customer_id = $1`,
    );
    const outbox = await q(
      `SELECT count(*) AS depth, min(queued_ms) FILTER (WHERE status <> 'failed') AS oldest,
              count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE attempts >= 3 AND status <> 'failed') AS retrying
       FROM vsh_outbox WHERE customer_id = $1`,
    );
    const recs = await q(
      `SELECT count(*) AS total, count(*) FILTER (WHERE state->>'state' = 'conflict') AS conflicts,
              count(*) FILTER (WHERE (state->>'stuck')::boolean) AS stuck,
              count(*) FILTER (WHERE state->>'state' = 'partner-pending') AS pending,
              count(*) FILTER (WHERE dirty) AS dirty, count(*) FILTER (WHERE (retry->>'attempts')::int >= 3) AS redecided
       FROM vsh_records WHERE customer_id = $1`,
    );
    const dl = await q("SELECT count(*) AS n FROM vsh_dead_letters WHERE customer_id = $1");
    return {
      inboxPending: Number(inbox.pending),
      inboxDead: Number(inbox.dead),
      lastDeliveryMs: num(inbox.last_delivery),
      outboxDepth: Number(outbox.depth),
      oldestPendingWriteMs: num(outbox.oldest),
      failedWrites: Number(outbox.failed),
      retryingWrites: Number(outbox.retrying) + Number(recs.redecided),
      records: Number(recs.total),
      conflicts: Number(recs.conflicts),
      stuckRecords: Number(recs.stuck),
      partnerPending: Number(recs.pending),
      dirtyRecords: Number(recs.dirty),
      deadLetters: Number(dl.n),
    };
  }
}

async function completeInbox(q, id, owner, nowMs) {
  const r = await q(
    `UPDATE vsh_inbox SET status = 'done', lease_owner = NULL, lease_until_ms = NULL, done_ms = $3, body = NULL
     WHERE id = $1 AND status = 'claimed' AND lease_owner = $2`,
    [id, owner, nowMs],
  );
  return r.rowCount === 1;
}

async function dropOutbox(q, customerId, recordKey) {
  // A confirmed write is never sent again: queued (or failed) entries go; an in-flight one is dropped when it ends.
  await q("DELETE FROM vsh_outbox WHERE customer_id = $1 AND record_key = $2 AND status <> 'in-flight'", [customerId, recordKey]);
  await q(
    "UPDATE vsh_outbox SET drop_after = true, next_request = NULL, next_queued_ms = NULL WHERE customer_id = $1 AND record_key = $2",
    [customerId, recordKey],
  );
}

async function putOutbox(q, customerId, recordKey, request, nowMs, retry) {
  // One entry per record: a newer request replaces a queued (or failed) one; an in-flight one finishes first and
  // the newer waits as `next_request`. `retry`: attempts a redecided write hands on (contract.mjs, `retried`).
  const r = await q(
    `INSERT INTO vsh_outbox (customer_id, record_key, request, queued_ms, due_ms, status, attempts, last_error, last_status)
     VALUES ($1, $2, $3::jsonb, $4, $4, 'queued', $5, $6, $7)
     ON CONFLICT (customer_id, record_key) DO UPDATE SET
       request = CASE WHEN vsh_outbox.status = 'in-flight' THEN vsh_outbox.request ELSE EXCLUDED.request END,
       queued_ms = CASE WHEN vsh_outbox.status = 'in-flight' THEN vsh_outbox.queued_ms ELSE EXCLUDED.queued_ms END,
       due_ms = CASE WHEN vsh_outbox.status = 'in-flight' THEN vsh_outbox.due_ms ELSE EXCLUDED.due_ms END,
       attempts = CASE WHEN vsh_outbox.status = 'in-flight' THEN vsh_outbox.attempts ELSE EXCLUDED.attempts END,
       status = CASE WHEN vsh_outbox.status = 'in-flight' THEN 'in-flight' ELSE 'queued' END,
       last_error = CASE WHEN vsh_outbox.status = 'in-flight' THEN vsh_outbox.last_error ELSE EXCLUDED.last_error END,
       last_status = CASE WHEN vsh_outbox.status = 'in-flight' THEN vsh_outbox.last_status ELSE EXCLUDED.last_status END,
       next_request = CASE WHEN vsh_outbox.status = 'in-flight' THEN EXCLUDED.request ELSE NULL END,
       next_queued_ms = CASE WHEN vsh_outbox.status = 'in-flight' THEN EXCLUDED.queued_ms ELSE NULL END,
       drop_after = false
     RETURNING status`,
    [customerId, recordKey, json(request), nowMs, retry?.attempts ?? 0, retry?.lastError ?? null, retry?.lastStatus ?? null],
  );
  return r.rows[0].status;
}
