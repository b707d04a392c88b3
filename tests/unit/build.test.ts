/**
 * The build (scripts/build.ts) on one function: bundled with SST's options (splitting included),
 * the bundle loads in a fresh Node 24 process with its deployed environment and exports `handler`.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { bundleFunction, deployedFunctions, ROOT } from "../../scripts/bench/bundle.js";
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
      // A read calls Stripe only for an owner's client secret: the SDK is a chunk of its own.
      expect(result.usesStripe).toBe(false);
      const atInit = result.packages.map((p) => p.name);
      expect(atInit).toContain("@aws-sdk/client-dynamodb");
      expect(atInit).not.toContain("stripe");
      // Splitting: the SDK's SSO/STS credential providers (and the X-Ray emitter, tracing off)
      // are deployed in chunks of their own that a cold start does not load.
      expect(atInit).not.toContain("@aws-sdk/credential-provider-sso");
      const outputs = Object.entries(result.metafile.outputs);
      const xrayChunk = outputs.find(([, output]) => "lib/xray.ts" in output.inputs)?.[0];
      expect(xrayChunk).toBeDefined();
      const importedAs = outputs.flatMap(([, output]) =>
        output.imports.filter((i) => i.path === xrayChunk).map((i) => i.kind),
      );
      expect(new Set(importedAs)).toEqual(new Set(["dynamic-import"]));
      expect(result.deployedBytes).toBeGreaterThan(result.bytes + 350 * 1024);
      const loaded = await probeImport(result.outfile, functionEnvironment("get-payment"));
      expect(loaded.handler).toBe("function");
      // Builtins load as CommonJS (infra/esbuild-plugins.mjs): an ES import of node:http would
      // have loaded undici through its lazy WebSocket getters.
      expect(loaded.undiciLoaded).toBe(false);
      // With tracing on, the emitter's chunk loads at init (top-level await) and works too.
      const traced = await probeImport(result.outfile, {
        ...functionEnvironment("get-payment"),
        POWERTOOLS_TRACE_ENABLED: "true",
      });
      expect(traced.handler).toBe("function");
      expect(traced.undiciLoaded).toBe(false);
      expect(Number(loaded.node.split(".")[0])).toBeGreaterThanOrEqual(24);
    } finally {
      await rm(dist, { recursive: true, force: true });
    }
  }, 30_000);

  it("the builtins plugin works through SST's own plugin bridge", async () => {
    // `sst deploy` runs `nodejs.plugins` files with this script, talking JSON lines over stdio.
    const bridge = join(ROOT, ".sst", "platform", "functions", "nodejs-runtime", "plugin.mjs");
    const child = spawn(process.execPath, [bridge, join(ROOT, "infra", "esbuild-plugins.mjs")], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const replies = new Map<number, unknown>();
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const reply: unknown = JSON.parse(line);
      if (typeof reply === "object" && reply !== null && "id" in reply && "value" in reply) {
        replies.set(Number(reply.id), reply.value);
      }
    });
    const ask = async (id: number, command: string, value: Record<string, unknown>) => {
      child.stdin.write(`${JSON.stringify({ id, command, value })}\n`);
      while (!replies.has(id)) await once(lines, "line");
      return replies.get(id);
    };
    try {
      const resolved = (path: string, id: number) =>
        ask(id, "resolve", { path, importer: "", kind: "import-statement", resolveDir: ROOT });
      const http = await resolved("node:http", 1);
      expect(http).toEqual({
        path: expect.stringMatching(/payment-service-builtin-shims\/http\.cjs$/),
      });
      expect(await resolved("http", 2)).toEqual(http);
      expect(await resolved("fs/promises", 3)).toEqual({
        path: expect.stringMatching(/fs__promises\.cjs$/),
      });
      // Not a builtin: left to esbuild; and loads of our own files are never taken over.
      expect(await resolved("stripe", 4)).toEqual({});
      expect(await resolved("./lib/zod.js", 5)).toEqual({});
      expect(await ask(6, "load", { path: join(ROOT, "lib", "zod.ts") })).toEqual({});
      // kafkajs producer-only: its consumer factory is replaced through the same bridge.
      const kafkajsSource = join(ROOT, "node_modules", "kafkajs", "src");
      expect(await ask(7, "load", { path: join(kafkajsSource, "consumer", "index.js") })).toEqual({
        contents: expect.stringContaining("kafkajs consumer/admin are not bundled"),
        loader: "js",
      });
      expect(await ask(8, "load", { path: join(kafkajsSource, "producer", "index.js") })).toEqual(
        {},
      );
      // The file it points to exports the builtin itself.
      const require = createRequire(import.meta.url);
      const shim = http !== null && typeof http === "object" && "path" in http ? http.path : "";
      expect(require(String(shim))).toBe(process.getBuiltinModule("node:http"));
    } finally {
      child.kill();
    }
  });
});
