/**
 * Per-stage settings and the defaults every Lambda shares, as plain data: no SST globals here, so
 * this file type-checks with the main tsconfig and the infra test reads it directly.
 *
 * Production-like stages (PRODUCTION_STAGES) retain and protect their resources and must have
 * every setting below (JWT issuer, MSK cluster, brokers, subnets, security groups, the console's
 * OIDC client); a missing one stops `sst deploy` with a message naming it. Any other stage is a
 * dev stage: it uses its own entry or `dev`, needs only the JWT settings; without an MSK cluster
 * it deploys no `order.placed` mapping and the outbox publisher logs events instead of sending
 * them, and without a console client it deploys no console.
 */

import { compileCacheHook } from "./compile-cache.js";
import { withLogLevels } from "./logging.js";

/** Stages whose data must survive: retain on removal, `sst remove` refused, deletion protection. */
export const PRODUCTION_STAGES: readonly string[] = ["production", "staging"];

export function isProductionStage(stage: string): boolean {
  return PRODUCTION_STAGES.includes(stage);
}

export interface JwtSettings {
  /** The OIDC issuer URL (API Gateway fetches its JWKS from `<issuer>/.well-known/...`). */
  readonly issuer: string;
  readonly audiences: readonly string[];
}

export interface KafkaSettings {
  /** The MSK cluster (IAM auth): `arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>`. */
  readonly clusterArn: string;
  /** IAM-auth bootstrap brokers, `host:9098[,host:9098...]` (the `KAFKA_BROKERS` value). */
  readonly bootstrapBrokers: string;
  /** Private subnets and security groups that reach the brokers (for the outbox publisher). */
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  /** Prepended to every topic name, consumed and produced (`KAFKA_TOPIC_PREFIX`). */
  readonly topicPrefix: string;
  /**
   * `per-type` (one topic per event type, the default) or `single` (every event on
   * `<prefix>payment.events`, an order's events in order): `KAFKA_TOPIC_MODE`.
   */
  readonly topicMode?: "per-type" | "single";
  /** Provisioned pollers for the `order.placed` mapping (needed for its retries and bisect). */
  readonly pollers: { readonly minimum: number; readonly maximum: number };
}

/**
 * The support console's client at the stage's OIDC issuer (the issuer and audience are the JWT
 * authorizer's): a public client (no secret) with the authorization code flow and PKCE, whose
 * allowed redirect URI is the `consoleUrl` output.
 */
export interface ConsoleSettings {
  readonly clientId: string;
  /** The issuer's authorization and token endpoints (https; Cognito's are on its hosted UI domain). */
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  /** Scopes to ask for, space-separated; must include `openid`. */
  readonly scopes: string;
  /** Send `audience=` on the authorization request (Auth0 needs it). */
  readonly sendAudience: boolean;
}

/** What the console asks for unless a stage says otherwise. */
export const CONSOLE_SCOPES = "openid payments:read payments:refund payments:admin";

