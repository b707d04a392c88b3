/**
 * stripe-mock, Stripe's OpenAPI-driven mock server, for the Stripe contract check
 * (tests/integration/stripe-contract.test.ts). It answers every Stripe endpoint with canned
 * fixtures and rejects (400) requests whose parameters its OpenAPI spec does not allow.
 *
 * The binary is the pinned version (local/stripe-mock-version.txt) that local/setup.mjs
 * (npm postinstall) builds into .local/bin with `go install`; the spec it serves is the
 * spec3.json of the same module version in Go's module cache.
 *
 * It listens on 127.0.0.1 only, on a port the system picks (read back from its output, so
 * there is no race for a "free" port). `-http-addr` alone would also open HTTPS on the default
 * :12112 on every interface (stripe-mock enables HTTPS unless -http/-http-port/-http-unix is
 * given), so HTTPS is pinned to 127.0.0.1 and a system-chosen port as well; nothing uses it.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { forwardLines, superviseChild } from "./child-process.js";

export interface StripeMock {
  /** e.g. `http://127.0.0.1:41234`; pass it as the SDK's host/port (or `apiBase`). */
  readonly url: string;
  readonly port: number;
  /** The OpenAPI spec (spec3.json) this stripe-mock version serves. */
  readonly specPath: string;
  /** The pinned module version, e.g. `v0.203.0`. */
  readonly version: string;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s). Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartStripeMockOptions {
  /** Each line stripe-mock prints (discarded without it). */
  log?: (line: string) => void;
  /** How long to wait for the first good answer (default 20 s). */
  readyTimeoutMs?: number;
}

const MODULE = "github.com/stripe/stripe-mock";
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const binary = join(
  root,
  ".local",
  "bin",
  process.platform === "win32" ? "stripe-mock.exe" : "stripe-mock",
);
const versionFile = join(root, "local", "stripe-mock-version.txt");
const SETUP_HINT = "run `node local/setup.mjs` (or npm install)";

const READY_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 50;
const STOP_GRACE_MS = 3_000;
const TAIL_LINES = 20;
/** Any test-mode secret key is accepted by stripe-mock. */
const PROBE_KEY = "sk_test_123";

/** The version pinned in local/stripe-mock-version.txt. */
export function pinnedStripeMockVersion(): string {
  const version = readFileSync(versionFile, "utf8").trim();
  if (!/^v\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`local/stripe-mock-version.txt: '${version}' is not a version like v0.203.0`);
  }
  return version;
}

function goCommand(args: string[]): Promise<string> {
  const go = process.env.GO || "go";
  return new Promise((resolve, reject) => {
    execFile(go, args, { encoding: "utf8", timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) {
        const missing = "code" in error && error.code === "ENOENT";
        reject(
          new Error(
            missing
              ? `stripe-mock: ${go} not found: install Go 1.22+ (needed for stripe-mock, the Stripe contract check)`
              : `stripe-mock: '${go} ${args.join(" ")}' failed: ${stderr.trim() || error.message}`,
          ),
        );
        return;
      }
      resolve(stdout);
    });
  });
}

/** Where Go's module cache keeps the spec3.json of `version` (it must be there). */
export async function stripeMockSpecPath(version = pinnedStripeMockVersion()): Promise<string> {
  const modCache = (await goCommand(["env", "GOMODCACHE"])).trim();
  const specPath = join(modCache, `${MODULE}@${version}`, "embedded", "openapi", "spec3.json");
  if (!existsSync(specPath)) {
    throw new Error(`stripe-mock: its OpenAPI spec is not at ${specPath}; ${SETUP_HINT}`);
  }
  return specPath;
}

/** Checks, from the Go build info in the binary, that .local/bin holds the pinned version. */
async function checkBinaryVersion(version: string): Promise<void> {
  if (!existsSync(binary)) {
    throw new Error(`stripe-mock: ${binary} is missing; ${SETUP_HINT}`);
  }
  const info = await goCommand(["version", "-m", binary]);
  const line = info.split("\n").find((entry) => /^\s*mod\s/.test(entry));
  const built = line?.trim().split(/\s+/)[2];
  if (built !== version) {
    throw new Error(
      `stripe-mock: ${binary} is ${built ?? "of unknown version"}, the pin is ${version}; ${SETUP_HINT}`,
    );
  }
}

/**
 * Starts the pinned stripe-mock on 127.0.0.1 and a system-chosen port and waits until it
 * answers a real API request. The child is killed by stop() and when this process exits.
 */
export async function startStripeMock(options: StartStripeMockOptions = {}): Promise<StripeMock> {
  const version = pinnedStripeMockVersion();
  const [specPath] = await Promise.all([stripeMockSpecPath(version), checkBinaryVersion(version)]);
  const log = options.log;

  const child = spawn(binary, ["-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });

  const outputTail: string[] = [];
  const remember = (line: string) => {
    outputTail.push(line);
    if (outputTail.length > TAIL_LINES) outputTail.shift();
    log?.(line);
  };
  // stripe-mock prints the address it bound (port 0 = the system picks one).
  let announcedPort: number | undefined;
  forwardLines(child.stdout, (line) => {
    const match = /^Listening for HTTP at address: 127\.0\.0\.1:(\d+)$/.exec(line.trim());
    if (match?.[1] !== undefined) announcedPort = Number(match[1]);
    remember(line);
  });
  forwardLines(child.stderr, remember);

  // Neither the child nor its pipes keep the event loop alive; the exit hook kills the child.
  const supervised = superviseChild(child, STOP_GRACE_MS);
  const stop = () => supervised.stop();

  const started = Date.now();
  let port: number;
  try {
    port = await waitUntilReady(options.readyTimeoutMs ?? READY_TIMEOUT_MS, () => {
      const { exit: exited, spawnError } = supervised.ended();
      if (spawnError) return { failed: `could not start ${binary}: ${spawnError.message}` };
      if (exited) return { failed: `exited (code ${exited.code}, signal ${exited.signal})` };
      return { port: announcedPort };
    });
  } catch (error) {
    await stop();
    const tail =
      outputTail.length > 0 ? `\n--- stripe-mock output ---\n${outputTail.join("\n")}` : "";
    throw new Error(`stripe-mock ${version}: ${(error as Error).message}${tail}`);
  }
  const url = `http://127.0.0.1:${port}`;
  log?.(`stripe-mock ${version} ready on ${url} after ${Date.now() - started} ms`);
  return { url, port, specPath, version, stop };
}

/**
 * Once stripe-mock has printed its HTTP address, polls `GET /v1/payment_intents?limit=1`
 * until it answers 200 with a list; fails when the child fails or the deadline passes. This
 * is a bounded readiness check, not a test sleep. Resolves to the port.
 */
async function waitUntilReady(
  timeoutMs: number,
  state: () => { failed: string } | { port: number | undefined },
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "stripe-mock has not printed its HTTP address yet";
  for (;;) {
    const current = state();
    if ("failed" in current) throw new Error(current.failed);
    if (current.port !== undefined) {
      const url = `http://127.0.0.1:${current.port}`;
      try {
        const response = await fetch(`${url}/v1/payment_intents?limit=1`, {
          headers: { Authorization: `Bearer ${PROBE_KEY}` },
          signal: AbortSignal.timeout(2_000),
        });
        const body: unknown = await response.json();
        if (
          response.status === 200 &&
          typeof body === "object" &&
          body !== null &&
          "object" in body &&
          body.object === "list"
        ) {
          return current.port;
        }
        lastError = `GET /v1/payment_intents answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    if (Date.now() >= deadline) {
      throw new Error(`not ready after ${timeoutMs} ms (last: ${lastError})`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
