// Schema migrations for the SQL stores (PGlite and PostgreSQL share them). Append only: a migration, once released,
// is never edited; a change is a new entry. Each runs in its own transaction and is recorded in vsh_migrations.
export const MIGRATIONS = [
  {
    version: 1,
    name: "initial schema",
    sql: `
CREATE TABLE vsh_customers (
  customer_id text PRIMARY KEY,
  settings jsonb NOT NULL,
  rev integer NOT NULL DEFAULT 1,
  paused_at_ms bigint,
  budget jsonb,
  created_ms bigint NOT NULL
);
CREATE TABLE vsh_inbox (
  id bigserial PRIMARY KEY,
  customer_id text NOT NULL,
  dedupe_key text NOT NULL,
  received_ms bigint NOT NULL,
  origin text NOT NULL,
  body text,
  event jsonb,
  status text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  due_ms bigint NOT NULL,
  lease_owner text,
  lease_until_ms bigint,
  last_error text,
  done_ms bigint,
  UNIQUE (customer_id, dedupe_key)
);
CREATE INDEX vsh_inbox_due ON vsh_inbox (status, due_ms);
CREATE TABLE vsh_records (
  customer_id text NOT NULL,
  record_key text NOT NULL,
  kind text NOT NULL,
  partner_id text,
  virtuous_id text,
  ext_source text,
  ext_id text,
  version bigint NOT NULL,
  state jsonb,
  dirty boolean NOT NULL DEFAULT false,
  recheck_ms bigint,
  change_seq bigint NOT NULL DEFAULT 0,
  lock_owner text,
  lock_until_ms bigint,
  updated_ms bigint NOT NULL,
  PRIMARY KEY (customer_id, record_key)
);
CREATE UNIQUE INDEX vsh_records_virtuous ON vsh_records (customer_id, kind, virtuous_id) WHERE virtuous_id IS NOT NULL;
CREATE UNIQUE INDEX vsh_records_partner ON vsh_records (customer_id, kind, partner_id) WHERE partner_id IS NOT NULL;
CREATE INDEX vsh_records_ref ON vsh_records (customer_id, kind, ext_source, ext_id);
CREATE INDEX vsh_records_due ON vsh_records (dirty, recheck_ms);
CREATE TABLE vsh_decisions (
  id bigserial PRIMARY KEY,
  customer_id text NOT NULL,
  record_key text,
  at_ms bigint NOT NULL,
  direction text NOT NULL,
  action text NOT NULL,
  reason text NOT NULL,
  detail jsonb
);
CREATE INDEX vsh_decisions_record ON vsh_decisions (customer_id, record_key, id);
CREATE TABLE vsh_outbox (
  customer_id text NOT NULL,
  record_key text NOT NULL,
  request jsonb NOT NULL,
  queued_ms bigint NOT NULL,
  due_ms bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  status text NOT NULL,
  lease_owner text,
  lease_until_ms bigint,
  next_request jsonb,
  next_queued_ms bigint,
  drop_after boolean NOT NULL DEFAULT false,
  last_error text,
  last_status integer,
  PRIMARY KEY (customer_id, record_key)
);
CREATE INDEX vsh_outbox_due ON vsh_outbox (status, due_ms);
CREATE TABLE vsh_dead_letters (
  id bigserial PRIMARY KEY,
  customer_id text NOT NULL,
  origin text NOT NULL,
  dedupe_key text,
  body text,
  error text NOT NULL,
  at_ms bigint NOT NULL
);
CREATE TABLE vsh_kv (
  customer_id text NOT NULL,
  key text NOT NULL,
  value jsonb NOT NULL,
  PRIMARY KEY (customer_id, key)
);
CREATE TABLE vsh_review (
  id bigserial PRIMARY KEY,
  customer_id text NOT NULL,
  kind text NOT NULL,
  item jsonb NOT NULL,
  status text NOT NULL DEFAULT 'open',
  at_ms bigint NOT NULL
);
`,
  },
  {
    version: 2,
    name: "records per product link",
    // One partner record, several products (docs/sync.md): a record is a link (product, kind, Virtuous id); the links
    // of one partner record share its partner id, one per product. Rows from version 1 are CRM+ links.
    sql: `
ALTER TABLE vsh_records ADD COLUMN product text NOT NULL DEFAULT 'crm';
DROP INDEX vsh_records_virtuous;
DROP INDEX vsh_records_partner;
CREATE UNIQUE INDEX vsh_records_virtuous_p ON vsh_records (customer_id, product, kind, virtuous_id) WHERE virtuous_id IS NOT NULL;
CREATE UNIQUE INDEX vsh_records_partner_p ON vsh_records (customer_id, product, kind, partner_id) WHERE partner_id IS NOT NULL;
CREATE INDEX vsh_records_links ON vsh_records (customer_id, kind, partner_id);
`,
  },
  {
    version: 3,
    name: "acknowledged full-record writes not yet reported",
    // A full-record PUT that got a 2xx is reported to the core (PartnerChange.written) by the next unit of work on
    // its record; until then the request is kept here, so a crash between the 2xx and the report loses nothing.
    // `retry`: the attempts of a full-record PUT that was not known to land, handed to the record's next write.
    sql: `ALTER TABLE vsh_records ADD COLUMN written jsonb; ALTER TABLE vsh_records ADD COLUMN retry jsonb`,
  },
];

/** The schema version the stores speak (the memory store and the Worker's Durable Objects keep the same model). */
export const SCHEMA_VERSION = MIGRATIONS.at(-1).version;
