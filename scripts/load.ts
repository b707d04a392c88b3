/**
 * npm run load: drives the whole local service (`npm start` in its own process, with a local
 * Kafka broker) for a bounded time or number of payments, then checks the invariants a payments
 * team cares about and prints throughput, latency per route and the invariant counts.
 *
 *   npm run load                      30 s, 8 concurrent customers
 *   npm run load -- --seconds 60 --concurrency 16
 *   npm run load -- --payments 100    stop after 100 payments (CI runs this)
 *   KAFKA_TOPIC_MODE=single npm run load   the same with every event on one topic
 *
 * The mix, per payment: a create (one in five with a concurrent duplicate of the same request),
 * a read, the customer paying at the Stripe simulator (signed webhooks follow), and for half of
 * them two concurrent refunds that together ask for more than was captured. Then, once the
 * service is quiet: one PaymentIntent per payment, one payment per order, refunds never above
 * what was captured, every outbox event on Kafka (counted by event id), and no 5xx anywhere.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { createStripeClient } from "../lib/adapters/stripe-payment-provider.js";
import { EVENT_TYPES } from "../lib/domain/events.js";
import { TOPIC_MODES, topicOf } from "../lib/domain/topics.js";
import { loadOrCreateDevKeys, signToken } from "../local/auth.js";
import { freePort } from "../local/child-process.js";
import { startLocalKafka } from "../local/kafka.js";
import { DEV_KEY_FILE } from "../local/paths.js";

const HELP = `npm run load [-- options]
  --seconds N       how long to drive the service (default 30)
  --payments N      stop after N payments instead (whichever comes first)
  --concurrency N   customers at once (default 8)
  --window N        report create latency and the local DynamoDB's memory per N payments
                    (default 1000; a soak: --payments 5000 --seconds 7200)
  --help            this text
Starts npm start (on free ports) and a local Kafka broker itself; exits 1 if an invariant fails.`;

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "30" },
    payments: { type: "string" },
    concurrency: { type: "string", default: "8" },
    window: { type: "string", default: "1000" },
    help: { type: "boolean", default: false },
  },
  strict: true,
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
const positive = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`npm run load: --${name} must be a whole number above 0, not ${value}`);
    process.exit(2);
  }
  return n;
};
const SECONDS = positive("seconds", args.seconds) ?? 30;
const MAX_PAYMENTS = positive("payments", args.payments) ?? Number.POSITIVE_INFINITY;
const CONCURRENCY = positive("concurrency", args.concurrency) ?? 8;
const WINDOW = positive("window", args.window) ?? 1000;

/** Resident memory of the local moto server serving `port`, in MB (Linux /proc), if found. */
function motoRssMb(port: string | undefined): number | undefined {
  if (port === undefined) return undefined;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!cmd.some((c) => c.endsWith("moto_server.py")) || !cmd.includes(port)) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return rss === null ? undefined : Number(rss[1]) / 1024;
    } catch {
      // the process went away, or is not ours to read
    }
  }
  return undefined;
}

// ---- measurement

const latencies = new Map<string, number[]>();
/** Per route: answers by status, with the problem's code for 4xx (`409 concurrent_update`). */
const statuses = new Map<string, Map<string, number>>();
const fiveHundreds: string[] = [];

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(
  base: string,
  route: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  const list = latencies.get(route) ?? [];
  list.push(ms);
  latencies.set(route, list);
  if (res.status >= 500) fiveHundreds.push(`${route} ${res.status} ${text.slice(0, 200)}`);
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null)
      body = Object.fromEntries(Object.entries(parsed));
  } catch {
    body = {};
  }
  const label =
    res.status >= 400 && res.status < 500 && typeof body.code === "string"
      ? `${res.status} ${body.code}`
      : String(res.status);
  const counts = statuses.get(route) ?? new Map<string, number>();
  counts.set(label, (counts.get(label) ?? 0) + 1);
  statuses.set(route, counts);
  return { status: res.status, body };
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

// ---- the service

