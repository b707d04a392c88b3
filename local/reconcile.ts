/** `npm run reconcile`: one reconciliation run against the service `npm start` is running. */
import { applyServiceEnvironment, readState, STATE_FILE } from "./environment.js";
import { localLambdaContext } from "./lambda-context.js";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: npm run reconcile
Runs reconciliation once against the running \`npm start\` (found through ${STATE_FILE}):
every payment due for a look is re-read from Stripe and brought up to date; prints the summary.`);
  process.exit(0);
}

const state = await readState();
if (state === undefined) {
  console.error("npm run reconcile: no running `npm start` found (start it first)");
  process.exit(1);
}
applyServiceEnvironment({ ...state, logLevel: "WARN" });
const { handler } = await import("../functions/reconcile.js");
try {
  console.log(JSON.stringify(await handler({}, localLambdaContext("reconcile", 300))));
} catch (error) {
  // Most often a stale state file: `npm start` was stopped without cleaning up.
  console.error(
    `npm run reconcile: the service recorded in ${STATE_FILE} does not answer (is \`npm start\` running?): ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
