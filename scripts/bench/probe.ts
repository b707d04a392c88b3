/**
 * Imports a bundle in a fresh Node 24 process and times the import inside that process
 * (`performance.now()` around `await import(url)`), so process start-up is not counted; and
 * the CPU time the process spent meanwhile (`process.cpuUsage()`, user + system), which another
 * process on the machine disturbs less than wall time.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DIST, ROOT } from "./bundle.js";

const MARK = "BENCH_PROBE ";

const PROBE_SOURCE = `// Written by scripts/bench/probe.ts
const url = process.argv[2];
const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(url);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
const cpuMs = (cpu.user + cpu.system) / 1000;
const undiciLoaded = process.moduleLoadList.some((m) => m.includes("undici"));
const out = { ms, cpuMs, node: process.versions.node, handler: typeof mod.handler, exports: Object.keys(mod), undiciLoaded };
process.stdout.write("\\n${MARK}" + JSON.stringify(out) + "\\n");
process.exit(0);
`;

const FIRST_CALL_SOURCE = `// Written by scripts/bench/probe.ts
import { readFileSync } from "node:fs";
const [url, eventFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, "utf8"));
const cpuMs = (c) => (c.user + c.system) / 1000;
const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(url);
const importMs = performance.now() - t0;
const importCpuMs = cpuMs(process.cpuUsage(c0));
const deadline = Date.now() + 30000;
const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? "bench",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:bench",
  memoryLimitInMB: "512",
  awsRequestId: "bench-first-call",
  logGroupName: "/aws/lambda/bench",
  logStreamName: "bench",
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};
const c1 = process.cpuUsage();
const t1 = performance.now();
const result = await mod.handler(event, context);
const callMs = performance.now() - t1;
const callCpuMs = cpuMs(process.cpuUsage(c1));
let outcome = "returned";
let id;
if (result && typeof result === "object") {
  if (typeof result.statusCode === "number") outcome = String(result.statusCode);
  else if (Array.isArray(result.batchItemFailures))
    outcome = result.batchItemFailures.length === 0 ? "batch ok" : "batch failures";
  try {
    const body = JSON.parse(result.body ?? "{}");
    if (typeof body.id === "string") id = body.id;
  } catch {}
}
const out = { importMs, importCpuMs, callMs, callCpuMs, outcome, id, node: process.versions.node };
process.stdout.write("\\n${MARK}" + JSON.stringify(out) + "\\n");
process.exit(0);
`;

export interface ProbeResult {
  /** Milliseconds spent in `await import(url)`. */
  readonly ms: number;
  /** CPU milliseconds (user + system, every thread of the process) during the import. */
  readonly cpuMs: number;
  /** The child's Node version. */
  readonly node: string;
  /** `typeof handler` of the module. */
  readonly handler: string;
  readonly exports: readonly string[];
  /** Whether Node's bundled undici was loaded by the import (see infra/esbuild-plugins.mjs). */
  readonly undiciLoaded: boolean;
}

function isProbeResult(value: unknown): value is ProbeResult {
  if (typeof value !== "object" || value === null) return false;
  return (
    "ms" in value &&
    typeof value.ms === "number" &&
    "cpuMs" in value &&
    typeof value.cpuMs === "number" &&
    "node" in value &&
    typeof value.node === "string" &&
    "handler" in value &&
    typeof value.handler === "string" &&
    "exports" in value &&
    Array.isArray(value.exports) &&
    "undiciLoaded" in value &&
    typeof value.undiciLoaded === "boolean"
  );
}

const major = (version: string): number => Number(version.split(".")[0]);

/**
 * Node 24: this process's own binary when it is Node 24 (under npm scripts, node_modules/.bin
 * holds the `node` devDependency), else the one in node_modules.
 */
export function nodeBinary(): string {
  if (major(process.versions.node) >= 24) return process.execPath;
  const local = join(ROOT, "node_modules", ".bin", "node");
  if (existsSync(local)) return local;
  throw new Error(`Node 24 is needed for the bench; this is ${process.version}. Run it via npm.`);
}

const probeFiles = new Map<string, Promise<string>>();

