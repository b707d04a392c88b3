/**
 * `npm start` as a user runs it: the real start script in its own process, on free ports, driven
 * over HTTP with a token from `npm run token`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clearState, writeState } from "../../local/environment.js";
import { root, runScript, tsx } from "../support/scripts.js";

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

interface Started {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly ready: Promise<void>;
}

function start(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [tsx, "local/start.ts"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (line.includes("payment-service on http")) resolve();
      });
    }
    child.once("exit", (code) =>
      reject(new Error(`npm start exited with ${code}: ${lines.join("\n")}`)),
    );
  });
  ready.catch(() => undefined);
  return { child, lines, ready };
}

describe("npm start", () => {
  let service: Started;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    const simulatorPort = await freePort();
    service = start({
      PORT: String(port),
      STRIPE_SIMULATOR_PORT: String(simulatorPort),
      LOG_LEVEL: "WARN",
    });
    await service.ready;
  });
  afterAll(async () => {
    if (service?.child.exitCode === null) {
      service.child.kill("SIGTERM");
      await once(service.child, "exit");
    }
  });

  it("serves the API with a token from npm run token", async () => {
    const { stdout } = await run(
      process.execPath,
      [tsx, "local/token.ts", "--sub", "e2e-user", "--scope", "payments:write payments:read"],
      {
        cwd: root,
      },
    );
    const token = stdout.trim();
    expect(token.split(".")).toHaveLength(3);
    const orderId = `e2e-${Date.now()}`;
    const created = await fetch(`http://127.0.0.1:${port}/api/payments/intents`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "idempotency-key": orderId,
      },
      body: JSON.stringify({ orderId, amount: 1200, currency: "gbp" }),
    });
    expect(created.status).toBe(201);
    const payment = (await created.json()) as { id: string; clientSecret: string };
    expect(payment.clientSecret).toMatch(/^pi_.+_secret_/);

    const read = await fetch(`http://127.0.0.1:${port}/api/payments/${payment.id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      id: payment.id,
      status: "initiated",
      currency: "gbp",
    });
  });

  it("runs reconciliation on demand with npm run reconcile", async () => {
    const { stdout } = await run(process.execPath, [tsx, "local/reconcile.ts"], { cwd: root });
    const summary: unknown = JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
    expect(summary).toMatchObject({ failed: 0 });
    expect(summary).toHaveProperty("looked");
  });

  it("refuses requests without a token", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/payments/pay_00000000000000000000000000`);
    expect(res.status).toBe(401);
  });

  it("prints the webhook secret and the routes", () => {
    const text = service.lines.join("\n");
    expect(text).toContain("webhook signing secret: whsec_");
    expect(text).toContain("POST /api/payments/intents");
  });
});

describe("npm start with a bad setting", () => {
  it.each([
    ["PORT", { PORT: "not-a-port" }],
    ["STRIPE_SECRET_KEY", { STRIPE_SECRET_KEY: "sk_live_refused_locally" }],
    ["DYNAMODB_ENDPOINT", { DYNAMODB_ENDPOINT: "nowhere" }],
    ["DYNAMODB_ENDPOINT", { DYNAMODB_ENDPOINT: "localhost:8000" }],
  ])("stops with one line naming %s", async (name, env) => {
    const service = start(env);
    const [code] = (await once(service.child, "exit")) as [number | null];
    expect(code).toBe(1);
    const errors = service.lines.filter((l) => l.startsWith("npm start:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(name);
  });
});

describe("npm start on a taken port", () => {
  it("stops with one line naming PORT", async () => {
    const taken = createServer();
    taken.listen(0, "127.0.0.1");
    await once(taken, "listening");
    const address = taken.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    try {
      const service = start({
        PORT: String(address.port),
        STRIPE_SIMULATOR_PORT: String(await freePort()),
        LOG_LEVEL: "WARN",
      });
      const [code] = (await once(service.child, "exit")) as [number | null];
      expect(code).toBe(1);
      const errors = service.lines.filter((l) => l.startsWith("npm start:"));
      expect(errors).toEqual([
        `npm start: port ${address.port} is taken by another program: set PORT to a free port`,
      ]);
    } finally {
      taken.close();
    }
  });
});

describe("the scripts' help and their mistakes", () => {
  it.each([["local/start.ts"], ["local/token.ts"], ["local/reconcile.ts"]])(
    "%s --help prints its usage",
    async (script) => {
      const { code, stdout } = await runScript([script, "--help"]);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^usage: npm /);
    },
  );

  it("token: an unknown option or no --sub is one line and the usage, no stack trace", async () => {
    for (const args of [["--bogus"], ["--scope", "payments:read"]]) {
      const { code, stderr } = await runScript(["local/token.ts", ...args]);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^npm run token: /);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("reconcile: a state file left by a stopped npm start is one line, no stack trace", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await writeState({
      dynamodbEndpoint: dead,
      stripeApiBase: dead,
      stripeSecretKey: "sk_test_local_simulator",
      webhookSecret: "whsec_stale",
      logLevel: "WARN",
    });
    try {
      const { code, stderr } = await runScript(["local/reconcile.ts"]);
      expect(code).toBe(1);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toMatch(/^npm run reconcile: the service recorded in .* does not answer/);
    } finally {
      await clearState();
    }
  });
});
