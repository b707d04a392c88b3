/**
 * `npm run --silent token -- --sub <id> --scope "<scopes>" [--ttl <seconds>]`: prints a bearer
 * token that the local gateway accepts.
 */
import { parseArgs } from "node:util";
import { loadOrCreateDevKeys, signToken } from "./auth.js";
import { DEV_KEY_FILE } from "./paths.js";

const { values } = parseArgs({
  options: {
    sub: { type: "string" },
    scope: { type: "string", default: "" },
    ttl: { type: "string", default: "3600" },
  },
});
const ttlSeconds = Number(values.ttl);
if (values.sub === undefined || values.sub.length === 0) {
  console.error(
    'usage: npm run --silent token -- --sub <id> --scope "payments:write payments:read"',
  );
  process.exit(2);
}
if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
  console.error("--ttl must be a positive whole number of seconds");
  process.exit(2);
}
const keys = await loadOrCreateDevKeys(DEV_KEY_FILE);
console.log(await signToken(keys, { sub: values.sub, scope: values.scope, ttlSeconds }));
