/**
 * The build (scripts/build.ts) on one function: bundled with SST's options (splitting included),
 * the bundle loads in a fresh Node 24 process with its deployed environment and exports `handler`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
      expect(Number(loaded.node.split(".")[0])).toBeGreaterThanOrEqual(24);
    } finally {
      await rm(dist, { recursive: true, force: true });
    }
  }, 30_000);
});
