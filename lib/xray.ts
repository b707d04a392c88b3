/**
 * A small X-Ray emitter of our own, loaded by lib/tracing.ts only when tracing is on. It records
 * exactly what README "Metrics" promises, and nothing else:
 * - a subsegment per AWS SDK v3 call (DynamoDB, SQS): a middleware on the client's stack, at the
 *   build step (before the SDK's retries, so one subsegment per call), with the operation, the
 *   table or queue, the region, the request id, the retries and the status;
 * - a subsegment per outgoing HTTP(S) request that is not an AWS call, which is every Stripe API
 *   request: observed through Node's `http.client.*` diagnostics channels (nothing is patched),
 *   with the host, method, URL without its query, status, response length and latency;
 * - on the HTTP functions, a handler subsegment `## <_HANDLER>` annotated with `ColdStart` and
 *   `Service` (a middy middleware), under which the calls above nest.
 * Never recorded: request or response bodies, headers (the Stripe key travels in one), query
 * strings, item keys or attributes. Error messages go through `scrub`.
 *
 * Each subsegment is sent, when it closes, as one UDP datagram to the X-Ray daemon
 * (AWS_XRAY_DAEMON_ADDRESS): `{"format":"json","version":1}\n` and the subsegment document, with
 * the trace id and parent of the invocation's trace header (Lambda's `_X_AMZN_TRACE_ID`, or its
 * invoke store when it runs invocations concurrently). Nothing is sent when that header is absent
 * or not sampled. Lambda itself sends the function's segments; ours nest under them.
 * Field names: the X-Ray segment document format (docs.aws.amazon.com/xray, "segment documents").
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import type { Socket } from "node:dgram";
import { subscribe } from "node:diagnostics_channel";
import { ClientRequest, IncomingMessage } from "node:http";
import type { MiddlewareObj } from "@middy/core";
import { redact } from "./observability.js";

// ---------------------------------------------------------------------------------------------
// The pure parts: trace header, daemon address, documents.

/** The parts of an X-Ray trace header we use (`Root=...;Parent=...;Sampled=1`). */
export interface TraceHeader {
  /** The trace id, `1-<8 hex>-<24 hex>`. */
  readonly root: string;
  /** The id of the segment our subsegments go under (the Lambda function's). */
  readonly parent: string;
  readonly sampled: boolean;
}

const TRACE_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const SEGMENT_ID = /^[0-9a-f]{16}$/;

/** Parses a trace header; `undefined` when it is absent or lacks a valid Root and Parent. */
export function parseTraceHeader(value: string | undefined): TraceHeader | undefined {
  if (value === undefined || value === "") return undefined;
  const fields = new Map<string, string>();
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const root = fields.get("Root");
  const parent = fields.get("Parent");
  if (root === undefined || parent === undefined) return undefined;
  if (!TRACE_ID.test(root) || !SEGMENT_ID.test(parent)) return undefined;
  return { root, parent, sampled: fields.get("Sampled") === "1" };
}

export interface DaemonAddress {
  readonly host: string;
  readonly port: number;
}

const DEFAULT_DAEMON: DaemonAddress = { host: "127.0.0.1", port: 2000 };

/**
 * AWS_XRAY_DAEMON_ADDRESS: `host:port` (Lambda's form), or `tcp:host:port udp:host:port` (the
 * X-Ray SDKs' other form, of which we use the UDP one). Anything else: 127.0.0.1:2000.
 */
export function parseDaemonAddress(value: string | undefined): DaemonAddress {
  if (value === undefined || value.trim() === "") return DEFAULT_DAEMON;
  const parts = value.trim().split(/\s+/);
  const udp =
    parts.find((p) => p.startsWith("udp:"))?.slice(4) ??
    (parts.length === 1 ? parts[0] : undefined);
  if (udp === undefined) return DEFAULT_DAEMON;
  const colon = udp.lastIndexOf(":");
  const host = udp.slice(0, colon);
  const port = Number(udp.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) return DEFAULT_DAEMON;
  return { host, port };
}

export interface ExceptionDocument {
  readonly id: string;
  readonly message: string;
  readonly type: string;
  readonly remote: boolean;
}

export interface AwsDocument {
  readonly operation: string;
  readonly region?: string;
  readonly request_id?: string;
  readonly retries: number;
  readonly table_name?: string;
  readonly table_names?: readonly string[];
  readonly queue_url?: string;
}

