// Types of the admin API client (admin-client.mjs). Records are the simulator's stored shapes.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Fields = Record<string, unknown>;

export declare class SimClientError extends Error {
  name: "SimClientError";
  status: number;
  body: unknown;
}

export interface Attempt {
  n: number;
  atMs: number;
  url?: string;
  headers?: Record<string, string>;
  status?: number;
  error?: string;
  durationMs?: number;
  responseBody?: string;
  simulated?: boolean;
}

export interface Delivery {
  id: string;
  seq: number;
  eventId: string;
  eventType: "ContactCreate" | "ContactUpdate" | "GiftCreate" | "GiftUpdate" | "GiftDelete";
  resourceId: number;
  subscriptionId: number;
  body: string;
  state: "pending" | "delivered" | "failed" | "dropped";
  createdAtMs: number;
  dueAtMs: number;
  delayedForReorder: boolean;
  duplicateOf: string | null;
  attempts: Attempt[];
}

export interface Transaction {
  seq: number;
  kind: "gift" | "contact";
  state: "held" | "imported" | "matched" | "duplicate" | "needs-update";
  receivedAtMs: number;
  source: string | null;
  externalId: string | null;
  resultId: number | null;
  note: string | null;
  body: Fields;
}

export interface BatchReport {
  processed: number;
  created: { key: string; giftId?: number; contactId: number }[];
  matched: { key: string; contactId: number }[];
  needsUpdate: string[];
  duplicates: { key: string; giftId: number }[];
}

export interface FlushResult {
  advancedMs: number;
  pending: number;
  delivered: number;
  failed: number;
}

export interface ClockState {
  mode: "real" | "manual";
  nowMs: number;
  iso: string;
}

export interface ApiFaultInput {
  /** Matches this method only (any when absent). */
  method?: string;
  /** Matches paths starting with this (case-insensitive; any when absent). */
  path?: string;
  /** How many matching requests it affects (default 1). */
  count?: number;
  /** Without `apply`: the answer, the request not applied. With `apply`: the answer instead of the real one. */
  status?: number;
  /** The request is applied, then its answer is lost (`drop`, `delayMs` or `status`). */
  apply?: boolean;
  /** Close the connection without an answer. */
  drop?: boolean;
  /** Hold the answer this long (ms, at most 120000). */
  delayMs?: number;
}
export interface ApiFault { method: string | null; path: string | null; count: number; status: number | null; apply: boolean; drop: boolean; delayMs: number | null }
export interface Outages {
  webhooks: boolean;
  api: false | { status: number; remaining: number | null };
}

export interface RateLimitStatus {
  limit: number;
  used: number;
  remaining: number;
  resetMs: number;
  throttled: number;
  storm: { remaining: number | null; untilMs: number | null; retryAfterSeconds: number } | null;
}

export interface ScenarioResult {
  scenario: string;
  steps: ({ step: string } & Fields)[];
}

/** The admin API of a running simulator. */
export declare class SimAdmin {
  constructor(url: string);
  url: string;
  request(method: string, path: string, body?: unknown): Promise<any>;
  health(): Promise<{ ok: true; seed: number | string; clock: ClockState }>;
  store(): Promise<any>;
  reset(options?: { seed?: number | string; config?: Fields }): Promise<{ ok: true; seed: number | string; clock: ClockState }>;
  config(): Promise<Fields>;
  patchConfig(patch: Fields): Promise<Fields>;
  clock(): Promise<ClockState>;
  advance(ms: number): Promise<ClockState>;
  setClock(msOrIso: number | string): Promise<ClockState>;
  createContact(fields: Fields): Promise<any>;
  contact(id: number): Promise<any>;
  editContact(id: number, set: Fields): Promise<any>;
  deleteContact(id: number): Promise<{ contact: any; deletedGiftIds: number[] }>;
  merge(from: number, into: number): Promise<{ from: any; into: any; movedGiftIds: number[] }>;
  createGift(fields: Fields): Promise<any>;
  gift(id: number): Promise<any>;
  editGift(id: number, set: Fields): Promise<any>;
  deleteGift(id: number): Promise<any>;
  fixtures(options?: { contacts?: number; giftsPerContact?: number; source?: string; emit?: boolean }): Promise<{ contacts: number[]; gifts: number[] }>;
  trigger(event: string, options?: { id?: number; set?: Fields; contactId?: number; from?: number; into?: number }): Promise<any>;
  transactions(): Promise<Transaction[]>;
  runBatch(options?: { needsUpdate?: (string | number)[] }): Promise<BatchReport>;
  subscriptions(): Promise<any[]>;
  subscribe(body: Fields): Promise<any>;
  events(): Promise<any[]>;
  deliveries(filter?: { state?: Delivery["state"]; eventType?: Delivery["eventType"] }): Promise<Delivery[]>;
  delivery(id: string): Promise<Delivery>;
  flush(options?: { advance?: boolean; maxRounds?: number }): Promise<FlushResult>;
  hold(): Promise<{ held: true }>;
  release(order?: "fifo" | "reverse" | "shuffle"): Promise<{ held: false; order: string[] }>;
  redeliver(id: string): Promise<Delivery>;
  duplicateNext(count?: number): Promise<{ duplicateNext: number }>;
  outages(): Promise<Outages>;
  setOutages(o: { webhooks?: boolean; api?: boolean | { status?: number; count?: number } }): Promise<Outages>;
  /** One-shot faults on matching API requests (see the README's admin table). */
  apiFaults(): Promise<ApiFault[]>;
  setApiFaults(list: ApiFaultInput[]): Promise<ApiFault[]>;
  rateLimit(): Promise<RateLimitStatus>;
  storm(options?: { count?: number; durationMs?: number; retryAfterSeconds?: number }): Promise<RateLimitStatus>;
  resetRateLimit(): Promise<RateLimitStatus>;
  requests(filter?: { method?: string; path?: string }): Promise<{ atMs: number; method: string; path: string; query: string; status: number; error?: string }[]>;
  scenarios(): Promise<{ name: string; description: string }[]>;
  scenario(name: string, options?: Fields): Promise<ScenarioResult>;
}

/** The simulator's CRM+ API with a bearer token. */
export declare class SimApi {
  constructor(url: string, token?: string);
  url: string;
  token: string;
  raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  request(method: string, path: string, body?: unknown): Promise<any>;
}
