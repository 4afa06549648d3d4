// Checks verify.ts against deliveries signed by the daemon's own signer
// (docs/examples/vectors.json). Run by CI: jiti docs/examples/verify.check.ts
import { readFileSync } from "node:fs";
import { verifyOpencals, verifyStandardWebhooks } from "./verify.ts";

const secret = "example-endpoint-secret";
const standardSecret = "whsec_ZXhhbXBsZS1zdGFuZGFyZC13ZWJob29rcy1zZWNyZXQ=";
const signedAt = Date.UTC(2026, 11, 5, 15, 0, 5) / 1000;

type Vector = { type: string; body: string; headers: Record<string, string> };
const vectors: Vector[] = JSON.parse(
  readFileSync(new URL("./vectors.json", import.meta.url), "utf8"));
let failures = 0;
for (const v of vectors) {
  const headers = Object.fromEntries(
    Object.entries(v.headers).map(([k, val]) => [k.toLowerCase(), val]));
  const body = Buffer.from(v.body, "utf8");
  const tampered = Buffer.from(body);
  tampered[tampered.length - 2] ^= 1;
  const checks: [string, boolean][] = [
    ["opencals", verifyOpencals(headers, body, secret)],
    ["standard-webhooks", verifyStandardWebhooks(headers, body, standardSecret, signedAt + 60)],
    ["tampered body refused", !verifyOpencals(headers, tampered, secret)],
    ["replay refused", !verifyStandardWebhooks(headers, body, standardSecret, signedAt + 3600)],
  ];
  for (const [name, ok] of checks) {
    if (!ok) { failures++; console.error(`FAIL ${v.type}: ${name}`); }
  }
}
if (failures > 0) process.exit(1);
console.log(`verify.ts accepts all ${vectors.length} signed deliveries, both schemes`);
