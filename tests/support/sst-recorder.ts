/**
 * A recording stand-in for SST's globals, to evaluate `sst.config.ts` without SST, Pulumi or AWS.
 *
 * `evaluateSstApp(stage)` installs fakes on `globalThis` (`$config`, `$app`, `$dev`, `sst.Secret`,
 * `sst.aws.*`, `aws.*`, `$jsonStringify`, `$interpolate`, `$concat`), imports `sst.config.ts`, calls
 * its `app()` and `run()`, and returns what they built: every resource with its constructor
 * arguments and the method calls made on it (route(), addAuthorizer(), subscribe()).
 *
 * An output of a fake resource is a plain string naming it, `<resource>.<property>` (for example
 * `Payments.name`, `PublishOutbox.arn`), so a test can check what was wired to what. Using a
 * component or property the recorder does not know throws, naming it: add it here.
 */
import { join } from "node:path";

export interface RecordedCall {
  readonly method: string;
  readonly args: readonly unknown[];
}

export interface RecordedResource {
  /** `sst.aws.Dynamo`, `sst.Secret`, `aws.lambda.EventSourceMapping`, ... */
  readonly type: string;
  readonly name: string;
  readonly args: unknown;
  readonly opts: unknown;
  readonly calls: RecordedCall[];
}

export interface Evaluation {
  readonly stage: string;
  /** What `app()` returned. */
  readonly app: unknown;
  /** What `run()` returned. */
  readonly outputs: unknown;
  readonly resources: readonly RecordedResource[];
}

// ---------------------------------------------------------------------------------------------
// Narrowing helpers for the recorded (unknown) values.

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isCallable(value: unknown): value is (...args: unknown[]) => unknown {
  return typeof value === "function";
}

/** The value at `path` under `value` (object keys or array indexes), or undefined. */
export function at(value: unknown, ...path: readonly (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof key === "number") {
      if (!Array.isArray(current)) return undefined;
      current = current[key];
    } else {
      if (!isRecord(current)) return undefined;
      current = current[key];
    }
  }
  return current;
}

export function asArray(value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw new Error(`expected an array, got ${describe(value)}`);
  return value;
}

