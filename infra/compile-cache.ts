/**
 * A V8 compile cache shipped in each function's package (SST `hook.postbuild`, infra/functions.ts).
 *
 * Node 24 can keep the code V8 compiles for each module (`module.enableCompileCache`); a cold
 * start that finds it skips compiling what it loads: 14-17 % of create-intent's and
 * get-payment's import CPU on the development machine (`npm run bench` measures it). Lambda's
 * layout decides how:
 * - `/var/task` (the package) is read-only, and Node enables a cache only in a directory it can
 *   create, so at init the wrapper links `/tmp/node-compile-cache/<tag>-<uid>` to the package's
 *   `compile-cache/<tag>` (a symlink: no copy). Reading through it works; Node writes nothing
 *   back, because every module it loads hits.
 * - Node names the cache directory `v<node>-<arch>-<V8 hash>-<uid>`: the uid of the process. The
 *   build's uid is not Lambda's, so the package holds the directory without it and the wrapper
 *   adds its own.
 * - With `portable: true` the cache keys each module by its path relative to the cache
 *   directory, so the cache is generated in a build root laid out like Lambda (`var/task` for the
 *   package, `tmp/node-compile-cache` for the cache): `../../../var/task/main.mjs` either way.
 * - V8 rejects a cache made by another architecture (an x64-made cache on arm64: every module
 *   "rejected", tried under qemu) or another Node version, so it is made by the Node that
 *   Lambda runs: `LAMBDA_NODE_VERSION` (default: the project's pinned Node, package.json) and
 *   the function's architecture. On another architecture than the deploy machine's, that Node
 *   runs under qemu-user (`qemu-aarch64-static`, with `/usr/aarch64-linux-gnu` as its sysroot
 *   when present); the Node binary itself comes from the npm registry (`node-linux-<arch>`).
 * If no such Node can run, the function is deployed without the cache (a warning says why): it
 * works the same, only its cold start compiles everything. At init the wrapper compares its
 * Node with the one that made the cache and, on a mismatch, uses no cache and logs one warning
 * (Lambda's runtime version moves with AWS's updates: set LAMBDA_NODE_VERSION to the version in
 * that warning and deploy again).
 *
 * The cache holds what V8 compiles before a module runs (its top-level code; functions are
 * compiled when first called), for every chunk of the package: those a cold start loads and
 * those loaded later by a dynamic import (the Stripe SDK where it is lazy, the X-Ray emitter).
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The handler file SST points Lambda at (`bundle.handler`): the wrapper takes its place. */
export const ENTRY = "bundle.mjs";
/** Where SST's entry goes, imported by the wrapper. */
export const MAIN = "main.mjs";
/** The cache in the package, one directory named by its tag without the uid. */
export const CACHE_DIR = "compile-cache";
/** Where the wrapper links the cache at init, relative to the package (`/var/task` -> `/tmp/…`). */
export const RUNTIME_CACHE_FROM_TASK_ROOT = "../../tmp/node-compile-cache";
const MARKER = "// compile-cache wrapper (infra/compile-cache.ts)";

export interface CacheManifest {
  /** `process.versions.node` of the Node that made the cache, e.g. `24.21.0`. */
  readonly node: string;
  /** `process.arch` of it: `arm64` or `x64`. */
  readonly arch: string;
  /** Node's cache directory name without the uid: `v24.21.0-arm64-964aae3f`. */
  readonly tag: string;
}

/** A command that runs a Node: the binary, after an emulator and its options if any. */
export type NodeCommand = readonly [string, ...string[]];

/**
 * The wrapper that becomes `bundle.mjs`: with the cache's Node and a task root (Lambda sets
 * `LAMBDA_TASK_ROOT`), it links and enables the cache, then imports SST's entry. No static
 * import: an ES import of a builtin costs a cold start more than `process.getBuiltinModule`.
 */
export function wrapperSource(manifest: CacheManifest): string {
  return `${MARKER}
const built = ${JSON.stringify(manifest)};
const root = process.env.LAMBDA_TASK_ROOT;
if (root !== undefined && root !== "") {
  if (process.versions.node === built.node && process.arch === built.arch) {
    try {
      const fs = process.getBuiltinModule("node:fs");
      const path = process.getBuiltinModule("node:path");
      const dir = path.resolve(root, ${JSON.stringify(RUNTIME_CACHE_FROM_TASK_ROOT)});
      const shipped = path.join(root, ${JSON.stringify(CACHE_DIR)}, built.tag);
      const link = path.join(dir, built.tag + "-" + process.getuid());
      fs.mkdirSync(dir, { recursive: true });
      try {
        fs.symlinkSync(shipped, link, "dir");
      } catch (error) {
        if (error.code !== "EEXIST" || fs.readlinkSync(link) !== shipped) throw error;
      }
      process.getBuiltinModule("node:module").enableCompileCache({ directory: dir, portable: true });
    } catch (error) {
      console.warn("compile cache not used: " + error.message);
    }
  } else {
    console.warn("compile cache not used: made by Node " + built.node + " " + built.arch + ", this is " + process.versions.node + " " + process.arch + " (set LAMBDA_NODE_VERSION to it and deploy again)");
  }
}
export const { handler } = await import("./${MAIN}");
`;
}

