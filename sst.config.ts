/// <reference path="./.sst/platform/config.d.ts" />
/**
 * The SST app: wiring only. Each concern is one file under infra/; per-stage settings are in
 * infra/functions.ts. Production-like stages (production, staging) retain their resources on
 * removal and refuse `sst remove`.
 */
export default $config({
  // SST allows no top-level imports here: infra/ is imported inside app() and run().
  async app(input) {
    const { isProductionStage } = await import("./infra/functions.js");
    const production = isProductionStage(input.stage);
    return {
      name: "payment-service",
      home: "aws",
      removal: production ? "retain" : "remove",
      protect: production,
      // Pinned, so `sst install` resolves the same provider everywhere (.sst/ is not committed).
      providers: { aws: "7.20.0" },
    };
  },
  async run() {
    const { settingsFor } = await import("./infra/functions.js");
    const { createSecrets } = await import("./infra/secrets.js");
    const { createStorage } = await import("./infra/storage.js");
    const { createApi } = await import("./infra/api.js");
    const { createEvents } = await import("./infra/events.js");
    const { createJobs } = await import("./infra/jobs.js");
    const { createAlarms } = await import("./infra/alarms.js");
    const { createConsole } = await import("./infra/console.js");

    const settings = settingsFor($app.stage, undefined, process.env);
    const secrets = createSecrets();
    const storage = createStorage(settings.production);
    const api = createApi(settings, storage, secrets);
    const events = createEvents(settings, storage, secrets);
    createJobs(settings, storage, secrets, events.outbox.failures);
    createAlarms({ api, events });
    const supportConsole = createConsole(settings, api);

    return {
      api: api.url,
      paymentsTable: storage.payments.name,
      idempotencyTable: storage.idempotency.name,
      // Register this as the console client's redirect URI at the issuer.
      consoleUrl: supportConsole?.url ?? "none (no console client for this stage)",
      orderPlacedMapping:
        settings.kafka === undefined ? "none (no MSK cluster for this stage)" : "enabled",
    };
  },
});
