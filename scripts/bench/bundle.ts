/**
 * Bundling the deployed functions exactly as the SST app does (`sst deploy`, `nodejs` options of
 * infra/functions.ts: format esm, minify, sourcemap, splitting).
 *
 * SST's own esbuild call lives in its Go CLI (sst/sst `pkg/runtime/node/build.go`, in the
 * `sst-linux-x64` binary; `.sst/platform/src` only forwards `nodejs` to it). With our options it
 * amounts to:
 *   platform node, format esm, target esnext, bundle, keepNames, mainFields [module, main],
 *   minify (whitespace + syntax + identifiers), sourcemap linked, external only
 *   `sharp` and `pg-native`, and a banner defining `require`, `__filename`, `__dirname`; with
 *   `splitting`, an outdir with the entry named `bundle` and `.mjs` files.
 * Splitting puts every dynamically imported module in a chunk of its own that loads only when
 * imported: the AWS SDK's credential providers other than the environment's (SSO, STS, INI,
 * ...), which never run in Lambda, and the X-Ray Tracer while tracing is off (lib/tracing.ts).
 * Without it they are parsed at every cold start; `npm run bench` measures the difference.
 * Nothing else is external: the AWS SDK v3 is BUNDLED (SST does not rely on the copy in the
 * Lambda runtime), so we bundle it too. The `.map` is written next to the bundle, but SST leaves
 * it out of the zip it deploys and uploads it to its bootstrap bucket instead
 * (`.sst/platform/src/components/aws/function.ts`, `ignore: sourcemaps`).
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Metafile } from "esbuild";
import lambdaPlugins from "../../infra/esbuild-plugins.mjs";
import { routes } from "../../infra/routes.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DIST = join(ROOT, "dist");

/** The functions the SST app deploys: the routes (infra/api.ts), events and jobs. */
export const EVENT_AND_JOB_FUNCTIONS = [
  "publish-outbox", // infra/events.ts, the outbox stream
  "order-placed", // infra/events.ts, the MSK mapping
  "reconcile", // infra/jobs.ts
  "sweep-outbox", // infra/jobs.ts
] as const;

export function deployedFunctions(): string[] {
  return [...new Set([...routes.map((r) => r.handler), ...EVENT_AND_JOB_FUNCTIONS])];
}

/** Fails when functions/ and the deployed list disagree (a new handler nobody bundles, say). */
export async function checkFunctionList(names: readonly string[]): Promise<void> {
  const files = (await readdir(join(ROOT, "functions")))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.slice(0, -3));
  const notDeployed = files.filter((f) => !names.includes(f));
  const missing = names.filter((n) => !files.includes(n));
  if (notDeployed.length > 0 || missing.length > 0) {
    throw new Error(
      `functions/ and the deployed functions differ: not deployed ${JSON.stringify(notDeployed)}, ` +
        `no file ${JSON.stringify(missing)} (update EVENT_AND_JOB_FUNCTIONS in scripts/bench/bundle.ts)`,
    );
  }
}

/** SST's banner for ESM (build.go), with no `nodejs.banner` of our own. */
export const SST_ESM_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
  "",
].join("\n");

/** What SST passes to esbuild for infra/functions.ts's `nodejs` options. */
export function sstBuildOptions(): BuildOptions {
  return {
    platform: "node",
    format: "esm",
    // SST's choice (build.go), not node24: for this code the two differ by under 10 bytes.
    target: "esnext",
    bundle: true,
    keepNames: true,
    mainFields: ["module", "main"],
    minify: true,
    sourcemap: "linked",
    splitting: true,
    outExtension: { ".js": ".mjs" },
    entryNames: "bundle",
    external: ["sharp", "pg-native"],
    banner: { js: SST_ESM_BANNER },
    // `nodejs.plugins` of infra/functions.ts: the same file.
    plugins: [...lambdaPlugins],
    metafile: true,
    logLevel: "silent",
    absWorkingDir: ROOT,
  };
}

export interface PackageShare {
  /** `stripe`, `@aws-sdk/client-dynamodb`, or `(app)` for our own code. */
  readonly name: string;
  readonly bytes: number;
}

