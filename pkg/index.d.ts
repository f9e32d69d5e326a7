// Type definitions for virtuous-sync 0.1 (hand-written; the contract every surface follows).
// Optional properties are absent (undefined) in results, never null.

/** A raw delivery body. Byte input is used exactly as given; a string is encoded as UTF-8. */
export type Body = Uint8Array | ArrayBuffer | ArrayBufferView | string;

/**
 * Request headers: a plain object (Node's `IncomingHttpHeaders`: string or string[] values, undefined skipped),
 * a Fetch `Headers`, or any iterable of `[name, value]` pairs. Names are matched case-insensitively.
 */
export type HeadersLike =
  | Record<string, string | readonly string[] | undefined>
  | Headers
  | Iterable<readonly [string, string]>;

/** A webhook secret: the secret text, or an object naming it for rotation. */
export type SecretLike =
  | string
  | {
      /** Reported back as `secretId` when this secret matched. */
      id?: string;
      /** The shared secret (for `whsec_` secrets set the scheme's `secretFormat` to "whsec"). */
      secret: string;
      /** Milliseconds since the Unix epoch after which a match still verifies but adds a warning. */
      notAfter?: number;
    };

/** Built-in signature schemes. `virtuous` is the default. */
export type PresetName = "virtuous" | "standard-webhooks" | "github" | "vomo";

/** A signature scheme described as data; `preset` names the base whose fields are overridden. */
export interface SchemeObject {
  preset?: PresetName;
  /** Header names holding the signature, looked up case-insensitively, first found wins. */
  headers?: string[];
  /** Signature encoding; "auto" accepts hex or Base64 (each must decode to exactly 32 bytes). */
  encoding?: "auto" | "hex" | "base64";
  /** A prefix before the encoded signature, e.g. "sha256="; null or "" removes the preset's. */
  prefix?: string | null;
  /** Refuse signatures without the prefix (default: accepted with or without). */
  prefixRequired?: boolean;
  /** "versioned-list": several space-separated `v1,<sig>` entries (Standard Webhooks). */
  format?: "single" | "versioned-list";
  /** The version tag of a versioned list, e.g. "v1". */
  version?: string;
  /** What is signed: the body, `{timestamp}.{body}` or `{id}.{timestamp}.{body}`. */
  signedContent?: "body" | "timestamp.body" | "id.timestamp.body";
  /** Header holding the signed timestamp (Unix seconds); null removes the preset's. */
  timestampHeader?: string | null;
  /** Header holding the signed delivery id; null removes the preset's. */
  idHeader?: string | null;
  /** Replay window in seconds (default 300 both ways). */
  tolerance?: { pastSeconds?: number; futureSeconds?: number };
  /** "whsec": secrets are `whsec_<base64>` and the key is the decoded bytes. */
  secretFormat?: "raw" | "whsec";
}

/** The 15 CRM+ event types, normalised to kebab-case. */
export type EventType =
  | "contact-create"
  | "contact-update"
  | "gift-create"
  | "gift-update"
  | "gift-delete"
  | "project-create"
  | "project-update"
  | "project-delete"
  | "form-submission"
  | "contact-note-create"
  | "contact-note-update"
  | "contact-note-delete"
  | "event-create"
  | "event-update"
  | "event-delete";

/** The kind of CRM+ record an event is about. */
export type ResourceKind = "contact" | "gift" | "project" | "form-submission" | "contact-note" | "event";

/** Configuration of a {@link SyncCore}, validated once by the constructor. */
export interface SyncConfig {
  /** One or more secrets; several while rotating. */
  secrets: SecretLike[];
  /** The name of the partner platform (used in dedupe keys and diagnostics). */
  platformName: string;
  /** A preset name or a scheme object (default "virtuous"). */
  scheme?: PresetName | SchemeObject;
  /** Largest accepted body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Deepest accepted JSON nesting. */
  maxDepth?: number;
  /** Event types this receiver handles; authentic deliveries of other types are acknowledged and dropped. */
  subscribedEvents?: EventType[];
  /** Allow secrets shorter than 32 bytes (not recommended). */
  allowWeakSecrets?: boolean;
  /** Add diagnostics to failed receipts (never weakens the check). */
  diagnostics?: boolean;
}

/** A warning or diagnostic: a stable kebab-case code and a human sentence. */
export interface Notice {
  code: string;
  message: string;
}

/** Whether the replay window was checked, could not be (the scheme signs no timestamp), or was not reached. */
export type ReplayCheck = "checked" | "unavailable" | "not-checked";

