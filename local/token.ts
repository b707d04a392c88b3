/**
 * `npm run --silent token -- --sub <id> --scope "<scopes>" [--ttl <seconds>]`: prints a bearer
 * token that the local gateway accepts.
 */
import { parseArgs } from "node:util";
import { loadOrCreateDevKeys, signToken } from "./auth.js";
import { DEV_KEY_FILE } from "./paths.js";

const USAGE = `usage: npm run --silent token -- --sub <id> [--scope "<scopes>"] [--ttl <seconds>]
Prints a bearer token (JWT) the local gateway accepts, signed with the local development key.
  --sub    the caller (the token's sub claim), required
  --scope  space-separated scopes: payments:write payments:read payments:refund payments:admin
  --ttl    lifetime in seconds (default 3600)`;

function usage(problem: string): never {
  console.error(`npm run token: ${problem}\n${USAGE}`);
  process.exit(2);
}

let values: { sub?: string | undefined; scope: string; ttl: string; help?: boolean | undefined };
try {
  ({ values } = parseArgs({
    options: {
      sub: { type: "string" },
      scope: { type: "string", default: "" },
      ttl: { type: "string", default: "3600" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  usage(error instanceof Error ? error.message : String(error));
}
if (values.help === true) {
  console.log(USAGE);
  process.exit(0);
}
const ttlSeconds = Number(values.ttl);
if (values.sub === undefined || values.sub.length === 0) usage("--sub is required");
if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)
  usage("--ttl must be a positive whole number of seconds");
const keys = await loadOrCreateDevKeys(DEV_KEY_FILE);
console.log(await signToken(keys, { sub: values.sub, scope: values.scope, ttlSeconds }));