export interface ApiThrottling {
  /** Steady-state requests per second for the whole API. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** Log retention, in SST's words (a key of its RETENTION table). */
export type LogRetention = "1 week" | "1 month" | "3 months" | "6 months" | "1 year" | "2 years";

/** The settings of one stage, as written below: everything may still be missing. */
export interface StageEntry {
  readonly jwt?: Partial<JwtSettings>;
  readonly kafka?: Partial<KafkaSettings>;
  /** The support console; required on production-like stages, optional elsewhere. */
  readonly console?: Partial<ConsoleSettings>;
  readonly throttling?: ApiThrottling;
  readonly logRetention?: LogRetention;
  /** X-Ray tracing (lib/tracing.ts, lib/xray.ts); default: on for production-like stages. */
  readonly tracing?: boolean;
}

/** The settings of one stage, checked: what the infra files use. */
export interface StageSettings {
  readonly stage: string;
  readonly production: boolean;
  readonly jwt: JwtSettings;
  /** Absent on a dev stage without a cluster: no `order.placed` mapping, events are logged. */
  readonly kafka: KafkaSettings | undefined;
  /** Absent on a dev stage without a console client: no console deployed. */
  readonly console: ConsoleSettings | undefined;
  readonly throttling: ApiThrottling;
  readonly logRetention: LogRetention;
  readonly tracing: boolean;
}

/**
 * The stages. Fill in the account's values (none of them is secret); `dev` serves every stage
 * without an entry of its own that is not production-like.
 */
export const stages: Record<string, StageEntry> = {
  production: {
    jwt: { audiences: ["payment-service"] },
    kafka: { topicPrefix: "", pollers: { minimum: 1, maximum: 4 } },
    throttling: { rateLimit: 200, burstLimit: 400 },
    logRetention: "1 year",
  },
  staging: {
    jwt: { audiences: ["payment-service"] },
    kafka: { topicPrefix: "staging.", pollers: { minimum: 1, maximum: 2 } },
    throttling: { rateLimit: 50, burstLimit: 100 },
    logRetention: "3 months",
  },
  dev: {
    jwt: { audiences: ["payment-service"] },
  },
};

export class StageSettingsError extends Error {}

const DEV_THROTTLING: ApiThrottling = { rateLimit: 20, burstLimit: 40 };

/** The JWT settings, or the names of those missing. */
function checkJwt(jwt: Partial<JwtSettings> | undefined): JwtSettings | string[] {
  const issuer = jwt?.issuer;
  const audiences = jwt?.audiences;
  if (issuer && audiences && audiences.length > 0) return { issuer, audiences };
  return [...(issuer ? [] : ["jwt.issuer"]), ...(audiences?.length ? [] : ["jwt.audiences"])];
}

/** The Kafka settings, or the names of those missing. */
function checkKafka(kafka: Partial<KafkaSettings> | undefined): KafkaSettings | string[] {
  const { clusterArn, bootstrapBrokers, subnets, securityGroups, topicPrefix, pollers } =
    kafka ?? {};
  if (
    clusterArn &&
    bootstrapBrokers &&
    subnets?.length &&
    securityGroups?.length &&
    topicPrefix !== undefined &&
    pollers
  ) {
    return {
      clusterArn,
      bootstrapBrokers,
      subnets,
      securityGroups,
      topicPrefix,
      topicMode: kafka?.topicMode ?? "per-type",
      pollers,
    };
  }
  const present: Record<string, boolean> = {
    clusterArn: Boolean(clusterArn),
    bootstrapBrokers: Boolean(bootstrapBrokers),
    subnets: Boolean(subnets?.length),
    securityGroups: Boolean(securityGroups?.length),
    topicPrefix: topicPrefix !== undefined,
    pollers: pollers !== undefined,
  };
  return Object.entries(present)
    .filter(([, ok]) => !ok)
    .map(([name]) => `kafka.${name}`);
}

/** The console settings, or the names of those missing. */
function checkConsole(value: Partial<ConsoleSettings> | undefined): ConsoleSettings | string[] {
  const { clientId, authorizationEndpoint, tokenEndpoint } = value ?? {};
  const https = (url: string | undefined) => url?.startsWith("https://") === true;
  if (clientId && https(authorizationEndpoint) && https(tokenEndpoint)) {
    const scopes = value?.scopes ?? CONSOLE_SCOPES;
    if (!scopes.split(/\s+/).includes("openid")) return ["console.scopes (with openid)"];
    return {
      clientId,
      authorizationEndpoint: authorizationEndpoint ?? "",
      tokenEndpoint: tokenEndpoint ?? "",
      scopes,
      sendAudience: value?.sendAudience ?? false,
    };
  }
  return [
    ...(clientId ? [] : ["console.clientId"]),
    ...(https(authorizationEndpoint) ? [] : ["console.authorizationEndpoint (https)"]),
    ...(https(tokenEndpoint) ? [] : ["console.tokenEndpoint (https)"]),
  ];
}

/**
 * The checked settings of `stage`. Throws StageSettingsError naming every missing setting: for a
 * production-like stage all of them, for a dev stage the JWT ones (and the Kafka ones only once
 * a cluster ARN is given, since a half-configured cluster is a mistake, not "no MSK"; the console
 * ones likewise once a console client id is given).
 */
/**
 * Values given at deploy time in the environment override the stage's entry, so an account's
 * issuer and cluster need not be committed: JWT_ISSUER, JWT_AUDIENCES (comma-separated),
 * MSK_CLUSTER_ARN, MSK_BOOTSTRAP_BROKERS, MSK_SUBNETS and MSK_SECURITY_GROUPS (comma-separated),
 * CONSOLE_CLIENT_ID, CONSOLE_AUTHORIZATION_ENDPOINT, CONSOLE_TOKEN_ENDPOINT and CONSOLE_SCOPES.
 */
export function withDeployEnvironment(
  entry: StageEntry | undefined,
  env: Readonly<Record<string, string | undefined>>,
): StageEntry | undefined {
  const list = (value: string | undefined) =>
    value === undefined
      ? undefined
      : value
          .split(",")
          .map((v) => v.trim())
          .filter((v) => v.length > 0);
  const jwt = {
    ...entry?.jwt,
    ...(env.JWT_ISSUER === undefined ? {} : { issuer: env.JWT_ISSUER }),
    ...(env.JWT_AUDIENCES === undefined ? {} : { audiences: list(env.JWT_AUDIENCES) }),
  };
  const kafka = {
    ...entry?.kafka,
    ...(env.MSK_CLUSTER_ARN === undefined ? {} : { clusterArn: env.MSK_CLUSTER_ARN }),
    ...(env.MSK_BOOTSTRAP_BROKERS === undefined
      ? {}
      : { bootstrapBrokers: env.MSK_BOOTSTRAP_BROKERS }),
    ...(env.MSK_SUBNETS === undefined ? {} : { subnets: list(env.MSK_SUBNETS) }),
    ...(env.MSK_SECURITY_GROUPS === undefined
      ? {}
      : { securityGroups: list(env.MSK_SECURITY_GROUPS) }),
  };
  const consoleEntry = {
    ...entry?.console,
    ...(env.CONSOLE_CLIENT_ID === undefined ? {} : { clientId: env.CONSOLE_CLIENT_ID }),
    ...(env.CONSOLE_AUTHORIZATION_ENDPOINT === undefined
      ? {}
      : { authorizationEndpoint: env.CONSOLE_AUTHORIZATION_ENDPOINT }),
    ...(env.CONSOLE_TOKEN_ENDPOINT === undefined
      ? {}
      : { tokenEndpoint: env.CONSOLE_TOKEN_ENDPOINT }),
    ...(env.CONSOLE_SCOPES === undefined ? {} : { scopes: env.CONSOLE_SCOPES }),
  };
  const touched =
    Object.keys(jwt).length > 0 ||
    Object.keys(kafka).length > 0 ||
    Object.keys(consoleEntry).length > 0;
  if (entry === undefined && !touched) return undefined;
  return {
    ...entry,
    ...(Object.keys(jwt).length === 0 ? {} : { jwt }),
    ...(Object.keys(kafka).length === 0 ? {} : { kafka }),
    ...(Object.keys(consoleEntry).length === 0 ? {} : { console: consoleEntry }),
  };
}

export function settingsFor(
  stage: string,
  table: Readonly<Record<string, StageEntry>> = stages,
  env: Readonly<Record<string, string | undefined>> = {},
): StageSettings {
  const production = isProductionStage(stage);
  const entryName = table[stage] !== undefined || production ? stage : "dev";
  const entry = withDeployEnvironment(table[entryName], env);
  const where = `infra/functions.ts stages.${entryName}`;
  if (entry === undefined) {
    throw new StageSettingsError(
      `stage "${stage}" has no settings: add ${where} (jwt${production ? " and kafka" : ""})`,
    );
  }
  const jwt = checkJwt(entry.jwt);
  const wantsKafka = production || entry.kafka?.clusterArn !== undefined;
  const kafka = wantsKafka ? checkKafka(entry.kafka) : undefined;
  const wantsConsole = production || entry.console?.clientId !== undefined;
  const consoleSettings = wantsConsole ? checkConsole(entry.console) : undefined;
  if (Array.isArray(jwt) || Array.isArray(kafka) || Array.isArray(consoleSettings)) {
    const missing = [jwt, kafka, consoleSettings].flatMap((v) => (Array.isArray(v) ? v : []));
    const kind = production ? "production-like stage" : "stage";
    throw new StageSettingsError(`${kind} "${stage}" needs ${missing.join(", ")} in ${where}`);
  }
  return {
    stage,
    production,
    jwt,
    kafka,
    console: consoleSettings,
    throttling: entry.throttling ?? DEV_THROTTLING,
    logRetention: entry.logRetention ?? (production ? "1 year" : "1 week"),
    tracing: entry.tracing ?? production,
  };
}

/** `order.placed` with the stage's prefix: the topic the MSK mapping consumes. */
export function orderPlacedTopic(kafka: KafkaSettings): string {
  return `${kafka.topicPrefix}order.placed`;
}

/** Kafka consumer group of the `order.placed` mapping: stable per stage, so offsets carry over. */
export function orderPlacedConsumerGroup(stage: string): string {
  return `payment-service-${stage}-order-placed`;
}

/**
 * IAM resource ARNs under an MSK cluster (IAM access control): the cluster itself and its topics
 * and groups, `arn:aws:kafka:r:a:topic/<cluster>/<uuid>/<name>`.
 */
export function kafkaResourceArns(clusterArn: string): {
  cluster: string;
  topics: string;
  groups: string;
} {
  const match = /^(arn:[^:]+:kafka:[^:]*:[^:]*:)cluster\/(.+)$/.exec(clusterArn);
  if (match === null) {
    throw new StageSettingsError(`kafka.clusterArn "${clusterArn}" is not an MSK cluster ARN`);
  }
  const [, prefix, clusterPath] = match;
  return {
    cluster: clusterArn,
    topics: `${prefix}topic/${clusterPath}/*`,
    groups: `${prefix}group/${clusterPath}/*`,
  };
}

/** `create-intent` -> `CreateIntent`: stable logical names for routes and functions. */
export function logicalName(handler: string): string {
  return handler
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

/** AWS's managed policy that lets a function send its trace segments to X-Ray. */
export const XRAY_WRITE_POLICY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess";

/**
 * What SST's `transform.function` sees of the Lambda function's arguments (Pulumi
 * `aws.lambda.FunctionArgs`), as far as functionDefaults changes them.
 */
export interface LambdaFunctionArgs {
  loggingConfig?: object;
  tracingConfig?: object;
}

/**
 * What every function shares (SST `FunctionArgs`, spread into each): runtime, architecture, the
 * bundle, JSON logs with the stage's retention and the log levels of infra/logging.ts (system
 * records at WARN: no START/REPORT per invocation; application lines at INFO) and, with the
 * stage's `tracing` on, X-Ray (tracing mode Active, the X-Ray write policy). A function with
 * policies of its own lists them with these (`[...own, ...functionDefaults(settings).policies]`).
 *
 * SST's `logging` takes a format and a retention but no log levels, so the levels are set on the
 * Lambda function itself, by a function transform: it adds them to the `loggingConfig` SST built
 * (format JSON, SST's log group with the stage's retention) rather than replacing it, as an
 * object transform would (SST merges those shallowly).
 */
/** Graviton: a fifth cheaper per GB-second than x86_64. */
export const ARCHITECTURE = "arm64";

export function functionDefaults(settings: Pick<StageSettings, "logRetention" | "tracing">) {
  const transformFunction = (args: LambdaFunctionArgs): undefined => {
    args.loggingConfig = withLogLevels(args.loggingConfig);
    if (settings.tracing) args.tracingConfig = { mode: "Active" };
    return undefined;
  };
  return {
    runtime: "nodejs24.x",
    architecture: ARCHITECTURE,
    // Splitting: dynamically imported modules (the AWS SDK's unused credential providers, the
    // X-Ray emitter while tracing is off) go to chunks a cold start does not load (npm run bench).
    // Plugins (infra/esbuild-plugins.mjs): Node builtins loaded as CommonJS, not as ES modules;
    // kafkajs without its consumer, admin and the requests a producer never sends.
    nodejs: {
      format: "esm",
      minify: true,
      sourcemap: true,
      splitting: true,
      plugins: "./infra/esbuild-plugins.mjs",
    },
    // A V8 compile cache made by Lambda's Node, in the package (infra/compile-cache.ts).
    hook: { postbuild: compileCacheHook(ARCHITECTURE) },
    logging: { format: "json", retention: settings.logRetention },
    policies: settings.tracing ? [XRAY_WRITE_POLICY] : [],
    transform: { function: transformFunction },
  } as const;
}

/** The handler path SST builds: `functions/<name>.ts`, export `handler`. */
export function handlerPath(name: string): string {
  return `functions/${name}.handler`;
}

/**
 * Environment every function gets besides the table names: whether lib/tracing.ts loads the
 * X-Ray emitter (lib/xray.ts). No `--enable-source-maps`: SST keeps the maps out of the deployed bundle (it uploads
 * them for its console), so the flag would map nothing, and with maps beside the bundle it costs
 * 34 to 61 ms of cold start (npm run bench).
 */
export function baseEnvironment(settings: Pick<StageSettings, "tracing">): Record<string, string> {
  return { POWERTOOLS_TRACE_ENABLED: settings.tracing ? "true" : "false" };
}

/** Where the deploy writes the stage's console before StaticSite uploads it (under dist/). */
export const CONSOLE_BUILD_DIR = "dist/console-site";
