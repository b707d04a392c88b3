/** `npm run reconcile`: one reconciliation run against the service `npm start` is running. */
import { applyServiceEnvironment, readState } from "./environment.js";
import { localLambdaContext } from "./lambda-context.js";

const state = await readState();
if (state === undefined) {
  console.error("npm run reconcile: no running `npm start` found (start it first)");
  process.exit(1);
}
applyServiceEnvironment({ ...state, logLevel: "WARN" });
const { handler } = await import("../functions/reconcile.js");
console.log(JSON.stringify(await handler({}, localLambdaContext("reconcile", 300))));
