// AWS Lambda behind API Gateway (REST or HTTP API) or a function URL. The body arrives as a string, Base64-encoded
// when `isBase64Encoded` is true (binary media types, function URLs): decode it to the exact bytes before verifying.
import { webhookCore, answer } from "./lib/config.mjs";
// In your app: import { lambdaHandler } from "virtuous-sync-host";
import { lambdaHandler } from "../../host/src/index.mjs";

export function coreHandler({ handle }) {
  return async (event) => {
    const body = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64") : Buffer.from(event.body ?? "", "utf8");
    const r = await answer(webhookCore().receive(body, event.headers ?? {}), body, handle);
    return { statusCode: r.status, headers: { "content-type": "application/json" }, body: JSON.stringify(r.body) };
  };
}

/** export const handler = lambdaHandler(host); the route /webhooks/virtuous/{customerId}. */
export const hostHandler = (host) => lambdaHandler(host);
