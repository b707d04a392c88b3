/**
 * The compile cache SST's postbuild hook adds to each package (infra/compile-cache.ts), on a
 * real bundle of get-payment laid out as Lambda lays it out (`<root>/var/task` for the package,
 * `<root>/tmp` for the runtime's writable directory), imported in fresh Node processes with
 * `NODE_DEBUG_NATIVE=COMPILE_CACHE`, which reports each module's cache read.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addCompileCache,
  CACHE_DIR,
  type CacheManifest,
  ENTRY,
  lambdaNodeVersion,
  MAIN,
  targetNode,
  wrapperSource,
} from "../../infra/compile-cache.js";
import { bundleFunction, ROOT } from "../../scripts/bench/bundle.js";
import { functionEnvironment } from "../../scripts/bench/env.js";
import { scaled } from "../support/time.js";

interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Imports the package's `bundle.mjs` in a fresh Node, as Lambda's runtime would. */
async function importPackage(task: string, env: Record<string, string | undefined>): Promise<Run> {
  const script = `const m = await import(${JSON.stringify(join(task, ENTRY))});
const { getCompileCacheDir } = await import("node:module");
console.log(JSON.stringify({ handler: typeof m.handler, cacheDir: getCompileCacheDir() ?? null }));`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    env: { PATH: process.env.PATH, ...functionEnvironment("get-payment"), ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, "close")) as [number | null];
  return { stdout, stderr, code };
}

const reads = (stderr: string, outcome: string): number =>
  stderr.split("\n").filter((line) => line.includes("reading cache from") && line.includes(outcome))
    .length;

let root: string;
let task: string;
let manifest: CacheManifest;
let modules: string[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "payment-service-cc-"));
  const dist = join(root, "dist");
  await bundleFunction("get-payment", dist);
  task = join(root, "var", "task");
  mkdirSync(task, { recursive: true });
  const built = join(dist, "functions", "get-payment");
  for (const file of readdirSync(built).filter((f) => f.endsWith(".mjs"))) {
    writeFileSync(join(task, file), readFileSync(join(built, file)));
  }
  modules = readdirSync(task).filter((f) => f.endsWith(".mjs"));
  manifest = addCompileCache(task, [process.execPath]);
}, scaled(60_000));

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("compile cache in the package", () => {
  it("moves SST's entry to main.mjs, puts the wrapper in its place, and ships one cache per chunk", () => {
    expect(manifest).toEqual({
      node: process.versions.node,
      arch: process.arch,
      tag: expect.stringMatching(
        new RegExp(`^v${process.versions.node}-${process.arch}-[0-9a-f]+$`),
      ),
    });
    expect(readFileSync(join(task, ENTRY), "utf8")).toBe(wrapperSource(manifest));
    expect(existsSync(join(task, MAIN))).toBe(true);
    const shipped = join(task, CACHE_DIR, manifest.tag);
    const files = readdirSync(shipped);
    // Every chunk, also those only a dynamic import loads (the Stripe SDK here).
    expect(files.length).toBe(modules.length);
    for (const file of files) {
      // Readable by a user that does not own them (Lambda's); Node writes them 0600.
      expect(statSync(join(shipped, file)).mode & 0o777).toBe(0o644);
    }
  });

  it(
    "is read at init through a link in the writable directory: every module loaded hits",
    async () => {
      const run = await importPackage(task, {
        LAMBDA_TASK_ROOT: task,
        NODE_DEBUG_NATIVE: "COMPILE_CACHE",
      });
      expect(run.code, run.stderr).toBe(0);
      // Node's directory is named by the running uid; the package's is not.
      const link = join(
        root,
        "tmp",
        "node-compile-cache",
        `${manifest.tag}-${process.getuid?.() ?? ""}`,
      );
      expect(JSON.parse(run.stdout)).toEqual({ handler: "function", cacheDir: link });
      expect(readlinkSync(link)).toBe(join(task, CACHE_DIR, manifest.tag));
      // main.mjs and the chunks it imports statically (the lazy ones are not loaded at init).
      expect(reads(run.stderr, "success")).toBeGreaterThanOrEqual(5);
      expect(run.stderr).not.toMatch(/rejected|mismatch|failed/);
      expect(run.stderr).not.toContain("compile cache not used");
      // A second init in the same sandbox finds its link there and uses it.
      const again = await importPackage(task, {
        LAMBDA_TASK_ROOT: task,
        NODE_DEBUG_NATIVE: "COMPILE_CACHE",
      });
      expect(again.code, again.stderr).toBe(0);
      expect(reads(again.stderr, "success")).toBe(reads(run.stderr, "success"));
    },
    scaled(30_000),
  );

  it(
    "made by another Node, it is not used: one warning, and the handler loads the same",
    async () => {
      const other = mkdtempSync(join(root, "other-"));
      const otherTask = join(other, "var", "task");
      mkdirSync(otherTask, { recursive: true });
      for (const file of readdirSync(task).filter((f) => f.endsWith(".mjs"))) {
        writeFileSync(join(otherTask, file), readFileSync(join(task, file)));
      }
      writeFileSync(join(otherTask, ENTRY), wrapperSource({ ...manifest, node: "24.0.1" }));
      const run = await importPackage(otherTask, {
        LAMBDA_TASK_ROOT: otherTask,
        NODE_DEBUG_NATIVE: "COMPILE_CACHE",
      });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ handler: "function", cacheDir: null });
      expect(run.stderr).toContain(
        `compile cache not used: made by Node 24.0.1 ${process.arch}, this is ${process.versions.node}`,
      );
      expect(reads(run.stderr, "")).toBe(0);
    },
    scaled(30_000),
  );

  it(
    "outside Lambda (no LAMBDA_TASK_ROOT) it does nothing",
    async () => {
      const run = await importPackage(task, { NODE_DEBUG_NATIVE: "COMPILE_CACHE" });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ handler: "function", cacheDir: null });
      expect(run.stderr).toBe("");
    },
    scaled(30_000),
  );

  it("refuses a package that already has the wrapper, and leaves a package alone when the Node fails", () => {
    expect(() => addCompileCache(task, [process.execPath])).toThrow(
      /already the compile-cache wrapper/,
    );
    const bare = mkdtempSync(join(root, "bare-"));
    writeFileSync(join(bare, ENTRY), "export const handler = async () => 1;\n");
    expect(() => addCompileCache(bare, ["/bin/false"])).toThrow(/generation failed/);
    expect(readdirSync(bare)).toEqual([ENTRY]);
    expect(readFileSync(join(bare, ENTRY), "utf8")).toBe("export const handler = async () => 1;\n");
  });

  it("finds this Node for its own version and architecture; LAMBDA_NODE_VERSION overrides the pinned one", () => {
    expect(targetNode(ROOT, process.versions.node, process.arch)).toEqual([process.execPath]);
    expect(lambdaNodeVersion(ROOT, { LAMBDA_NODE_VERSION: "v24.11.1" })).toBe("24.11.1");
    const pinned = JSON.parse(
      readFileSync(join(ROOT, "node_modules", "node", "package.json"), "utf8"),
    ) as {
      version: string;
    };
    expect(lambdaNodeVersion(ROOT, {})).toBe(pinned.version);
  });
});
