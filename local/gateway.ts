/**
 * A local API Gateway (HTTP API, payload format 2.0) in front of the real handler modules,
 * serving the same route table as the SST app (infra/routes.ts). Routes with `auth: "jwt"` need
 * a bearer token the local key signed; without one the answer is 401 before any handler runs,
 * as with the deployed JWT authorizer.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from "aws-lambda";
import type { RouteDefinition } from "../infra/routes.js";
import type { JwtClaims } from "../lib/auth.js";
import { type ProblemCode, problem } from "../lib/http/problem.js";

export type LambdaHttpHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
) => Promise<unknown>;

export interface GatewayOptions {
  readonly port: number;
  readonly host?: string;
  readonly routes: readonly RouteDefinition[];
  /** Loads `functions/<name>.ts` and returns its `handler`. */
  readonly loadHandler?: (name: string) => Promise<LambdaHttpHandler>;
  readonly verifyToken: (token: string) => Promise<JwtClaims | undefined>;
  /** Largest body accepted, in bytes (API Gateway's own limit is 10 MB). */
  readonly maxBodyBytes?: number;
  readonly log?: (line: string) => void;
  /**
   * Local-only pages beside the API (the support console): given what no route matched, it
   * answers and returns true, or returns false for the usual 404.
   */
  readonly extra?: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly method: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

function compile(route: RouteDefinition): CompiledRoute {
  const [method = "", path = ""] = route.routeKey.split(" ");
  const params: string[] = [];
  const source = path
    .split("/")
    .map((segment) => {
      const m = /^\{(\w+)\}$/.exec(segment);
      if (m?.[1] === undefined) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      params.push(m[1]);
      return "([^/]+)";
    })
    .join("/");
  return { route, method, pattern: new RegExp(`^${source}$`), params };
}

/** The route that serves `method pathname`, with its path parameters, if any. */
export function matchRoute(
  routesToSearch: readonly RouteDefinition[],
  method: string,
  pathname: string,
): { route: RouteDefinition; pathParameters: Record<string, string> } | undefined {
  for (const c of routesToSearch.map(compile)) {
    const found = matchCompiled(c, method, pathname);
    if (found !== undefined) return { route: c.route, pathParameters: found };
  }
  return undefined;
}

function matchCompiled(
  c: CompiledRoute,
  method: string,
  pathname: string,
): Record<string, string> | undefined {
  if (c.method !== method) return undefined;
  const m = c.pattern.exec(pathname);
  if (m === null) return undefined;
  const pathParameters: Record<string, string> = {};
  c.params.forEach((name, i) => {
    pathParameters[name] = safeDecode(m[i + 1] ?? "");
  });
  return pathParameters;
}

/** Percent-decodes a path segment; a malformed escape is passed on as it came. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Loads a handler module from functions/ with the runtime's own module loader. */
export async function loadFunctionHandler(
  functionsDir: string,
  name: string,
): Promise<LambdaHttpHandler> {
  const mod: unknown = await import(pathToFileURL(join(functionsDir, `${name}.ts`)).href);
  if (
    typeof mod !== "object" ||
    mod === null ||
    !("handler" in mod) ||
    typeof mod.handler !== "function"
  ) {
    throw new Error(`functions/${name}.ts does not export a handler`);
  }
  const handler = mod.handler;
  return async (event, context) => await handler(event, context);
}

const TEXTUAL = /^(text\/|application\/(json|.*\+json|x-www-form-urlencoded|xml|javascript))/i;

