/**
 * A fault-injecting HTTP proxy in front of the local DynamoDB server, for tests.
 *
 * Requests are forwarded as they are, except the next `times` that match a programmed rule
 * (operation from `X-Amz-Target`, optionally a table the request names), which get the rule's
 * fault instead:
 *
 *   latency      held `ms`, then forwarded (the write still lands, as on DynamoDB, even when the
 *                client gave up meanwhile)
 *   drop         the socket destroyed before forwarding (nothing written); `afterForward`: the
 *                request is applied and its answer lost
 *   status       a bare HTTP 500 or 503 from the service (nothing written)
 *   throughput   400 ProvisionedThroughputExceededException
 *   throttling   400 ThrottlingException
 *   conflict     400 TransactionCanceledException with TransactionConflict (TransactWriteItems),
 *                TransactionConflictException for any other operation
 *
 * Rules are matched in the order they were programmed; a rule is spent after `times` requests.
 */
import {
  createServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

export type DynamoDbFault =
  | { readonly kind: "latency"; readonly ms: number }
  | { readonly kind: "drop"; readonly afterForward?: boolean }
  | { readonly kind: "status"; readonly status: 500 | 503 }
  | { readonly kind: "throughput" }
  | { readonly kind: "throttling" }
  | { readonly kind: "conflict" };

export interface FaultRule {
  /** `TransactWriteItems` or the whole target, `DynamoDB_20120810.TransactWriteItems`. */
  readonly operation: string;
  /** Only requests that name this table (anywhere: TableName, TransactItems, RequestItems). */
  readonly table?: string;
  /** How many matching requests get the fault (default 1). */
  readonly times?: number;
  readonly fault: DynamoDbFault;
}

export interface Injection {
  /** Matching requests that got the fault so far. */
  readonly fired: number;
  /** Resolves once the fault was given `times` times. */
  readonly spent: Promise<void>;
}

export interface DynamoDbFaultProxy {
  readonly url: string;
  inject(rule: FaultRule): Injection;
  /** Forgets every rule not yet spent. */
  clear(): void;
  /** Resolves when no request is being held or forwarded. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface ActiveRule {
  readonly rule: FaultRule;
  readonly operation: string;
  readonly times: number;
  fired: number;
  readonly resolve: () => void;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Every table a DynamoDB JSON request names. */
export function tablesOf(body: unknown): Set<string> {
  const names = new Set<string>();
  if (!isRecord(body)) return names;
  if (typeof body.TableName === "string") names.add(body.TableName);
  if (isRecord(body.RequestItems))
    for (const name of Object.keys(body.RequestItems)) names.add(name);
  if (Array.isArray(body.TransactItems)) {
    for (const entry of body.TransactItems) {
      if (!isRecord(entry)) continue;
      for (const inner of Object.values(entry)) {
        if (isRecord(inner) && typeof inner.TableName === "string") names.add(inner.TableName);
      }
    }
  }
  return names;
}

const operationName = (target: string): string => target.replace(/^DynamoDB_\d+\./, "");

function answerError(res: ServerResponse, status: number, type: string, extra: object): void {
  const body = JSON.stringify({
    __type: `com.amazonaws.dynamodb.v20120810#${type}`,
    message: `injected fault: ${type}`,
    ...extra,
  });
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.0",
    "x-amzn-requestid": `fault-${Date.now()}`,
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export async function startDynamoDbFaultProxy(target: string): Promise<DynamoDbFaultProxy> {
  const upstream = new URL(target);
  const agent = new HttpAgent({ keepAlive: true });
  let rules: ActiveRule[] = [];
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];

  const settle = () => {
    inFlight--;
    if (inFlight === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  function take(operation: string, tables: Set<string>): DynamoDbFault | undefined {
    const rule = rules.find(
      (r) =>
        r.fired < r.times &&
        r.operation === operation &&
        (r.rule.table === undefined || tables.has(r.rule.table)),
    );
    if (rule === undefined) return undefined;
    rule.fired++;
    if (rule.fired === rule.times) {
      rules = rules.filter((r) => r !== rule);
      rule.resolve();
    }
    return rule.rule.fault;
  }

  /** Forwards the request; `deliver` false: applied upstream, the answer thrown away. */
  function forward(req: IncomingMessage, raw: Buffer, res: ServerResponse, deliver: boolean) {
    return new Promise<void>((resolve) => {
      const out = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on("data", (c: Buffer) => parts.push(c));
          answer.on("end", () => {
            if (deliver && !res.destroyed) {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(parts));
            } else {
              res.destroy();
            }
            resolve();
          });
        },
      );
      out.on("error", (error) => {
        if (!res.destroyed) {
          res.writeHead(502);
          res.end(error.message);
        }
        resolve();
      });
      out.end(raw);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const operation = operationName(String(req.headers["x-amz-target"] ?? ""));
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      body = undefined;
    }
    const fault = take(operation, tablesOf(body));
    if (fault === undefined) return await forward(req, raw, res, true);
    switch (fault.kind) {
      case "latency":
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        return await forward(req, raw, res, true);
      case "drop":
        if (fault.afterForward === true) return await forward(req, raw, res, false);
        req.socket.destroy();
        return;
      case "status": {
        const type = fault.status === 503 ? "ServiceUnavailable" : "InternalServerError";
        return answerError(res, fault.status, type, {});
      }
      case "throughput":
        return answerError(res, 400, "ProvisionedThroughputExceededException", {});
      case "throttling":
        return answerError(res, 400, "ThrottlingException", {});
      case "conflict": {
        if (operation !== "TransactWriteItems") {
          return answerError(res, 400, "TransactionConflictException", {});
        }
        const count =
          isRecord(body) && Array.isArray(body.TransactItems) ? body.TransactItems.length : 1;
        const reasons = Array.from({ length: count }, (_, i) =>
          i === 0
            ? { Code: "TransactionConflict", Message: "Transaction is ongoing for the item" }
            : { Code: "None" },
        );
        return answerError(res, 400, "TransactionCanceledException", {
          message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(", ")}]`,
          CancellationReasons: reasons,
        });
      }
    }
  }

  const server = createServer((req, res) => {
    inFlight++;
    let ended = false;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      settle();
    };
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      ended = true;
      handle(req, res, Buffer.concat(chunks)).finally(finish);
    });
    // A client that gave up before sending the whole body: nothing to forward.
    req.on("close", () => {
      if (!ended) finish();
    });
    req.on("error", () => undefined);
    res.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    inject(rule) {
      let resolve: () => void = () => undefined;
      const spent = new Promise<void>((r) => {
        resolve = r;
      });
      const active: ActiveRule = {
        rule,
        operation: operationName(rule.operation),
        times: rule.times ?? 1,
        fired: 0,
        resolve,
      };
      rules.push(active);
      return {
        get fired() {
          return active.fired;
        },
        spent,
      };
    },
    clear() {
      rules = [];
    },
    idle: () =>
      inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r)),
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
