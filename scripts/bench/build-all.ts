/**
 * Bundles every deployed function (scripts/bench/bundle.ts) and checks that each bundle loads in
 * Node 24 with the environment it is deployed with and exports a `handler` function.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { version as esbuildVersion } from "esbuild";
import {
  type BundleResult,
  bundleFunction,
  checkFunctionList,
  DIST,
  deployedFunctions,
  type PackageShare,
  relativeToRoot,
  sstBuildOptions,
} from "./bundle.js";
import { functionEnvironment } from "./env.js";
import { probeImport } from "./probe.js";

export interface BuiltFunction {
  readonly name: string;
  readonly outfile: string;
  /** Loaded at cold start: the entry and its static chunks. */
  readonly bytes: number;
  /** Every .mjs file deployed, lazily loaded chunks included. */
  readonly deployedBytes: number;
  readonly mapBytes: number;
  readonly usesStripe: boolean;
  readonly needsRequire: boolean;
  readonly warnings: readonly string[];
  /** Node version the load check ran on. */
  readonly loadedOn: string;
  readonly topPackages: readonly PackageShare[];
}

export interface BuildReport {
  readonly esbuild: string;
  readonly options: Record<string, unknown>;
  readonly functions: readonly BuiltFunction[];
}

export async function buildAll(
  options: { readonly log?: (line: string) => void } = {},
): Promise<BuildReport> {
  const log = options.log ?? (() => {});
  const names = deployedFunctions();
  await checkFunctionList(names);
  const bundles: BundleResult[] = await Promise.all(names.map((name) => bundleFunction(name)));
  const functions: BuiltFunction[] = [];
  for (const b of bundles) {
    const loaded = await probeImport(b.outfile, functionEnvironment(b.name));
    if (loaded.handler !== "function") {
      throw new Error(`${relativeToRoot(b.outfile)} loads but exports no handler function`);
    }
    log(
      `built ${b.name}: ${b.bytes} bytes at init (${b.deployedBytes} deployed), Node ${loaded.node}`,
    );
    functions.push({
      name: b.name,
      outfile: relativeToRoot(b.outfile),
      bytes: b.bytes,
      deployedBytes: b.deployedBytes,
      mapBytes: b.mapBytes,
      usesStripe: b.usesStripe,
      needsRequire: b.needsRequire,
      warnings: b.warnings,
      loadedOn: loaded.node,
      topPackages: b.packages.slice(0, 8),
    });
  }
  const { absWorkingDir: _cwd, banner: _banner, plugins, ...shown } = sstBuildOptions();
  const report: BuildReport = {
    esbuild: esbuildVersion,
    options: {
      ...shown,
      banner: "SST's createRequire / __filename / __dirname banner",
      plugins: (plugins ?? []).map((p) => p.name),
    },
    functions,
  };
  await writeFile(join(DIST, "build-report.json"), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
