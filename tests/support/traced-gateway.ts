/**
 * The local gateway and the real handlers with X-Ray tracing on, in a process of its own:
 * lib/tracing.ts decides at import, from the environment, and lib/xray.ts then observes every
 * outgoing HTTP request of the process (Node's diagnostics channels), which must not leak into
 * other tests. Started by tests/integration/tracing.test.ts with the environment of a traced
 * Lambda; prints one line `TRACED_GATEWAY {"url","token"}` when it serves.
 */
import { routes } from "../../infra/routes.js";
import { generateDevKeys, signToken, tokenVerifier } from "../../local/auth.js";
import { startGateway } from "../../local/gateway.js";

const keys = await generateDevKeys();
const gateway = await startGateway({ port: 0, routes, verifyToken: tokenVerifier(keys) });
const token = await signToken(keys, { sub: "tracing", scope: "payments:write payments:read" });
process.stdout.write(`TRACED_GATEWAY ${JSON.stringify({ url: gateway.url, token })}\n`);
process.once("SIGTERM", () => {
  void gateway.close().finally(() => process.exit(0));
});