export interface HttpDocument {
  readonly request?: { readonly method: string; readonly url: string };
  readonly response?: { readonly status?: number; readonly content_length?: number };
}

/** What a subsegment records, besides its identity and times. */
export interface SubsegmentFields {
  readonly namespace?: "aws" | "remote";
  readonly annotations?: Readonly<Record<string, string | number | boolean>>;
  readonly aws?: AwsDocument;
  readonly http?: HttpDocument;
  readonly error?: boolean;
  readonly fault?: boolean;
  readonly throttle?: boolean;
  readonly cause?: { readonly exceptions: readonly ExceptionDocument[] };
}

/** A subsegment sent on its own: X-Ray needs `type`, `trace_id` and `parent_id` then. */
export interface SubsegmentDocument extends SubsegmentFields {
  readonly type: "subsegment";
  readonly id: string;
  readonly trace_id: string;
  readonly parent_id: string;
  readonly name: string;
  /** Epoch seconds, millisecond precision. */
  readonly start_time: number;
  readonly end_time: number;
}

/** A segment id: 64 random bits, 16 hex digits. */
export const newId = (): string => randomBytes(8).toString("hex");

/** Epoch seconds with millisecond precision, as the X-Ray SDKs write them. */
export const epochSeconds = (ms: number = Date.now()): number => ms / 1000;

/** X-Ray's limit on names: 200 characters of letters, digits, spaces and `_.:/%&#=+\-@`. */
export function segmentName(name: string): string {
  const cleaned = name.replace(/[^\p{L}\p{N}\s_.:/%&#=+\\\-@]/gu, "_").slice(0, 200);
  return cleaned === "" ? "unknown" : cleaned;
}

const HEADER = '{"format":"json","version":1}\n';

/** The datagram the daemon takes: the header line, then the document. */
export function datagram(document: SubsegmentDocument): string {
  return HEADER + JSON.stringify(document);
}

const STRIPE_KEY = /\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9_]+/g;
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9_]+/g;
const ANY_CLIENT_SECRET = /[A-Za-z0-9_]*_secret_[A-Za-z0-9_]+/g;

/**
 * A text that may reach a trace (an error message): Stripe keys, webhook secrets and client
 * secrets masked, and what lib/observability.ts masks in logs (card numbers); at most 500 chars.
 */
export function scrub(text: string): string {
  const masked = text
    .replace(STRIPE_KEY, "[redacted]")
    .replace(WEBHOOK_SECRET, "[redacted]")
    .replace(ANY_CLIENT_SECRET, "[redacted]");
  const redacted = redact(masked);
  return (typeof redacted === "string" ? redacted : "[redacted]").slice(0, 500);
}

/** An error as X-Ray's `cause.exceptions[]` entry: type and scrubbed message, no stack. */
export function exceptionOf(error: unknown, remote: boolean): ExceptionDocument {
  const type = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return { id: newId(), type: scrub(type), message: scrub(message), remote };
}

/** X-Ray's flags for an HTTP status: 4xx error (429 also throttle), 5xx fault. */
export function statusFlags(status: number | undefined): SubsegmentFields {
  if (status === undefined) return {};
  if (status === 429) return { error: true, throttle: true };
  if (status >= 400 && status < 500) return { error: true };
  if (status >= 500) return { fault: true };
  return {};
}

