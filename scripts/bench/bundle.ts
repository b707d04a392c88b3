/**
 * Bundling the deployed functions exactly as the SST app does (`sst deploy`, `nodejs` options of
 * infra/functions.ts: format esm, minify, sourcemap).
 *
 * SST's own esbuild call lives in its Go CLI (sst/sst `pkg/runtime/node/build.go`, in the
 * `sst-linux-x64` binary; `.sst/platform/src` only forwards `nodejs` to it). With our options it
 * amounts to:
 *   platform node, format esm, target esnext, bundle, keepNames, mainFields [module, main],
 *   minify (whitespace + syntax + identifiers), sourcemap linked, external only
 *   `sharp` and `pg-native`, and a banner defining `require`, `__filename`, `__dirname`.
 * Nothing else is external: the AWS SDK v3 is BUNDLED (SST does not rely on the copy in the
 * Lambda runtime), so we bundle it too. The `.map` is written next to the bundle, but SST leaves
 * it out of the zip it deploys and uploads it to its bootstrap bucket instead
 * (`.sst/platform/src/components/aws/function.ts`, `ignore: sourcemaps`).
 */
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Metafile } from "esbuild";
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

/** What SST passes to esbuild for `{ format: "esm", minify: true, sourcemap: true }`. */
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
    external: ["sharp", "pg-native"],
    banner: { js: SST_ESM_BANNER },
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
  readonly outfile: string;
  readonly bytes: number;
  readonly mapBytes: number;
  /** Bytes of the output per package (esbuild's bytesInOutput), biggest first. */
  readonly packages: readonly PackageShare[];
  /** Whether lib/runtime/stripe.ts is in the bundle (the function builds a Stripe client). */
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

function packageShares(metafile: Metafile, outfileKey: string): PackageShare[] {
  const output = metafile.outputs[outfileKey];
  if (output === undefined) return [];
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = packageOf(input);
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes);
}

/**
 * Bundles `entry` (a file, or `{ contents }` resolved from the repository root) to
 * `<outdir>/index.mjs` with SST's options; writes `meta.json` (esbuild's metafile) next to it.
 */
export async function bundle(
  name: string,
  entry: string | { readonly contents: string },
  outdir: string,
): Promise<BundleResult> {
  const outfile = join(outdir, "index.mjs");
  await mkdir(outdir, { recursive: true });
  const result = await build({
    ...sstBuildOptions(),
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
    outfile,
  });
  const metafile = result.metafile;
  if (metafile === undefined) throw new Error(`esbuild gave no metafile for ${name}`);
  await writeFile(join(outdir, "meta.json"), JSON.stringify(metafile));
  const code = await readFile(outfile, "utf8");
  const outfileKey = relative(ROOT, outfile).split("\\").join("/");
  return {
    name,
    outfile,
    bytes: Buffer.byteLength(code),
    mapBytes: (await stat(`${outfile}.map`)).size,
    packages: packageShares(metafile, outfileKey),
    usesStripe: Object.keys(metafile.inputs).some((i) => i.endsWith("lib/runtime/stripe.ts")),
    needsRequire: code.includes('Dynamic require of "'),
    warnings: result.warnings.map((w) => `${w.location?.file ?? name}: ${w.text}`),
    metafile,
  };
}

/** Bundles one deployed function to dist/functions/<name>/index.mjs. */
export function bundleFunction(name: string, dist = DIST): Promise<BundleResult> {
  return bundle(name, join(ROOT, "functions", `${name}.ts`), join(dist, "functions", name));
}

export const relativeToRoot = (file: string): string => relative(ROOT, file);
