/**
 * The build (scripts/build.ts) on one function: bundled with SST's options (splitting included),
 * the bundle loads in a fresh Node 24 process with its deployed environment and exports `handler`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OnResolveArgs, OnResolveResult, PluginBuild } from "esbuild";
import { describe, expect, it } from "vitest";
import plugins from "../../infra/esbuild-plugins.mjs";
import { bundleFunction, deployedFunctions } from "../../scripts/bench/bundle.js";
import { functionEnvironment } from "../../scripts/bench/env.js";
import { probeImport } from "../../scripts/bench/probe.js";

describe("build", () => {
  it("bundles every handler file of the SST app", () => {
    expect(deployedFunctions()).toEqual(
      expect.arrayContaining(["create-intent", "stripe-webhook", "publish-outbox", "reconcile"]),
    );
  });

  it("bundles get-payment as SST does, and the bundle loads with a handler", async () => {
    const dist = await mkdtemp(join(tmpdir(), "payment-service-build-"));
    try {
      const result = await bundleFunction("get-payment", dist);
      expect(result.bytes).toBeGreaterThan(0);
      expect(result.mapBytes).toBeGreaterThan(0);
      expect(result.usesStripe).toBe(true);
      const atInit = result.packages.map((p) => p.name);
      expect(atInit).toContain("@aws-sdk/client-dynamodb");
      // Splitting: the Tracer (tracing off) and the SDK's SSO/STS credential providers are
      // deployed in chunks of their own that a cold start does not load.
      expect(atInit).not.toContain("aws-xray-sdk-core");
      expect(atInit).not.toContain("@aws-lambda-powertools/tracer");
      expect(atInit).not.toContain("@aws-sdk/credential-provider-sso");
      expect(result.deployedBytes).toBeGreaterThan(result.bytes + 100 * 1024);
      const loaded = await probeImport(result.outfile, functionEnvironment("get-payment"));
      expect(loaded.handler).toBe("function");
      // Builtins load as CommonJS (infra/esbuild-plugins.mjs): an ES import of node:http would
      // have loaded undici through its lazy WebSocket getters.
      expect(loaded.undiciLoaded).toBe(false);
      expect(Number(loaded.node.split(".")[0])).toBeGreaterThanOrEqual(24);
    } finally {
      await rm(dist, { recursive: true, force: true });
    }
  }, 30_000);

  it("the builtins plugin works through SST's plugin bridge (onResolve only, Go-style args)", () => {
    // SST runs `nodejs.plugins` in a Node process with a stub build API and passes esbuild's
    // Go-side arguments, so the path may arrive as `Path`.
    const callbacks: Array<(args: Partial<OnResolveArgs> & { Path?: string }) => unknown> = [];
    const stub: Pick<PluginBuild, "onResolve"> = {
      onResolve: (_options, callback) => {
        callbacks.push((args) => callback({ ...emptyArgs, ...args }));
      },
    };
    for (const plugin of plugins) plugin.setup(stubBuild(stub));
    expect(callbacks).toHaveLength(1);
    const resolve = (args: Partial<OnResolveArgs> & { Path?: string }) =>
      callbacks[0]?.(args) as OnResolveResult | undefined;

    const http = resolve({ path: "node:http" })?.path ?? "";
    expect(resolve({ path: "http" })?.path).toBe(http);
    expect(resolve({ path: "", Path: "node:http" })?.path).toBe(http);
    expect(resolve({ path: "stripe" })).toBeUndefined();
    expect(resolve({ path: "fs/promises" })?.path).toMatch(/fs__promises\.cjs$/);
    // The file it points to exports the builtin itself.
    const require = createRequire(import.meta.url);
    expect(require(http)).toBe(process.getBuiltinModule("node:http"));
  });
});

const emptyArgs: OnResolveArgs = {
  path: "",
  importer: "",
  namespace: "file",
  resolveDir: "",
  kind: "import-statement",
  pluginData: undefined,
  with: {},
};

/** The stub as a PluginBuild: only onResolve exists, as in SST's bridge. */
function stubBuild(stub: Pick<PluginBuild, "onResolve">): PluginBuild {
  return new Proxy(stub, {
    get(target, key) {
      if (key === "onResolve") return target.onResolve;
      throw new Error(`SST's plugin bridge has no build.${String(key)}`);
    },
  }) as PluginBuild;
}
