// How a merchant's Node.js handler checks an opencals-sync delivery. Verify
// the raw body bytes as received (for example express.raw()), never
// re-serialized JSON. verify.check.ts runs these functions against
// deliveries the daemon signed (vectors.json); CI runs it.
import { createHmac, timingSafeEqual } from "node:crypto";

type Headers = Record<string, string | undefined>;

/** The "opencals" scheme: hex HMAC-SHA256 of the body in Opencals-Signature. */
export function verifyOpencals(headers: Headers, body: Buffer, secret: string): boolean {
  const got = Buffer.from(headers["opencals-signature"] ?? "", "hex");
  const want = createHmac("sha256", secret).update(body).digest();
  return got.length === want.length && timingSafeEqual(got, want);
}

/** The "standard-webhooks" scheme, with replay protection. */
export function verifyStandardWebhooks(
  headers: Headers, body: Buffer, secret: string, nowSeconds: number, toleranceSeconds = 300,
): boolean {
  const id = headers["webhook-id"] ?? "";
  const ts = headers["webhook-timestamp"] ?? "";
  if (!/^\d+$/.test(ts) || Math.abs(nowSeconds - Number(ts)) > toleranceSeconds) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const want = createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest();
  return (headers["webhook-signature"] ?? "").split(" ").some((sig) => {
    if (!sig.startsWith("v1,")) return false;
    const got = Buffer.from(sig.slice(3), "base64");
    return got.length === want.length && timingSafeEqual(got, want);
  });
}