function startService(
  env: Record<string, string>,
): Promise<{ stop: () => Promise<void>; motoPort: string | undefined }> {
  const child = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", "local/start.ts"], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "WARN", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (line.includes("payment-service on http")) {
          const moto = lines
            .map((l) => /DynamoDB \(moto, local\) on http:\/\/127\.0\.0\.1:(\d+)/.exec(l))
            .find((m) => m !== null);
          resolve({
            motoPort: moto?.[1],
            stop: () =>
              new Promise<void>((done) => {
                child.once("exit", () => done());
                child.kill("SIGTERM");
              }),
          });
        }
      });
    }
    child.once("exit", (code) =>
      reject(new Error(`npm start exited with ${code}:\n${lines.slice(-20).join("\n")}`)),
    );
  });
}

async function main(): Promise<number> {
  const kafka = await startLocalKafka();
  const [port, stripePort] = [await freePort(), await freePort()];
  const topicPrefix = `load-${Date.now()}.`;
  // The topics as the service names them, in the mode it is given (default one per type).
  const mode = TOPIC_MODES.find((m) => m === (process.env.KAFKA_TOPIC_MODE ?? "per-type"));
  if (mode === undefined)
    throw new Error(`KAFKA_TOPIC_MODE must be one of ${TOPIC_MODES.join(", ")}`);
  const naming = { prefix: topicPrefix, mode };
  const service = await startService({
    KAFKA_TOPIC_MODE: mode,
    PORT: String(port),
    STRIPE_SIMULATOR_PORT: String(stripePort),
    KAFKA_BROKERS: kafka.brokers,
    KAFKA_TOPIC_PREFIX: topicPrefix,
  });
  const base = `http://127.0.0.1:${port}`;
  const stripe = createStripeClient({
    secretKey: "sk_test_local_simulator",
    apiBase: `http://127.0.0.1:${stripePort}`,
  });

  // Every event the service publishes, by id.
  const seen = new Map<string, number>();
  const client = new Kafka({ brokers: [kafka.brokers], logLevel: logLevel.NOTHING });
  const topics = [...new Set(EVENT_TYPES.map((type) => topicOf(type, naming)))];
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 3 })) });
  await admin.disconnect();
  const consumer = client.consumer({ groupId: `load-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const id = message.headers?.["event-id"]?.toString() ?? JSON.parse(String(message.value)).id;
      seen.set(String(id), (seen.get(String(id)) ?? 0) + 1);
    },
  });

  try {
    const keys = await loadOrCreateDevKeys(DEV_KEY_FILE);
    const support = await signToken(keys, {
      sub: "load-support",
      scope: "payments:refund payments:admin",
    });
    const made: { id: string; orderId: string; amount: number }[] = [];
    let duplicatesAgreed = 0;
    let duplicatesTried = 0;
    let refundRaces = 0;
    const windowCreates: number[] = [];
    const windows: { upTo: number; createP50: number; motoMb: number | undefined }[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    const started = performance.now();

    const customer = async (n: number) => {
      const token = await signToken(keys, {
        sub: `load-customer-${n}`,
        scope: "payments:write payments:read",
      });
      while (Date.now() < deadline && made.length < MAX_PAYMENTS) {
        const orderId = `load-${randomUUID()}`;
        const amount = 1_000 + Math.floor(Math.random() * 9_000);
        const request = {
          token,
          body: { orderId, amount, currency: "usd" },
          headers: { "idempotency-key": randomUUID() },
        };
        const duplicate = Math.random() < 0.2;
        const answers = await Promise.all(
          (duplicate ? [1, 2] : [1]).map(() =>
            call(base, "POST /intents", "POST", "/api/payments/intents", request),
          ),
        );
        const first = answers[0];
        if (first === undefined || first.status !== 201) continue;
        if (duplicate) {
          duplicatesTried++;
          // The second either replays the first (201, same payment) or meets it still running (409).
          if (answers.every((a) => a.status === 409 || a.body.id === first.body.id))
            duplicatesAgreed++;
        }
        const id = String(first.body.id);
        made.push({ id, orderId, amount });
        windowCreates.push(latencies.get("POST /intents")?.at(-1) ?? Number.NaN);
        if (made.length % WINDOW === 0) {
          const sorted = windowCreates.splice(0).sort((a, b) => a - b);
          const w = {
            upTo: made.length,
            createP50: quantile(sorted, 0.5),
            motoMb: motoRssMb(service.motoPort),
          };
          windows.push(w);
          // Progress on stderr, so a long soak shows its trend while it runs.
          console.error(
            `load: ${w.upTo} payments after ${((performance.now() - started) / 1000).toFixed(0)} s, create p50 ${w.createP50.toFixed(1)} ms, moto ${w.motoMb?.toFixed(0) ?? "?"} MB`,
          );
        }
        await call(base, "GET /payments/{id}", "GET", `/api/payments/${id}`, { token });
        await stripe.paymentIntents.confirm(String(first.body.stripePaymentIntentId), {
          payment_method: "pm_card_visa",
        });
        if (Math.random() < 0.5) {
          // Wait for the webhook to capture it (the customer's app polls the same way).
          for (let i = 0; i < 200; i++) {
            const read = await call(base, "GET /payments/{id}", "GET", `/api/payments/${id}`, {
              token,
            });
            if (read.body.status === "captured") break;
            await new Promise((r) => setTimeout(r, 25));
          }
          refundRaces++;
          const part = Math.ceil(amount * 0.6);
          await Promise.all(
            [1, 2].map(() =>
              call(base, "POST /refund", "POST", `/api/payments/${id}/refund`, {
                token: support,
                body: { amount: part },
                headers: { "idempotency-key": randomUUID() },
              }),
            ),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => customer(n)));
    const driveSeconds = (performance.now() - started) / 1000;

    // ---- quiet: every payment final, every event on Kafka (bounded wait)
    const views = new Map<string, Record<string, unknown>>();
    const settleBy = Date.now() + 60_000;
    for (const p of made) {
      for (;;) {
        const read = await call(
          base,
          "GET /payments/{id} (check)",
          "GET",
          `/api/payments/${p.id}`,
          { token: support },
        );
        const refunds = (read.body.refunds as { status: string }[] | undefined) ?? [];
        const settled =
          read.body.status !== "initiated" &&
          read.body.status !== "processing" &&
          refunds.every((r) => r.status !== "pending");
        if (settled || Date.now() > settleBy) {
          views.set(p.id, read.body);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const expectedEvents = [...views.values()].flatMap(
      (v) => (v.events as { id: string }[] | undefined)?.map((e) => e.id) ?? [],
    );
    while (expectedEvents.some((id) => !seen.has(id)) && Date.now() < settleBy) {
      await new Promise((r) => setTimeout(r, 100));
    }

    // ---- invariants
    const intents = new Map<string, number>();
    for await (const pi of stripe.paymentIntents.list({ limit: 100 })) {
      const pid = pi.metadata.payment_id;
      if (pid !== undefined && pi.status !== "canceled")
        intents.set(pid, (intents.get(pid) ?? 0) + 1);
    }
    const failures: string[] = [];
    const intentsOff = made.filter((p) => intents.get(p.id) !== 1).length;
    if (intentsOff > 0)
      failures.push(`${intentsOff} payments without exactly one live PaymentIntent`);
    let ordersOff = 0;
    for (const p of made) {
      const found = await call(
        base,
        "GET /payments?orderId (check)",
        "GET",
        `/api/payments?orderId=${p.orderId}`,
        { token: support },
      );
      if ((found.body.items as unknown[]).length !== 1) ordersOff++;
    }
    if (ordersOff > 0) failures.push(`${ordersOff} orders without exactly one payment`);
    let overRefunded = 0;
    for (const v of views.values()) {
      const refunds = (v.refunds as { amount: number; status: string }[] | undefined) ?? [];
      const taken = refunds
        .filter((r) => r.status === "succeeded" || r.status === "pending")
        .reduce((sum, r) => sum + r.amount, 0);
      if (taken > Number(v.amountCaptured)) overRefunded++;
    }
    if (overRefunded > 0)
      failures.push(`${overRefunded} payments refunded above what was captured`);
    const unsettled = [...views.values()].filter(
      (v) => v.status === "initiated" || v.status === "processing",
    ).length;
    if (unsettled > 0) failures.push(`${unsettled} payments not settled within 60 s of the end`);
    const missing = expectedEvents.filter((id) => !seen.has(id)).length;
    const twice = [...seen.values()].filter((n) => n > 1).length;
    if (missing > 0) failures.push(`${missing} outbox events never reached Kafka`);
    if (fiveHundreds.length > 0)
      failures.push(
        `${fiveHundreds.length} answers of 5xx: ${fiveHundreds.slice(0, 3).join(" | ")}`,
      );
    if (duplicatesAgreed !== duplicatesTried)
      failures.push(`${duplicatesTried - duplicatesAgreed} duplicate creates disagreed`);

    // ---- report
    const requests = [...latencies.values()].reduce((n, l) => n + l.length, 0);
    console.log(
      `\nload: ${made.length} payments, ${requests} HTTP requests in ${driveSeconds.toFixed(1)} s of driving, ${CONCURRENCY} customers at once`,
    );
    console.log(
      `throughput: ${(made.length / driveSeconds).toFixed(1)} payments/s, ${(requests / driveSeconds).toFixed(1)} requests/s (checks included)`,
    );
    console.log(
      "\n| route | requests | p50 ms | p99 ms | max ms | answers |\n| --- | ---: | ---: | ---: | ---: | --- |",
    );
    for (const [route, list] of [...latencies.entries()].sort()) {
      const sorted = [...list].sort((a, b) => a - b);
      const answers = [...(statuses.get(route) ?? new Map<string, number>()).entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([label, n]) => `${label}×${n}`)
        .join(" ");
      console.log(
        `| ${route} | ${list.length} | ${quantile(sorted, 0.5).toFixed(1)} | ${quantile(sorted, 0.99).toFixed(1)} | ${(sorted.at(-1) ?? 0).toFixed(1)} | ${answers} |`,
      );
    }
    if (windowCreates.length > 0) {
      const sorted = windowCreates.splice(0).sort((a, b) => a - b);
      windows.push({
        upTo: made.length,
        createP50: quantile(sorted, 0.5),
        motoMb: motoRssMb(service.motoPort),
      });
    }
    console.log(
      `\nper ${WINDOW} payments:\n| payments | create p50 ms | local DynamoDB (moto) RSS MB |\n| ---: | ---: | ---: |`,
    );
    for (const w of windows) {
      console.log(
        `| ${w.upTo} | ${w.createP50.toFixed(1)} | ${w.motoMb === undefined ? "?" : w.motoMb.toFixed(0)} |`,
      );
    }
    const first = windows[0];
    const last = windows.at(-1);
    if (first !== undefined && last !== undefined && windows.length > 1) {
      const peak = Math.max(...windows.map((w) => w.motoMb ?? 0));
      console.log(
        `\nsoak: create p50 ${first.createP50.toFixed(1)} ms in the first ${WINDOW}, ${last.createP50.toFixed(1)} ms in the last (${(last.createP50 / first.createP50).toFixed(2)}x); moto peak ${peak.toFixed(0)} MB`,
      );
    }
    console.log("\ninvariants:");
    console.log(`  one live PaymentIntent per payment: ${made.length - intentsOff}/${made.length}`);
    console.log(`  one payment per order: ${made.length - ordersOff}/${made.length}`);
    console.log(
      `  refunds within captured: ${views.size - overRefunded}/${views.size} (${refundRaces} refund races of 2 × 60%)`,
    );
    console.log(
      `  concurrent duplicate creates answered as one: ${duplicatesAgreed}/${duplicatesTried}`,
    );
    console.log(
      `  outbox events on Kafka: ${expectedEvents.length - missing}/${expectedEvents.length} (ids seen more than once: ${twice}; delivery is at least once)`,
    );
    console.log(`  5xx answers: ${fiveHundreds.length}`);
    if (failures.length > 0) {
      console.log(`\nFAILED:\n  ${failures.join("\n  ")}`);
      return 1;
    }
    console.log("\nall invariants hold");
    return 0;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await service.stop();
    await kafka.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`npm run load: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