/** Writes the probe script `name` once per process and returns its path. */
function ensureProbe(name = "probe.mjs", source = PROBE_SOURCE): Promise<string> {
  let file = probeFiles.get(name);
  if (file === undefined) {
    file = (async () => {
      const dir = join(DIST, "bench");
      await mkdir(dir, { recursive: true });
      const path = join(dir, name);
      // Written aside and renamed: another bench or test may be reading it right now.
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, source);
      await rename(temporary, path);
      return path;
    })();
    probeFiles.set(name, file);
  }
  return file;
}

export interface ProbeOptions {
  readonly node?: string;
  /** Extra Node flags (e.g. `--enable-source-maps`). */
  readonly nodeArgs?: readonly string[];
  readonly timeoutMs?: number;
}

/** Runs `probe` on `file` in a child process with exactly `env`; its result line, parsed. */
async function runProbe(
  probe: string,
  file: string,
  extraArgs: readonly string[],
  env: Readonly<Record<string, string>>,
  options: ProbeOptions,
): Promise<unknown> {
  const node = options.node ?? nodeBinary();
  const args = [...(options.nodeArgs ?? []), probe, pathToFileURL(file).href, ...extraArgs];
  const { stdout, stderr, error } = await new Promise<{
    stdout: string;
    stderr: string;
    error: Error | null;
  }>((resolve) => {
    execFile(
      node,
      args,
      { env: { ...env }, timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, out, errOut) => resolve({ stdout: String(out), stderr: String(errOut), error: err }),
    );
  });
  const line = stdout.split("\n").find((l) => l.startsWith(MARK));
  if (error !== null || line === undefined) {
    const tail = stderr.trim().split("\n").slice(-8).join("\n");
    throw new Error(`importing ${file} failed: ${error?.message ?? "no result"}\n${tail}`);
  }
  const parsed: unknown = JSON.parse(line.slice(MARK.length));
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    !("node" in parsed) ||
    typeof parsed.node !== "string"
  ) {
    throw new Error(`unexpected probe output: ${line}`);
  }
  if (major(parsed.node) < 24) throw new Error(`the probe ran on Node ${parsed.node}, not 24`);
  return parsed;
}

/** Imports `file` in a child process with exactly `env` (nothing inherited); rejects on failure. */
export async function probeImport(
  file: string,
  env: Readonly<Record<string, string>>,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const parsed = await runProbe(await ensureProbe(), file, [], env, options);
  if (!isProbeResult(parsed)) throw new Error(`unexpected probe output: ${JSON.stringify(parsed)}`);
  return parsed;
}

export interface FirstCallResult {
  /** Wall and CPU milliseconds of `await import(url)`. */
  readonly importMs: number;
  readonly importCpuMs: number;
  /** Wall and CPU milliseconds of the first `handler(event, context)`. */
  readonly callMs: number;
  readonly callCpuMs: number;
  /** The status code it answered, or how a batch went. */
  readonly outcome: string;
  /** The `id` of a JSON body, if it had one (a created payment's). */
  readonly id?: string;
}

function isFirstCallResult(value: unknown): value is FirstCallResult {
  if (typeof value !== "object" || value === null) return false;
  return (
    "importMs" in value &&
    typeof value.importMs === "number" &&
    "importCpuMs" in value &&
    typeof value.importCpuMs === "number" &&
    "callMs" in value &&
    typeof value.callMs === "number" &&
    "callCpuMs" in value &&
    typeof value.callCpuMs === "number" &&
    "outcome" in value &&
    typeof value.outcome === "string" &&
    (!("id" in value) || value.id === undefined || typeof value.id === "string")
  );
}

/**
 * Imports `file` in a fresh child process with exactly `env`, then calls its handler once with
 * the event in `eventFile` (JSON): the import and the first call timed apart, wall and CPU.
 */
export async function probeFirstCall(
  file: string,
  eventFile: string,
  env: Readonly<Record<string, string>>,
  options: ProbeOptions = {},
): Promise<FirstCallResult> {
  const probe = await ensureProbe("probe-first-call.mjs", FIRST_CALL_SOURCE);
  const parsed = await runProbe(probe, file, [eventFile], env, options);
  if (!isFirstCallResult(parsed)) {
    throw new Error(`unexpected probe output: ${JSON.stringify(parsed)}`);
  }
  return parsed;
}