/** The generator, run by the target Node in the build root: caches every chunk of the package. */
const GENERATOR = `
const { enableCompileCache, flushCompileCache } = await import("node:module");
const { readdirSync } = await import("node:fs");
const { join } = await import("node:path");
const { pathToFileURL } = await import("node:url");
const [cache, task] = process.argv.slice(2);
const enabled = enableCompileCache({ directory: cache, portable: true });
if (enabled.directory === undefined) throw new Error("compile cache not enabled: " + enabled.message);
const files = readdirSync(task).filter((f) => f.endsWith(".mjs")).sort((a, b) => (a === "${MAIN}" ? -1 : b === "${MAIN}" ? 1 : a.localeCompare(b)));
for (const file of files) {
  // Linking compiles a module and all it imports; running it may throw (no configuration here): that is fine.
  await import(pathToFileURL(join(task, file)).href).catch(() => undefined);
}
flushCompileCache();
// Then exit: a module that left a timer or a socket open must not keep the build waiting.
process.stdout.write(JSON.stringify({ node: process.versions.node, arch: process.arch }) + "\\n", () => process.exit(0));
`;

function run(command: NodeCommand, args: readonly string[], env?: NodeJS.ProcessEnv) {
  const [bin, ...pre] = command;
  return spawnSync(bin, [...pre, ...args], { encoding: "utf8", env, timeout: 120_000 });
}

/** `node` and `arch` of a command, or undefined when it does not run. */
export function nodeOf(command: NodeCommand): { node: string; arch: string } | undefined {
  const result = run(command, ["-p", "process.versions.node + ' ' + process.arch"]);
  if (result.status !== 0) return undefined;
  const [node, arch] = result.stdout.trim().split(" ");
  return node === undefined || arch === undefined ? undefined : { node, arch };
}

/**
 * Generates the cache for the package in `dir` with `command` (which must be the target Node)
 * and installs the wrapper: `bundle.mjs` moves to `main.mjs`. Throws if the Node fails.
 */
export function addCompileCache(dir: string, command: NodeCommand): CacheManifest {
  const entry = join(dir, ENTRY);
  if (readFileSync(entry, "utf8").startsWith(MARKER)) {
    throw new Error(`${entry} is already the compile-cache wrapper`);
  }
  const root = mkdtempSync(join(tmpdir(), "compile-cache-"));
  try {
    const task = join(root, "var", "task");
    const cache = join(root, "tmp", "node-compile-cache");
    mkdirSync(task, { recursive: true });
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".mjs"))) {
      cpSync(join(dir, file), join(task, file === ENTRY ? MAIN : file));
    }
    const generator = join(root, "generate.mjs");
    writeFileSync(generator, GENERATOR);
    // No configuration: the modules are compiled when linked, before any of them runs.
    const result = run(command, [generator, cache, task], { PATH: process.env.PATH ?? "" });
    if (result.status !== 0) {
      throw new Error(`compile cache generation failed: ${result.stderr || result.error?.message}`);
    }
    const made = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}") as {
      node?: string;
      arch?: string;
    };
    // Node's directory for this version, architecture and uid: `v24.21.0-x64-964aae3f-0`.
    const named = existsSync(cache) ? readdirSync(cache) : [];
    const tag = named.length === 1 ? named[0]?.replace(/-\d+$/, "") : undefined;
    if (
      tag === undefined ||
      tag === named[0] ||
      made.node === undefined ||
      made.arch === undefined
    ) {
      throw new Error(
        `compile cache generation made ${JSON.stringify(named)}, printed ${result.stdout}`,
      );
    }
    const shipped = join(dir, CACHE_DIR, tag);
    rmSync(join(dir, CACHE_DIR), { recursive: true, force: true });
    mkdirSync(join(dir, CACHE_DIR), { recursive: true });
    cpSync(join(cache, named[0] ?? ""), shipped, { recursive: true });
    // Node writes its cache files 0600; Lambda's user is not the owner.
    chmodSync(join(dir, CACHE_DIR), 0o755);
    chmodSync(shipped, 0o755);
    for (const file of readdirSync(shipped)) chmodSync(join(shipped, file), 0o644);
    const manifest: CacheManifest = { node: made.node, arch: made.arch, tag };
    const wrapper = join(dir, `${ENTRY}.wrapper`);
    writeFileSync(wrapper, wrapperSource(manifest));
    renameSync(entry, join(dir, MAIN));
    renameSync(wrapper, entry);
    return manifest;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** `qemu-<arch>-static` or `qemu-<arch>` on the PATH, with an arm64 sysroot when there is one. */