function lambdaContext(route: RouteDefinition): Context {
  const deadline = Date.now() + route.timeoutSeconds * 1000;
  const functionName = `payment-service-local-${route.handler}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(route.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** API Gateway's request id: 16 characters of base64, also `requestContext.requestId`. */
const newRequestId = (): string => randomBytes(11).toString("base64");

/** The id of the request `res` answers (set when the request arrives). */
const requestIds = new WeakMap<ServerResponse, string>();

function send(
  res: ServerResponse,
  statusCode: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  res.writeHead(statusCode, {
    ...headers,
    "apigw-requestid": requestIds.get(res) ?? newRequestId(),
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function sendResult(res: ServerResponse, result: unknown): void {
  // Payload 2.0: a structured result has statusCode; anything else is 200 JSON.
  if (
    typeof result === "object" &&
    result !== null &&
    "statusCode" in result &&
    typeof result.statusCode === "number"
  ) {
    const headers: Record<string, string> = {};
    if ("headers" in result && typeof result.headers === "object" && result.headers !== null) {
      for (const [k, v] of Object.entries(result.headers)) headers[k.toLowerCase()] = String(v);
    }
    const rawBody = "body" in result && typeof result.body === "string" ? result.body : "";
    const base64 = "isBase64Encoded" in result && result.isBase64Encoded === true;
    send(res, result.statusCode, headers, base64 ? Buffer.from(rawBody, "base64") : rawBody);
    return;
  }
  const body = typeof result === "string" ? result : JSON.stringify(result ?? null);
  send(res, 200, { "content-type": "application/json" }, body);
}

function sendProblem(
  res: ServerResponse,
  code: ProblemCode,
  detail: string,
  extraHeaders: Record<string, string> = {},
): void {
  const answer = problem(code, detail);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(answer.headers ?? {})) headers[k] = String(v);
  send(res, answer.statusCode ?? 500, { ...headers, ...extraHeaders }, answer.body ?? "");
}

/** API Gateway's HTTP API limit on the request line and headers together (10,240 bytes). */
const MAX_HEADER_BYTES = 10_240;
/** A body past the limit is still read (and dropped) up to this, so the client is not reset. */
const DRAIN_LIMIT_BYTES = 12 * 1024 * 1024;

/**
 * The body, or undefined when it is larger than `limit`. A body over the limit is read to its end
 * and dropped (up to DRAIN_LIMIT_BYTES, past which the connection is cut), so that the answer
 * reaches a client still sending.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > DRAIN_LIMIT_BYTES) {
        req.socket.destroy();
        resolve(undefined);
      }
    });
    req.on("end", () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * A request node:http's parser refused (an unknown method, a control character in a header,
 * headers over MAX_HEADER_BYTES): answered as problem+json on the raw socket, then closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
  const answer = tooLarge
    ? problem("headers_too_large", `The request line and headers exceed ${MAX_HEADER_BYTES} bytes.`)
    : problem("bad_request", "The request is not valid HTTP (method, header name or value).");
  const status = answer.statusCode ?? 400;
  const body = answer.body ?? "";
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n` +
      "content-type: application/problem+json\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `apigw-requestid: ${newRequestId()}\r\n` +
      "connection: close\r\n\r\n" +
      body,
  );
}

