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

let probeFile: Promise<string> | undefined;

function ensureProbe(): Promise<string> {
  probeFile ??= (async () => {
    const dir = join(DIST, "bench");
    await mkdir(dir, { recursive: true });
    const file = join(dir, "probe.mjs");
    // Written aside and renamed: another bench or test may be reading it right now.
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, PROBE_SOURCE);
    await rename(temporary, file);
    return file;
  })();
  return probeFile;
}

export interface ProbeOptions {
  readonly node?: string;
  /** Extra Node flags (e.g. `--enable-source-maps`). */
  readonly nodeArgs?: readonly string[];
  readonly timeoutMs?: number;
}

/** Imports `file` in a child process with exactly `env` (nothing inherited); rejects on failure. */
export async function probeImport(
  file: string,
  env: Readonly<Record<string, string>>,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const probe = await ensureProbe();
  const node = options.node ?? nodeBinary();
  const args = [...(options.nodeArgs ?? []), probe, pathToFileURL(file).href];
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
  if (!isProbeResult(parsed)) throw new Error(`unexpected probe output: ${line}`);
  if (major(parsed.node) < 24) throw new Error(`the probe ran on Node ${parsed.node}, not 24`);
  return parsed;
}
