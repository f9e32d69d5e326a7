// HMAC-SHA256 over the raw body with node:crypto: an implementation independent of the core package, so the
// core's verifier is checked against a second opinion.
import { createHmac } from "node:crypto";

/**
 * @param {string|Buffer} body the exact bytes sent
 * @param {string} secret the subscription secret (UTF-8 bytes are the key, as Virtuous's UI secret is text)
 * @param {{encoding?: "base64"|"hex", prefix?: string}} [scheme]
 */
export function signBody(body, secret, scheme = {}) {
  const tag = createHmac("sha256", Buffer.from(secret, "utf8")).update(body).digest();
  const encoding = scheme.encoding === "hex" ? "hex" : "base64";
  return `${scheme.prefix ?? ""}${tag.toString(encoding)}`;
}