/** Whether a raw path has a dot segment or an empty one (API Gateway routes it as written). */
function hasDotOrEmptySegment(rawPath: string): boolean {
  return rawPath
    .split("/")
    .slice(1)
    .some((segment, i, all) => {
      const decoded = segment.replace(/%2e/gi, ".");
      return decoded === "." || decoded === ".." || (segment === "" && i < all.length - 1);
    });
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const compiled = options.routes.map(compile);
  const loaded = new Map<string, Promise<LambdaHttpHandler>>();
  const load = (name: string) => {
    let p = loaded.get(name);
    if (p === undefined) {
      p = (
        options.loadHandler ??
        ((n) => loadFunctionHandler(new URL("../functions/", import.meta.url).pathname, n))
      )(name);
      loaded.set(name, p);
    }
    return p;
  };
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;

  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    requestIds.set(res, newRequestId());
    handle(req, res).catch((error: unknown) => {
      options.log?.(
        `gateway: handler crashed: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (!res.headersSent) sendProblem(res, "internal_error", "Something went wrong on our side.");
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://local");
    const method = (req.method ?? "GET").toUpperCase();
    let match: { compiled: CompiledRoute; pathParameters: Record<string, string> } | undefined;
    const rawPath = (req.url ?? "/").split("?")[0] ?? "/";
    for (const c of hasDotOrEmptySegment(rawPath) ? [] : compiled) {
      const pathParameters = matchCompiled(c, method, url.pathname);
      if (pathParameters !== undefined) {
        match = { compiled: c, pathParameters };
        break;
      }
    }
    if (
      match === undefined &&
      !hasDotOrEmptySegment(rawPath) &&
      options.extra !== undefined &&
      (await options.extra(req, res, url.pathname))
    ) {
      return;
    }
    if (match === undefined) {
      await readBody(req, maxBody);
      sendProblem(res, "route_not_found", `No route for ${method} ${url.pathname}.`);
      return;
    }
    const { route } = match.compiled;

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined)
        headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
    }

    let claims: JwtClaims | undefined;
    if (route.auth === "jwt") {
      const auth = headers.authorization ?? "";
      const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
      claims = token === undefined ? undefined : await options.verifyToken(token);
      if (claims === undefined) {
        await readBody(req, maxBody);
        // As API Gateway's JWT authorizer (RFC 6750): the scheme, and why a token was refused.
        sendProblem(res, "unauthorized", "A valid bearer token is required.", {
          "www-authenticate": token === undefined ? "Bearer" : 'Bearer error="invalid_token"',
        });
        return;
      }
    }

    const raw = await readBody(req, maxBody);
    if (raw === undefined) {
      sendProblem(res, "payload_too_large", `The body is larger than ${maxBody} bytes.`, {
        connection: "close",
      });
      return;
    }
    const contentType = headers["content-type"] ?? "";
    const textual = raw.length === 0 || TEXTUAL.test(contentType);
    const { pathParameters } = match;
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams)
      query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
    const now = new Date();

    const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
      version: "2.0",
      routeKey: route.routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.replace(/^\?/, ""),
      headers,
      ...(Object.keys(query).length === 0 ? {} : { queryStringParameters: query }),
      ...(match.compiled.params.length === 0 ? {} : { pathParameters }),
      requestContext: {
        accountId: "000000000000",
        apiId: "local",
        authorizer: {
          principalId: "",
          integrationLatency: 0,
          jwt: { claims: claims ?? {}, scopes: [] },
        },
        domainName: headers.host ?? "127.0.0.1",
        domainPrefix: "local",
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
          userAgent: headers["user-agent"] ?? "",
        },
        requestId: requestIds.get(res) ?? newRequestId(),
        routeKey: route.routeKey,
        stage: "$default",
        time: now.toISOString(),
        timeEpoch: now.getTime(),
      },
      ...(raw.length === 0
        ? {}
        : { body: textual ? raw.toString("utf8") : raw.toString("base64") }),
      isBase64Encoded: !textual,
    };
    const handler = await load(route.handler);
    // As Lambda does, the function is cut off at its timeout; API Gateway then answers 500 (here
    // problem+json, naming the timeout), whatever the function would have answered later.
    let timer: NodeJS.Timeout | undefined;
    const cutOff = new Promise<"timed_out">((resolve) => {
      timer = setTimeout(() => resolve("timed_out"), route.timeoutSeconds * 1000);
    });
    try {
      const result = await Promise.race([handler(event, lambdaContext(route)), cutOff]);
      if (result === "timed_out") {
        options.log?.(`gateway: ${route.handler} timed out after ${route.timeoutSeconds}s`);
        sendProblem(
          res,
          "internal_error",
          `The function timed out after ${route.timeoutSeconds} s.`,
        );
        return;
      }
      sendResult(res, result);
    } finally {
      clearTimeout(timer);
    }
  }

  server.on("clientError", answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