/** `path` without its query string or fragment (Stripe's ids are in the path, nothing secret). */
export function withoutQuery(path: string): string {
  const cut = path.search(/[?#]/);
  return cut < 0 ? path : path.slice(0, cut);
}

/** The AWS service of an SDK client's name: `DynamoDBClient` -> `DynamoDB`. */
export const awsService = (clientName: string | undefined): string =>
  clientName === undefined || clientName === "" ? "AWS" : clientName.replace(/Client$/, "");

/** The operation of an SDK command's name: `PutItemCommand` -> `PutItem`. */
export const awsOperation = (commandName: string | undefined): string =>
  commandName === undefined || commandName === "" ? "unknown" : commandName.replace(/Command$/, "");

const stringField = (input: object, key: string): string | undefined => {
  const value: unknown = Reflect.get(input, key);
  return typeof value === "string" ? value : undefined;
};

/** The tables of a batch (`RequestItems` keys) or a transaction (each item's `TableName`). */
function tableNames(input: object): string[] | undefined {
  const requestItems: unknown = Reflect.get(input, "RequestItems");
  if (typeof requestItems === "object" && requestItems !== null) return Object.keys(requestItems);
  const transactItems: unknown = Reflect.get(input, "TransactItems");
  if (!Array.isArray(transactItems)) return undefined;
  const names = new Set<string>();
  for (const item of transactItems) {
    if (typeof item !== "object" || item === null) continue;
    for (const action of Object.values(item)) {
      if (typeof action !== "object" || action === null) continue;
      const name = stringField(action, "TableName");
      if (name !== undefined) names.add(name);
    }
  }
  return [...names];
}

/** What the SDK reports of a call, on its output or its error (`$metadata`). */
export interface AwsCallMetadata {
  readonly httpStatusCode?: number;
  readonly requestId?: string;
  /** Every attempt, the first included. */
  readonly attempts?: number;
}

const THROTTLING = new Set([
  "ThrottlingException",
  "ThrottledException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "SlowDown",
]);

/**
 * The fields of an AWS call's subsegment: `aws` (operation, table(s) or queue, region, request
 * id, retries) and `http.response.status`; only names are taken from the input, never keys or
 * items. With `error`, the flags and the cause of a failed call.
 */
export function awsFields(call: {
  readonly operation: string;
  readonly input: object;
  readonly region?: string | undefined;
  readonly metadata?: AwsCallMetadata | undefined;
  readonly error?: unknown;
}): SubsegmentFields {
  const metadata = call.metadata ?? {};
  const table = stringField(call.input, "TableName");
  const tables = table === undefined ? tableNames(call.input) : undefined;
  const queue = stringField(call.input, "QueueUrl");
  const aws: AwsDocument = {
    operation: call.operation,
    ...(call.region === undefined ? {} : { region: call.region }),
    ...(metadata.requestId === undefined ? {} : { request_id: metadata.requestId }),
    retries: Math.max(0, (metadata.attempts ?? 1) - 1),
    ...(table === undefined ? {} : { table_name: table }),
    ...(tables === undefined || tables.length === 0 ? {} : { table_names: tables }),
    ...(queue === undefined ? {} : { queue_url: queue }),
  };
  const status = metadata.httpStatusCode;
  const fields: SubsegmentFields = {
    namespace: "aws",
    aws,
    ...(status === undefined ? {} : { http: { response: { status } } }),
    ...statusFlags(status),
  };
  if (call.error === undefined) return fields;
  const name = call.error instanceof Error ? call.error.name : "";
  return {
    ...fields,
    ...(THROTTLING.has(name) ? { throttle: true, error: true } : {}),
    // No status (a timeout, a refused connection, our deadline): it failed on our side.
    ...(status === undefined ? { fault: true } : {}),
    cause: { exceptions: [exceptionOf(call.error, true)] },
  };
}

/** The fields of an outgoing HTTP request's subsegment (a Stripe call). */
export function httpFields(call: {
  readonly protocol: string;
  /** The Host header (host, and port unless the default). */
  readonly host: string;
  readonly method: string;
  readonly path: string;
  readonly status?: number | undefined;
  readonly contentLength?: number | undefined;
  readonly error?: unknown;
}): SubsegmentFields {
  const response =
    call.status === undefined
      ? undefined
      : {
          status: call.status,
          ...(call.contentLength === undefined ? {} : { content_length: call.contentLength }),
        };
  return {
    namespace: "remote",
    http: {
      request: {
        method: call.method,
        url: `${call.protocol}//${call.host}${withoutQuery(call.path)}`,
      },
      ...(response === undefined ? {} : { response }),
    },
    ...statusFlags(call.status),
    ...(call.error === undefined
      ? {}
      : {
          ...(call.status === undefined ? { fault: true } : {}),
          cause: { exceptions: [exceptionOf(call.error, true)] },
        }),
  };
}

/** The handler subsegment's annotations (X-Ray indexes them for filter expressions). */
export function handlerFields(
  coldStart: boolean,
  service: string,
  error?: unknown,
  /** The HTTP status the error is answered with, if known: a 4xx is the caller's (an error). */
  status?: number,
): SubsegmentFields {
  const flags =
    status !== undefined && status >= 400 && status < 500 ? statusFlags(status) : { fault: true };
  return {
    annotations: { ColdStart: coldStart, Service: service },
    ...(error === undefined
      ? {}
      : { ...flags, cause: { exceptions: [exceptionOf(error, false)] } }),
  };
}

// ---------------------------------------------------------------------------------------------
// The runtime: where the trace header comes from, open subsegments, the UDP socket.

/** The invocation's trace header: Lambda's invoke store first (concurrent invocations), else the env. */
export function currentTraceHeader(): string | undefined {
  const awslambda: unknown = Reflect.get(globalThis, "awslambda");
  if (typeof awslambda === "object" && awslambda !== null) {
    const store: unknown = Reflect.get(awslambda, "InvokeStore");
    if (typeof store === "object" && store !== null) {
      const get: unknown = Reflect.get(store, "getXRayTraceId");
      if (typeof get === "function") {
        const id: unknown = Reflect.apply(get, store, []);
        if (typeof id === "string" && id !== "") return id;
      }
    }
  }
  return process.env._X_AMZN_TRACE_ID;
}

/** Where a new subsegment goes: its trace and its parent's id. */
interface Parent {
  readonly traceId: string;
  readonly id: string;
}

/** A subsegment being recorded. */
export interface OpenSubsegment extends Parent {
  readonly name: string;
  readonly parentId: string;
  readonly startMs: number;
}

export interface EmitterOptions {
  /** The `Service` annotation. */
  readonly service: string;
  /** The trace header of the moment (default: Lambda's, `currentTraceHeader`). */
  readonly traceHeader?: () => string | undefined;
  /** Where datagrams go (default: AWS_XRAY_DAEMON_ADDRESS, else 127.0.0.1:2000). */
  readonly daemon?: DaemonAddress;
}

/** The parts of an AWS SDK v3 client this needs (its middleware stack and its region). */
export interface TraceableAwsClient {
  readonly middlewareStack: {
    add(
      middleware: AwsBuildMiddleware,
      options: { step: "build"; name: string; override?: boolean },
    ): void;
    remove(toRemove: string): boolean;
  };
  readonly config: { readonly region?: unknown };
}

interface AwsBuildArgs {
  readonly input: object;
  readonly request: unknown;
}
interface AwsBuildOutput {
  readonly output: object;
}
type AwsBuildHandler = (args: AwsBuildArgs) => Promise<AwsBuildOutput>;
type AwsBuildMiddleware = (
  next: AwsBuildHandler,
  context: { readonly clientName?: string; readonly commandName?: string },
) => AwsBuildHandler;

/** The name of our middleware on an AWS client's stack. */
export const AWS_MIDDLEWARE_NAME = "paymentServiceXRay";

function metadataOf(value: unknown): AwsCallMetadata | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const metadata: unknown = Reflect.get(value, "$metadata");
  if (typeof metadata !== "object" || metadata === null) return undefined;
  const status: unknown = Reflect.get(metadata, "httpStatusCode");
  const requestId: unknown = Reflect.get(metadata, "requestId");
  const attempts: unknown = Reflect.get(metadata, "attempts");
  return {
    ...(typeof status === "number" ? { httpStatusCode: status } : {}),
    ...(typeof requestId === "string" ? { requestId } : {}),
    ...(typeof attempts === "number" ? { attempts } : {}),
  };
}

/** A recorder of subsegments for one process. `start` it once. */
export class XRayEmitter {
  readonly #service: string;
  readonly #traceHeader: () => string | undefined;
  readonly #daemon: DaemonAddress;
  /** The handler subsegment of the invocation running in this async context. */
  readonly #handler = new AsyncLocalStorage<OpenSubsegment>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #requests = new WeakMap<
    ClientRequest,
    { open: OpenSubsegment; response?: IncomingMessage; error?: unknown }
  >();
  #socket: Socket | undefined;
  #coldStart = process.env.AWS_LAMBDA_INITIALIZATION_TYPE !== "provisioned-concurrency";
  #started = false;

  constructor(options: EmitterOptions) {
    this.#service = options.service;
    this.#traceHeader = options.traceHeader ?? currentTraceHeader;
    this.#daemon = options.daemon ?? parseDaemonAddress(process.env.AWS_XRAY_DAEMON_ADDRESS);
  }

  /** Starts observing outgoing HTTP requests (Node's `http.client.*` diagnostics channels). */
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    // A subscriber that threw would crash the process (Node rethrows it): none may.
    subscribe("http.client.request.created", (message) => quietly(() => this.#onRequest(message)));
    subscribe("http.client.response.finish", (message) => quietly(() => this.#onResponse(message)));
    subscribe("http.client.request.error", (message) =>
      quietly(() => this.#onRequestError(message)),
    );
    return this;
  }

  /**
   * Where a subsegment opened now goes: the invocation's handler subsegment, else (or for a
   * handler subsegment, `underFunction`) the Lambda function's segment.
   */
  parent(underFunction = false): Parent | undefined {
    const header = parseTraceHeader(this.#traceHeader());
    if (header === undefined || !header.sampled) return undefined;
    const handler = underFunction ? undefined : this.#handler.getStore();
    // A handler of an earlier invocation (a context kept past its end) is not this one's parent.
    if (handler !== undefined && handler.traceId === header.root) return handler;
    return { traceId: header.root, id: header.parent };
  }

  /** Opens a subsegment under `parent()`; `undefined` when this invocation is not traced. */
  open(name: string, underFunction = false): OpenSubsegment | undefined {
    const parent = this.parent(underFunction);
    if (parent === undefined) return undefined;
    return {
      traceId: parent.traceId,
      parentId: parent.id,
      id: newId(),
      name: segmentName(name),
      startMs: Date.now(),
    };
  }

  /** Closes `open` with `fields` and sends it. */
  close(open: OpenSubsegment, fields: SubsegmentFields, endMs: number = Date.now()): void {
    this.send({
      type: "subsegment",
      id: open.id,
      trace_id: open.traceId,
      parent_id: open.parentId,
      name: open.name,
      start_time: epochSeconds(open.startMs),
      end_time: epochSeconds(Math.max(endMs, open.startMs)),
      ...fields,
    });
  }

  /** Sends one document to the daemon; a failure is dropped (tracing never fails a request). */
  send(document: SubsegmentDocument): void {
    const message = Buffer.from(datagram(document));
    this.#socket ??= this.#createSocket();
    const socket = this.#socket;
    const sent = new Promise<void>((resolve) => {
      try {
        socket.send(message, this.#daemon.port, this.#daemon.host, () => resolve());
      } catch {
        resolve();
      }
    });
    this.#inFlight.add(sent);
    void sent.then(() => this.#inFlight.delete(sent));
  }

  /** Resolves once every datagram sent so far has left (the socket's send callbacks). */
  async flush(): Promise<void> {
    await Promise.all(this.#inFlight);
  }

  #createSocket(): Socket {
    const { createSocket } = process.getBuiltinModule("node:dgram");
    const socket = createSocket(this.#daemon.host.includes(":") ? "udp6" : "udp4");
    // Never keeps the process up; a send error is reported to its callback, not thrown.
    socket.unref();
    socket.on("error", () => undefined);
    return socket;
  }

  /**
   * The handler subsegment of an HTTP function, as a middy middleware. `before` is synchronous
   * on purpose: middy calls it inline, so the subsegment it enters stays the async context of
   * the rest of the invocation (the handler and its DynamoDB and Stripe calls).
   */
  handlerMiddleware(statusOf?: (error: unknown) => number | undefined): MiddlewareObj {
    const subsegments = new WeakMap<object, { open: OpenSubsegment; coldStart: boolean }>();
    const finish = async (request: object, error?: unknown): Promise<void> => {
      const state = subsegments.get(request);
      if (state === undefined) return;
      subsegments.delete(request);
      quietly(() =>
        this.close(
          state.open,
          handlerFields(
            state.coldStart,
            this.#service,
            error,
            error === undefined ? undefined : statusOf?.(error),
          ),
        ),
      );
      // Out before the answer: Lambda may freeze the process as soon as the handler returns.
      await this.flush();
    };
    return {
      name: "xrayHandlerSubsegment",
      before: (request) => {
        const open = quietly(() => this.open(`## ${process.env._HANDLER ?? "handler"}`, true));
        // The first invocation of the container, sampled or not, is its cold start.
        const coldStart = this.#coldStart;
        this.#coldStart = false;
        if (open === undefined) return;
        subsegments.set(request, { open, coldStart });
        this.#handler.enterWith(open);
      },
      after: (request) => finish(request),
      onError: (request) => finish(request, request.error ?? new Error("handler failed")),
    };
  }

  /** Adds our middleware to an AWS SDK v3 client (idempotent); returns the client. */
  captureAwsClient<T extends TraceableAwsClient>(client: T): T {
    const regionOf = regionResolver(client.config.region);
    const middleware: AwsBuildMiddleware = (next, context) => async (args) => {
      const open = quietly(() => {
        const opened = this.open(awsService(context.clientName));
        if (opened !== undefined) {
          setTraceHeader(args.request, `Root=${opened.traceId};Parent=${opened.id};Sampled=1`);
        }
        return opened;
      });
      if (open === undefined) return await next(args);
      const operation = awsOperation(context.commandName);
      const record = async (metadata: AwsCallMetadata | undefined, error?: unknown) => {
        const region = await regionOf();
        quietly(() =>
          this.close(open, awsFields({ operation, input: args.input, region, metadata, error })),
        );
      };
      let result: AwsBuildOutput;
      try {
        result = await next(args);
      } catch (error) {
        await record(metadataOf(error), error);
        throw error;
      }
      await record(metadataOf(result.output));
      return result;
    };
    client.middlewareStack.remove(AWS_MIDDLEWARE_NAME);
    client.middlewareStack.add(middleware, { step: "build", name: AWS_MIDDLEWARE_NAME });
    return client;
  }

  #onRequest(message: unknown): void {
    const request = requestOf(message);
    if (request === undefined) return;
    // An AWS call: recorded by the client's middleware (which set this header), not twice.
    if (request.getHeader("x-amzn-trace-id") !== undefined) return;
    const open = this.open(request.host);
    if (open === undefined) return;
    this.#requests.set(request, { open });
    // The end of the response closes it (#onResponse); this, a request that failed or whose
    // response was cut short.
    request.once("close", () => quietly(() => this.#finish(request)));
  }

  #onResponse(message: unknown): void {
    const request = requestOf(message);
    const state = request === undefined ? undefined : this.#requests.get(request);
    if (state === undefined || typeof message !== "object" || message === null) return;
    const response: unknown = Reflect.get(message, "response");
    if (!(response instanceof IncomingMessage)) return;
    state.response = response;
    // Published before the request's 'response' event, so this listener runs before the
    // caller's: the subsegment is sent before the Stripe SDK hands the answer back.
    response.once("end", () => quietly(() => this.#finish(request)));
  }

  #onRequestError(message: unknown): void {
    const request = requestOf(message);
    const state = request === undefined ? undefined : this.#requests.get(request);
    if (state === undefined || typeof message !== "object" || message === null) return;
    state.error = Reflect.get(message, "error") ?? new Error("request failed");
  }

  /** The request is done (its response read, or it failed): the subsegment closes, once. */
  #finish(request: ClientRequest | undefined): void {
    if (request === undefined) return;
    const state = this.#requests.get(request);
    if (state === undefined) return;
    this.#requests.delete(request);
    const length = Number(state.response?.headers["content-length"]);
    const host = request.getHeader("host");
    const error =
      state.error ??
      (state.response !== undefined && !state.response.complete
        ? new Error("the response ended early")
        : state.response === undefined
          ? new Error("the request ended without a response")
          : undefined);
    this.close(
      state.open,
      httpFields({
        protocol: request.protocol,
        host: typeof host === "string" ? host : request.host,
        method: request.method,
        path: request.path,
        status: state.response?.statusCode,
        contentLength: Number.isFinite(length) ? length : undefined,
        error,
      }),
    );
  }
}

/** `fn()`, or `undefined` if it throws: tracing never fails what it traces. */
function quietly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function requestOf(message: unknown): ClientRequest | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const request: unknown = Reflect.get(message, "request");
  return request instanceof ClientRequest ? request : undefined;
}

/** Propagates the trace to the AWS service (SQS hands it to its consumers), as the X-Ray SDK does. */
function setTraceHeader(request: unknown, value: string): void {
  if (typeof request !== "object" || request === null) return;
  const headers: unknown = Reflect.get(request, "headers");
  if (typeof headers === "object" && headers !== null)
    Reflect.set(headers, "X-Amzn-Trace-Id", value);
}

/** The client's region, resolved once (the SDK keeps it as a provider function). */
function regionResolver(region: unknown): () => Promise<string | undefined> {
  let resolved: Promise<string | undefined> | undefined;
  return () => {
    resolved ??= (async () => {
      try {
        const value: unknown =
          typeof region === "function" ? await Reflect.apply(region, undefined, []) : region;
        return typeof value === "string" ? value : undefined;
      } catch {
        return undefined;
      }
    })();
    return resolved;
  };
}

/** An emitter observing this process's outgoing HTTP requests (lib/tracing.ts makes one). */
export function startEmitter(options: EmitterOptions): XRayEmitter {
  return new XRayEmitter(options).start();
}
