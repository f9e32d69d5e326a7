// Types of `virtuous-sync/receive`: the receive-only build (webhook endpoints). The same objects as the full
// package; SyncCore has only `receive` (a `sync` config section is refused with `invalid-config`).
import type { Body, HeadersLike, Receipt, SyncConfig } from "./index";

export type {
  Body,
  HeadersLike,
  Receipt,
  SyncConfig,
  Verification,
  VerifyOptions,
  Signed,
  SignOptions,
  SecretLike,
  GenerateSecretOptions,
  ErrorCode,
  ErrorModule,
  ReceiptReason,
  VerificationCode,
} from "./index";
export { verifySignature, signBody, generateSecret, VirtuousSyncError } from "./index";

export declare class SyncCore {
  /** @throws {VirtuousSyncError} when the configuration is invalid (the error names the field). */
  constructor(config: SyncConfig);
  /**
   * Decides what to answer to one delivery from its raw body and headers. Never throws for a bad delivery:
   * that is a receipt with a 4xx status.
   * @param nowMs milliseconds since the Unix epoch (default `Date.now()`).
   */
  receive(body: Body, headers: HeadersLike, nowMs?: number): Receipt;
  /** Releases the wasm memory now instead of at garbage collection. */
  free(): void;
}
