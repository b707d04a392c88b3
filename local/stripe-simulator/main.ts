/**
 * Runs the Stripe simulator on its own:
 *   npx tsx local/stripe-simulator/main.ts
 * Environment: STRIPE_SIMULATOR_PORT (default 12111), STRIPE_WEBHOOK_SECRET (default
 * whsec_simulator), STRIPE_WEBHOOK_URL (webhooks are sent only when set).
 */
import { startStripeSimulator } from "./index.js";

const portText = process.env.STRIPE_SIMULATOR_PORT ?? "12111";
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`STRIPE_SIMULATOR_PORT must be a port number, got '${portText}'`);
  process.exit(1);
}
const webhookSecret = process.env.STRIPE_WEBHOOK_SECRET ?? "whsec_simulator";
const webhookUrl = process.env.STRIPE_WEBHOOK_URL || undefined;

const simulator = await startStripeSimulator({
  port,
  webhookSecret,
  webhookUrl,
  log: (line) => console.log(`[stripe-simulator] ${line}`),
});
console.log(
  `[stripe-simulator] ready at ${simulator.url}; webhooks ${webhookUrl ? `to ${webhookUrl}` : "off (set STRIPE_WEBHOOK_URL)"}`,
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`[stripe-simulator] ${signal}, shutting down`);
  simulator.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