/** One parsed, normalised delivery. Only `rawEventType` is always present. */
export interface Event {
  /** The recognised type, absent for a type this version does not know. */
  eventType?: EventType;
  /** The event type exactly as the delivery spelled it (`GiftCreate`, `gift.created`, ...). */
  rawEventType: string;
  resourceKind?: ResourceKind;
  eventId?: string;
  timestamp?: string;
  organizationId?: string;
  /** The embedded record's id as a string. */
  resourceId?: string;
  modifiedDateTimeUtc?: string;
  /** The embedded record as received (unknown fields kept). */
  resource?: Record<string, unknown>;
}

/** What to answer to one delivery, and why. */
export interface Receipt {
  /** The HTTP status to answer: 2xx for authentic deliveries (even dropped ones), 401 for failed authentication. */
  status: number;
  /** A stable kebab-case reason code. */
  reason: string;
  /** True when the signature verified. */
  authentic: boolean;
  /** Authentic but unusable (e.g. unparseable): acknowledged so Virtuous stops retrying; keep it for inspection. */
  deadLetter: boolean;
  event?: Event;
  /** A stable key to deduplicate retries of the same delivery. */
  dedupeKey?: string;
  /** Index in `config.secrets` of the secret that matched. */
  secretIndex?: number;
  /** `id` of the secret that matched, when it has one. */
  secretId?: string;
  replay: ReplayCheck;
  warnings: Notice[];
  diagnostics: Notice[];
  /** The failure, when the delivery was not accepted. */
  error?: Notice;
}

/** Options of {@link verifySignature}. */
export interface VerifyOptions {
  scheme?: PresetName | SchemeObject;
  /** The timestamp header's value, for schemes that sign one. */
  timestamp?: string;
  /** The id header's value, for schemes that sign one. */
  id?: string;
  /** Now in milliseconds since the Unix epoch (default `Date.now()`). */
  nowMs?: number;
  allowWeakSecrets?: boolean;
  diagnostics?: boolean;
}

/** The result of {@link verifySignature}. */
export interface Verification {
  ok: boolean;
  /** Why it failed (absent when `ok`). */
  code?: string;
  message?: string;
  secretIndex?: number;
  secretId?: string;
  replay: ReplayCheck;
  warnings: Notice[];
  diagnostics: Notice[];
}

/** Options of {@link signBody}. */
export interface SignOptions {
  scheme?: PresetName | SchemeObject;
  /** Unix seconds, for schemes that sign a timestamp. */
  timestamp?: number;
  /** Message id, for schemes that sign one. */
  id?: string;
  encoding?: "hex" | "base64";
  /** Allow signing with a secret shorter than 32 bytes. */
  allowWeakSecrets?: boolean;
}

/** The result of {@link signBody}: the signature and every header to send with the body. */
export interface Signed {
  signature: string;
  headers: Record<string, string>;
}

/** Options of {@link generateSecret}. */
export interface GenerateSecretOptions {
  /** Random bytes, at least 32 (the default). */
  bytes?: number;
  format?: "base64url" | "hex" | "whsec";
}

/** Codes of errors thrown by the constructor and the functions (configuration and argument errors). */
export type ErrorCode =
  | "invalid-config"
  | "unknown-preset"
  | "invalid-scheme"
  | "no-secrets"
  | "invalid-secret"
  | "weak-secret"
  | "invalid-platform-name"
  | "invalid-option"
  | "invalid-argument"
  | "random-unavailable"
  | "internal";

/**
 * The error thrown for a bad configuration or argument: a real `Error` (`instanceof Error`) with a stable `code`
 * and the `field` at fault. Its message never contains a secret.
 */
export interface VirtuousSyncError extends Error {
  name: "VirtuousSyncError";
  code: ErrorCode | (string & {});
  field: string;
}

/** A receiver configured once: verifies and decodes every delivery. */
export declare class SyncCore {
  /** @throws {VirtuousSyncError} when the configuration is invalid (the error names the field). */
  constructor(config: SyncConfig);
  /**
   * Decides what to answer to one delivery from its raw body and headers. Never throws for a bad delivery:
   * that is a receipt with a 4xx status.
   * @param nowMs milliseconds since the Unix epoch (default `Date.now()`).
   * @throws {VirtuousSyncError} `invalid-argument` when `body` or `headers` has the wrong type.
   */
  receive(body: Body, headers: HeadersLike, nowMs?: number): Receipt;
  /** Releases the wasm memory now instead of at garbage collection. */
  free(): void;
}

/** Verifies one signature header value over the raw body with a list of secrets. */
export declare function verifySignature(
  body: Body,
  headerValue: string,
  secrets: SecretLike[],
  options?: VerifyOptions,
): Verification;

/** Signs a body under a scheme (for tests, simulators and local testing). */
export declare function signBody(body: Body, secret: SecretLike, options?: SignOptions): Signed;

/** A new secret of at least 32 random bytes from the platform's secure random source. */
export declare function generateSecret(options?: GenerateSecretOptions): string;
