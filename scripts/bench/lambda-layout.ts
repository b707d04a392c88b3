/**
 * A bundle laid out as Lambda runs it, with the compile cache the deploy adds to each package
 * (infra/compile-cache.ts, SST's postbuild hook): `<root>/var/task` holds the package (wrapper,
 * `main.mjs`, chunks, `compile-cache/`), `<root>/tmp` stands for Lambda's writable `/tmp`. A
 * probe imports `<root>/var/task/bundle.mjs` with `LAMBDA_TASK_ROOT` set, as Lambda's runtime
 * does. The cache is made by the bench's own Node (this machine's architecture); deployed, it is
 * made by Lambda's Node and architecture.
 */
import { copyFile, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  addCompileCache,
  CACHE_DIR,
  type CacheManifest,
  ENTRY,
  wrapperSource,
} from "../../infra/compile-cache.js";
import { DIST } from "./bundle.js";

export interface LambdaPackage {
  /** `<root>/var/task/bundle.mjs`: the wrapper. */
  readonly file: string;
  /** What Lambda sets: the package's directory. */
  readonly env: { readonly LAMBDA_TASK_ROOT: string };
  readonly manifest: CacheManifest;
  /** Bytes of the shipped cache. */
  readonly cacheBytes: number;
}

/** Empties `to` and copies the `.mjs` files of `from` into it (what SST zips: no maps). */
export async function copyModules(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await mkdir(to, { recursive: true });
  for (const file of await readdir(from)) {
    if (file.endsWith(".mjs")) await copyFile(join(from, file), join(to, file));
  }
}

/** The bundle in `bundleDir` (SST's output: bundle.mjs + chunks) as a package with its cache. */
export async function lambdaPackage(
  name: string,
  bundleDir: string,
  node: string,
): Promise<LambdaPackage> {
  const task = join(DIST, "bench", "lambda", name, "var", "task");
  await rm(join(DIST, "bench", "lambda", name), { recursive: true, force: true });
  await copyModules(bundleDir, task);
  const manifest = addCompileCache(task, [node]);
  const cacheDir = join(task, CACHE_DIR, manifest.tag);
  let cacheBytes = 0;
  for (const file of await readdir(cacheDir)) cacheBytes += (await stat(join(cacheDir, file))).size;
  return { file: join(task, ENTRY), env: { LAMBDA_TASK_ROOT: task }, manifest, cacheBytes };
}

/** A copy of `pkg` whose wrapper says another Node made the cache: a miss, as after a runtime update. */
export async function mismatchedPackage(name: string, pkg: LambdaPackage): Promise<LambdaPackage> {
  const task = join(DIST, "bench", "lambda", name, "var", "task");
  await rm(join(DIST, "bench", "lambda", name), { recursive: true, force: true });
  await copyModules(pkg.env.LAMBDA_TASK_ROOT, task);
  const manifest = { ...pkg.manifest, node: "24.0.0" };
  await writeFile(join(task, ENTRY), wrapperSource(manifest));
  return { file: join(task, ENTRY), env: { LAMBDA_TASK_ROOT: task }, manifest, cacheBytes: 0 };
}