function emulator(arch: string): NodeCommand | undefined {
  const qemuArch = arch === "arm64" ? "aarch64" : arch === "x64" ? "x86_64" : arch;
  const sysroot = arch === "arm64" ? "/usr/aarch64-linux-gnu" : `/usr/${qemuArch}-linux-gnu`;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    for (const name of [`qemu-${qemuArch}-static`, `qemu-${qemuArch}`]) {
      const bin = join(dir, name);
      if (existsSync(bin)) return existsSync(sysroot) ? [bin, "-L", sysroot] : [bin];
    }
  }
  return undefined;
}

/** `node-linux-<arch>@<version>` from the npm registry, unpacked under `.local/node/`. */
function downloadedNode(projectRoot: string, version: string, arch: string): string | undefined {
  const name = `node-linux-${arch}`;
  const home = join(projectRoot, ".local", "node", `${name}-${version}`);
  const bin = join(home, "package", "bin", "node");
  if (existsSync(bin)) return bin;
  mkdirSync(home, { recursive: true });
  const pack = spawnSync(
    "npm",
    ["pack", `${name}@${version}`, "--silent", "--pack-destination", home],
    {
      encoding: "utf8",
      timeout: 300_000,
    },
  );
  const tarball = pack.stdout?.trim().split("\n").at(-1);
  if (pack.status !== 0 || tarball === undefined || tarball === "") return undefined;
  const untar = spawnSync("tar", ["xzf", join(home, tarball), "-C", home]);
  rmSync(join(home, tarball), { force: true });
  return untar.status === 0 && existsSync(bin) ? bin : undefined;
}

/**
 * A command that runs exactly Node `version` on `arch`: this process's Node or the project's
 * pinned one if they are it, else one from the npm registry, natively or under qemu-user.
 * A string says why there is none.
 */
export function targetNode(
  projectRoot: string,
  version: string,
  arch: string,
): NodeCommand | string {
  const host: NodeCommand[] = [
    [process.execPath],
    [join(projectRoot, "node_modules", "node", "bin", "node")],
  ];
  for (const command of host) {
    const found = nodeOf(command);
    if (found?.node === version && found.arch === arch) return command;
  }
  if (process.platform !== "linux")
    return `no Node ${version} ${arch} here (only Linux builds fetch one)`;
  const bin = downloadedNode(projectRoot, version, arch);
  if (bin === undefined)
    return `could not fetch node-linux-${arch}@${version} from the npm registry`;
  if (process.arch === arch) return nodeOf([bin]) === undefined ? `${bin} does not run` : [bin];
  const qemu = emulator(arch);
  if (qemu === undefined)
    return `Node for ${arch} needs qemu-user on this ${process.arch} machine (qemu-user-static)`;
  const command: NodeCommand = [...qemu, bin];
  return nodeOf(command) === undefined ? `${command.join(" ")} does not run` : command;
}

/** The Node version Lambda runs: LAMBDA_NODE_VERSION, else the project's pinned `node` package. */
export function lambdaNodeVersion(
  projectRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const set = env.LAMBDA_NODE_VERSION;
  if (set !== undefined && set !== "") return set.replace(/^v/, "");
  const pinned = JSON.parse(
    readFileSync(join(projectRoot, "node_modules", "node", "package.json"), "utf8"),
  ) as {
    version: string;
  };
  return pinned.version;
}

/** The Node found per architecture and version, once per deploy (every function asks). */
const found = new Map<string, NodeCommand | string>();

/**
 * SST's `hook.postbuild` for a function of `arch` (`arm64` or `x86_64`): adds the cache, or
 * leaves the package as SST built it and says why. Synchronous inside: packages are done one
 * at a time, so two functions never fetch the same Node at once.
 */
export function compileCacheHook(arch: "arm64" | "x86_64", projectRoot = process.cwd()) {
  const nodeArch = arch === "x86_64" ? "x64" : "arm64";
  return async (dir: string): Promise<void> => {
    const version = lambdaNodeVersion(projectRoot);
    const key = `${nodeArch}-${version}`;
    const command = found.get(key) ?? targetNode(projectRoot, version, nodeArch);
    found.set(key, command);
    if (typeof command === "string") {
      console.warn(`compile cache skipped for ${dir}: ${command}`);
      return;
    }
    try {
      addCompileCache(dir, command);
    } catch (error) {
      console.warn(
        `compile cache skipped for ${dir}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };
}