export interface BundleResult {
  readonly name: string;
  /** The entry, `<outdir>/bundle.mjs` (Lambda's handler `bundle.handler`). */
  readonly outfile: string;
  /** Bytes a cold start loads: the entry and the chunks it imports statically (no maps). */
  readonly bytes: number;
  /** Bytes of every .mjs file deployed: also the chunks only a dynamic import loads. */
  readonly deployedBytes: number;
  readonly mapBytes: number;
  /** Bytes loaded at cold start per package (esbuild's bytesInOutput), biggest first. */
  readonly packages: readonly PackageShare[];
  /** Whether the Stripe SDK loads at cold start (lazily loaded chunks do not count). */
  readonly usesStripe: boolean;
  /**
   * Whether esbuild emitted its `__require` shim: CommonJS code in the bundle calls `require`,
   * which in ESM exists only thanks to the banner (without it: "Dynamic require of ... is not
   * supported" at import).
   */
  readonly needsRequire: boolean;
  /** esbuild's warnings, as text (SST logs them and goes on). */
  readonly warnings: readonly string[];
  readonly metafile: Metafile;
}

/** `node_modules/@scope/pkg/...` -> `@scope/pkg`; our own files -> `(app)`. */
export function packageOf(input: string): string {
  const at = input.lastIndexOf("node_modules/");
  if (at < 0) return "(app)";
  const parts = input.slice(at + "node_modules/".length).split("/");
  const [first = "?", second = "?"] = parts;
  return first.startsWith("@") ? `${first}/${second}` : first;
}

/** The entry's output key and every chunk it imports statically, transitively. */
function loadedAtInit(metafile: Metafile, entryKey: string): Set<string> {
  const seen = new Set<string>();
  const visit = (key: string): void => {
    const output = metafile.outputs[key];
    if (seen.has(key) || output === undefined) return;
    seen.add(key);
    for (const imported of output.imports) {
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path);
    }
  };
  visit(entryKey);
  return seen;
}

function packageShares(metafile: Metafile, keys: ReadonlySet<string>): PackageShare[] {
  const totals = new Map<string, number>();
  for (const key of keys) {
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[key]?.inputs ?? {})) {
      const name = packageOf(input);
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...totals.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes);
}

/**
 * Bundles `entry` (a file, or `{ contents }` resolved from the repository root) to
 * `<outdir>/bundle.mjs` and its chunks with SST's options (the directory is emptied first, so no
 * stale chunk is counted); writes `meta.json` (esbuild's metafile) next to it.
 */
export async function bundle(
  name: string,
  entry: string | { readonly contents: string },
  outdir: string,
  /** Options that differ from SST's, for a measured comparison (e.g. `{ splitting: false }`). */
  overrides: Pick<BuildOptions, "splitting"> = {},
): Promise<BundleResult> {
  const outfile = join(outdir, "bundle.mjs");
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    ...sstBuildOptions(),
    ...overrides,
    ...(typeof entry === "string"
      ? { entryPoints: [entry] }
      : {
          stdin: {
            contents: entry.contents,
            resolveDir: ROOT,
            sourcefile: `${name}.ts`,
            loader: "ts",
          },
        }),
    outdir,
  });
  const metafile = result.metafile;
  if (metafile === undefined) throw new Error(`esbuild gave no metafile for ${name}`);
  await writeFile(join(outdir, "meta.json"), JSON.stringify(metafile));
  const entryKey = relative(ROOT, outfile).split("\\").join("/");
  const loaded = loadedAtInit(metafile, entryKey);
  const files = (await readdir(outdir)).filter((f) => f.endsWith(".mjs") || f.endsWith(".map"));
  let deployedBytes = 0;
  let mapBytes = 0;
  let needsRequire = false;
  for (const file of files) {
    const path = join(outdir, file);
    if (file.endsWith(".map")) {
      mapBytes += (await stat(path)).size;
      continue;
    }
    const code = await readFile(path, "utf8");
    deployedBytes += Buffer.byteLength(code);
    needsRequire ||= code.includes('Dynamic require of "');
  }
  const bytes = [...loaded].reduce((sum, key) => sum + (metafile.outputs[key]?.bytes ?? 0), 0);
  const packages = packageShares(metafile, loaded);
  return {
    name,
    outfile,
    bytes,
    deployedBytes,
    mapBytes,
    packages,
    usesStripe: packages.some((p) => p.name === "stripe"),
    needsRequire,
    warnings: result.warnings.map((w) => `${w.location?.file ?? name}: ${w.text}`),
    metafile,
  };
}

/** Bundles one deployed function to dist/functions/<name>/bundle.mjs (+ chunks). */
export function bundleFunction(name: string, dist = DIST): Promise<BundleResult> {
  return bundle(name, join(ROOT, "functions", `${name}.ts`), join(dist, "functions", name));
}

export const relativeToRoot = (file: string): string => relative(ROOT, file);
