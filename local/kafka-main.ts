/**
 * `npx tsx local/kafka-main.ts`: a local Kafka broker (local/kafka.ts) on 127.0.0.1:$KAFKA_PORT
 * (default 9092) until Ctrl-C. Prints `KAFKA_BROKERS=127.0.0.1:<port>` on standard output once
 * the broker serves requests; the broker's warnings and errors go to standard error. Its data
 * lives in a temp dir that is deleted on exit: each run starts empty.
 */
import { type LocalKafka, startLocalKafka } from "./kafka.js";

const portText = process.env.KAFKA_PORT ?? "9092";
const port = Number(portText);
if (!Number.isInteger(port) || port < 1 || port > 65_535) {
  console.error(`KAFKA_PORT must be a port number (1-65535), not '${portText}'`);
  process.exit(2);
}

const log = (line: string) => console.error(`[kafka] ${line}`);
let kafka: LocalKafka;
try {
  kafka = await startLocalKafka({
    port,
    log,
    onUnexpectedExit: (reason) => {
      log(`the broker stopped by itself: ${reason}`);
      process.exit(1);
    },
  });
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

console.log(`KAFKA_BROKERS=${kafka.brokers}`);
log("running; Ctrl-C stops it");

// The broker process does not keep Node running by itself.
const keepAlive = setInterval(() => undefined, 60_000);
let stopping = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  kafka.stop().then(
    () => clearInterval(keepAlive),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