export function asString(value: unknown): string {
  if (typeof value !== "string") throw new Error(`expected a string, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  return value === undefined ? "undefined" : JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// The fakes.

/** A plain-string output of a fake resource. */
const output = (resource: string, property: string): string => `${resource}.${property}`;

class Recorder {
  readonly resources: RecordedResource[] = [];

  add(type: string, name: string, args: unknown, opts: unknown): RecordedResource {
    if (this.resources.some((r) => r.type === type && r.name === name)) {
      throw new Error(`${type} "${name}" declared twice (Pulumi names must be unique)`);
    }
    const record: RecordedResource = { type, name, args, opts, calls: [] };
    this.resources.push(record);
    return record;
  }
}

/** A namespace object that throws for a member the recorder has no fake for. */
function strictNamespace(path: string, members: Record<string, unknown>): Record<string, unknown> {
  return new Proxy(members, {
    get(target, property) {
      if (typeof property !== "string" || property in target) return Reflect.get(target, property);
      throw new Error(`sst-recorder has no fake for ${path}.${property}`);
    },
  });
}

function fakes(recorder: Recorder) {
  class FakeResource {
    readonly record: RecordedResource;
    constructor(type: string, name: string, args: unknown, opts: unknown) {
      this.record = recorder.add(type, name, args, opts);
    }
    protected out(property: string): string {
      return output(this.record.name, property);
    }
    protected called(method: string, args: readonly unknown[]): void {
      this.record.calls.push({ method, args });
    }
  }

  class Secret extends FakeResource {
    constructor(name: string, placeholder?: unknown) {
      super("sst.Secret", name, { placeholder }, undefined);
    }
    get name() {
      return this.out("name");
    }
    get value() {
      return this.out("value");
    }
  }

  class Dynamo extends FakeResource {
    constructor(name: string, args: unknown, opts?: unknown) {
      super("sst.aws.Dynamo", name, args, opts);
    }
    get name() {
      return this.out("name");
    }
    get arn() {
      return this.out("arn");
    }
    get nodes() {
      return { table: { streamArn: this.out("nodes.table.streamArn"), name: this.out("name") } };
    }
    subscribe(...args: unknown[]) {
      this.called("subscribe", args);
      return { subscriber: output(this.record.name, `subscriber.${String(args[0])}`) };
    }
  }

  class ApiGatewayV2 extends FakeResource {
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.ApiGatewayV2", name, args, opts);
    }
    get url() {
      return this.out("url");
    }
    get nodes() {
      return { api: { id: this.out("nodes.api.id") } };
    }
    route(...args: unknown[]) {
      this.called("route", args);
      return { route: output(this.record.name, `route.${String(args[0])}`) };
    }
    addAuthorizer(args: unknown) {
      this.called("addAuthorizer", [args]);
      return { id: output(this.record.name, `authorizer.${String(at(args, "name"))}.id`) };
    }
  }

  class FakeFunction extends FakeResource {
    constructor(name: string, args: unknown, opts?: unknown) {
      super("sst.aws.Function", name, args, opts);
    }
    get name() {
      return this.out("name");
    }
    get arn() {
      return this.out("arn");
    }
  }

  class Queue extends FakeResource {
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Queue", name, args, opts);
    }
    get arn() {
      return this.out("arn");
    }
    get url() {
      return this.out("url");
    }
    get nodes() {
      return { queue: { name: this.out("nodes.queue.name") } };
    }
  }

  class Bucket extends FakeResource {
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Bucket", name, args, opts);
    }
    get arn() {
      return this.out("arn");
    }
    get name() {
      return this.out("name");
    }
  }

  class SnsTopic extends FakeResource {
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.SnsTopic", name, args, opts);
    }
    get arn() {
      return this.out("arn");
    }
    get name() {
      return this.out("name");
    }
  }

  class Router extends FakeResource {
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Router", name, args, opts);
    }
    get url() {
      return this.out("url");
    }
    route(...args: unknown[]) {
      this.called("route", args);
    }
  }

  class StaticSite extends FakeResource {
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.StaticSite", name, args, opts);
    }
    get url() {
      return this.out("url");
    }
  }

  class CronV2 extends FakeResource {
    constructor(name: string, args: unknown, opts?: unknown) {
      super("sst.aws.CronV2", name, args, opts);
    }
  }

  /** A Pulumi AWS resource: recorded, no outputs used. */
  const pulumiResource = (type: string) =>
    class extends FakeResource {
      constructor(name: string, args: unknown, opts?: unknown) {
        super(type, name, args, opts);
      }
      get arn() {
        return this.out("arn");
      }
    };

  return {
    sst: strictNamespace("sst", {
      Secret,
      aws: strictNamespace("sst.aws", {
        Dynamo,
        ApiGatewayV2,
        Function: FakeFunction,
        Queue,
        Bucket,
        SnsTopic,
        CronV2,
        Router,
        StaticSite,
      }),
    }),
    aws: strictNamespace("aws", {
      lambda: strictNamespace("aws.lambda", {
        EventSourceMapping: pulumiResource("aws.lambda.EventSourceMapping"),
      }),
      cloudwatch: strictNamespace("aws.cloudwatch", {
        MetricAlarm: pulumiResource("aws.cloudwatch.MetricAlarm"),
        Dashboard: pulumiResource("aws.cloudwatch.Dashboard"),
      }),
      getRegionOutput: () => ({ region: "us-east-1" }),
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Evaluating the app.

const GLOBALS = [
  "$config",
  "$app",
  "$dev",
  "sst",
  "aws",
  "$jsonStringify",
  "$interpolate",
  "$concat",
] as const;

/** `$interpolate` on plain strings: a template literal. */
function interpolate(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce(
    (text, part, i) => text + part + (i < values.length ? String(values[i]) : ""),
    "",
  );
}

let configModule: Promise<unknown> | undefined;

/** Imports `sst.config.ts` once (its top level calls `$config`, which must be installed first). */
function loadConfig(root: string): Promise<unknown> {
  configModule ??= import(/* @vite-ignore */ join(root, "sst.config.ts"));
  return configModule;
}

/**
 * Evaluates the SST app of the project at `root` for `stage`: `app({ stage })`, then `run()`
 * against the fakes. The globals are removed again afterwards, also when `run()` throws.
 */
export async function evaluateSstApp(root: string, stage: string): Promise<Evaluation> {
  const recorder = new Recorder();
  const { sst, aws } = fakes(recorder);
  Object.assign(globalThis, {
    $config: (input: unknown) => input,
    $dev: false,
    sst,
    aws,
    $jsonStringify: (value: unknown) => JSON.stringify(value),
    $interpolate: interpolate,
    $concat: (...parts: unknown[]) => parts.map(String).join(""),
  });
  try {
    const config = at(await loadConfig(root), "default");
    const app = at(config, "app");
    const run = at(config, "run");
    if (!isCallable(app) || !isCallable(run)) {
      throw new Error("sst.config.ts must export default $config({ app(), run() })");
    }
    const appResult = await app({ stage });
    Object.assign(globalThis, {
      $app: {
        name: at(appResult, "name"),
        stage,
        removal: at(appResult, "removal") ?? "retain",
        protect: at(appResult, "protect") ?? false,
        providers: at(appResult, "providers"),
      },
    });
    const outputs = await run();
    return { stage, app: appResult, outputs, resources: recorder.resources };
  } finally {
    for (const name of GLOBALS) Reflect.deleteProperty(globalThis, name);
  }
}

/** The resources of `type`. */
export function resourcesOf(evaluation: Evaluation, type: string): readonly RecordedResource[] {
  return evaluation.resources.filter((r) => r.type === type);
}

/** The one resource of `type` named `name`; throws if there is none. */
export function resource(evaluation: Evaluation, type: string, name: string): RecordedResource {
  const found = evaluation.resources.find((r) => r.type === type && r.name === name);
  if (found === undefined) {
    const names = resourcesOf(evaluation, type).map((r) => r.name);
    throw new Error(`no ${type} "${name}" (have: ${names.join(", ") || "none"})`);
  }
  return found;
}

/** The calls of `method` on a resource. */
export function callsOf(record: RecordedResource, method: string): readonly RecordedCall[] {
  return record.calls.filter((c) => c.method === method);
}
