/**
 * A recording proxy in front of the local DynamoDB server, for `npm run cost`.
 *
 * Every request is forwarded as is; its body and answer are read to compute the capacity units
 * it would cost on DynamoDB (./units.ts). A write's units depend on the larger of the item before
 * and after, so for each item a write names the proxy reads the item straight from the server
 * (not through itself, so those reads are not counted) before forwarding and after the answer.
 * Requests are attributed to the Lambda function that sent them by the `x-cost-function` header,
 * which scripts/cost.ts sets on every outgoing HTTP request made while a handler runs.
 */
import { createServer, Agent as HttpAgent, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tables } from "../../infra/tables.js";
import {
  indexWriteUnits,
  itemSize,
  type KeysOnlyIndex,
  readUnits,
  type WireItem,
  writeUnits,
} from "./units.js";

export interface Recorded {
  readonly fn: string;
  readonly invocation: string;
  readonly operation: string;
  readonly wru: number;
  readonly rru: number;
  /** The write units of each item the request wrote, by the item's kind (`kindOf`). */
  readonly writes: readonly {
    readonly kind: string;
    readonly wru: number;
    readonly bytes: number;
  }[];
}

export interface RecordingProxy {
  readonly url: string;
  readonly records: readonly Recorded[];
  close(): Promise<void>;
}

const keyNames: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.values(tables).map((t) => [
    t.name,
    "sortKey" in t ? [t.partitionKey, t.sortKey] : [t.partitionKey],
  ]),
);

const indexesOf: Readonly<Record<string, readonly KeysOnlyIndex[]>> = Object.fromEntries(
  Object.values(tables).map((t) => [t.name, "globalIndexes" in t ? t.globalIndexes : []]),
);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function asItem(v: unknown): WireItem | undefined {
  if (!isRecord(v)) return undefined;
  const item: Record<string, Record<string, unknown>> = {};
  for (const [k, value] of Object.entries(v)) if (isRecord(value)) item[k] = value;
  return item;
}

/** One item a write names: its table and key. */
interface Target {
  readonly table: string;
  readonly key: WireItem;
}

function keyOf(table: string, item: WireItem | undefined): WireItem | undefined {
  const names = keyNames[table];
  if (names === undefined || item === undefined) return undefined;
  const key: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const n of names) {
    const value = item[n];
    if (value === undefined) return undefined;
    key[n] = value;
  }
  return key;
}

function writeTarget(kind: string, body: Record<string, unknown>): Target | undefined {
  const table = typeof body.TableName === "string" ? body.TableName : undefined;
  if (table === undefined) return undefined;
  const key = kind === "Put" ? keyOf(table, asItem(body.Item)) : asItem(body.Key);
  return key === undefined ? undefined : { table, key };
}

/** The items a request writes, and whether it is a transaction. */
function writeTargets(operation: string, body: Record<string, unknown>): Target[] {
  if (operation === "PutItem") return [writeTarget("Put", body)].filter((t) => t !== undefined);
  if (operation === "UpdateItem" || operation === "DeleteItem") {
    return [writeTarget("Key", body)].filter((t) => t !== undefined);
  }
  if (operation === "TransactWriteItems" && Array.isArray(body.TransactItems)) {
    return body.TransactItems.flatMap((entry: unknown) => {
      if (!isRecord(entry)) return [];
      const [kind, inner] = Object.entries(entry)[0] ?? [];
      if (kind === undefined || !isRecord(inner)) return [];
      const target = writeTarget(kind === "Put" ? "Put" : "Key", inner);
      return target === undefined ? [] : [target];
    });
  }
  if (operation === "BatchWriteItem" && isRecord(body.RequestItems)) {
    return Object.entries(body.RequestItems).flatMap(([table, requests]) =>
      Array.isArray(requests)
        ? requests.flatMap((r: unknown) => {
            if (!isRecord(r)) return [];
            const put = isRecord(r.PutRequest)
              ? keyOf(table, asItem(r.PutRequest.Item))
              : undefined;
            const del = isRecord(r.DeleteRequest) ? asItem(r.DeleteRequest.Key) : undefined;
            const key = put ?? del;
            return key === undefined ? [] : [{ table, key }];
          })
        : [],
    );
  }
  return [];
}

function readCost(operation: string, body: Record<string, unknown>, answer: unknown): number {
  if (!isRecord(answer)) return 0;
  const consistency = body.ConsistentRead === true ? "strong" : "eventual";
  if (operation === "GetItem") return readUnits(itemSize(asItem(answer.Item)), consistency);
  if (operation === "Query" || operation === "Scan") {
    const items = Array.isArray(answer.Items) ? answer.Items : [];
    return readUnits(
      items.reduce((n: number, i: unknown) => n + itemSize(asItem(i)), 0),
      consistency,
    );
  }
  if (operation === "TransactGetItems" && Array.isArray(answer.Responses)) {
    return answer.Responses.reduce(
      (n: number, r: unknown) =>
        n + readUnits(itemSize(isRecord(r) ? asItem(r.Item) : undefined), "transactional"),
      0,
    );
  }
  if (operation === "BatchGetItem" && isRecord(answer.Responses)) {
    let units = 0;
    for (const [table, items] of Object.entries(answer.Responses)) {
      const requested = isRecord(body.RequestItems) ? body.RequestItems[table] : undefined;
      const mode = isRecord(requested) && requested.ConsistentRead === true ? "strong" : "eventual";
      if (Array.isArray(items)) {
        for (const i of items) units += readUnits(itemSize(asItem(i)), mode);
      }
    }
    return units;
  }
  return 0;
}

/** Posts one DynamoDB JSON request to `endpoint` (no signature: the local server does not check). */
async function dynamo(endpoint: string, operation: string, body: unknown): Promise<unknown> {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": `DynamoDB_20120810.${operation}`,
      authorization:
        "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: JSON.stringify(body),
  });
  return res.json();
}

async function itemOf(endpoint: string, target: Target): Promise<WireItem | undefined> {
  const answer = await dynamo(endpoint, "GetItem", {
    TableName: target.table,
    Key: target.key,
    ConsistentRead: true,
  });
  return isRecord(answer) ? asItem(answer.Item) : undefined;
}

/**
 * What kind of item a key names: its table, and for a sort key the upper-case words of it
 * (`PAYMENT#HISTORY#0000000002#0` is `Payments PAYMENT#HISTORY`), leaving out ids and versions.
 */
function kindOf(target: Target): string {
  const names = keyNames[target.table] ?? [];
  const sortKey = names[1] === undefined ? undefined : target.key[names[1]]?.S;
  if (typeof sortKey !== "string") return target.table;
  const words = sortKey.split("#").filter((part) => /^[A-Z_]+$/.test(part));
  return `${target.table} ${words.join("#")}`;
}

/** Write units of one item written, in the table and in its indexes. */
function unitsOfWrite(
  target: Target,
  before: WireItem | undefined,
  after: WireItem | undefined,
  transactional: boolean,
): number {
  const table = writeUnits(itemSize(before), itemSize(after), transactional);
  const keys = keyNames[target.table] ?? [];
  const indexes = (indexesOf[target.table] ?? []).reduce(
    (n, index) => n + indexWriteUnits(index, keys, before, after),
    0,
  );
  return table + indexes;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const agent = new HttpAgent({ keepAlive: true });
  const records: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        const operation = String(req.headers["x-amz-target"] ?? "").replace(/^DynamoDB_\d+\./, "");
        const fn = String(req.headers["x-cost-function"] ?? "(none)");
        const invocation = String(req.headers["x-cost-invocation"] ?? "");
        let body: Record<string, unknown> = {};
        try {
          const parsed: unknown = JSON.parse(raw.toString("utf8"));
          if (isRecord(parsed)) body = parsed;
        } catch {
          body = {};
        }
        const targets = writeTargets(operation, body);
        const before = await Promise.all(targets.map((t) => itemOf(target, t)));
        const headers = { ...req.headers };
        delete headers["x-cost-function"];
        delete headers["x-cost-invocation"];
        const forward = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers,
            agent,
          },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on("data", (c: Buffer) => parts.push(c));
            answer.on("end", () => {
              void (async () => {
                const text = Buffer.concat(parts);
                let parsed: unknown;
                try {
                  parsed = JSON.parse(text.toString("utf8"));
                } catch {
                  parsed = undefined;
                }
                const after = await Promise.all(targets.map((t) => itemOf(target, t)));
                const transactional = operation === "TransactWriteItems";
                const writes = targets.map((t, i) => ({
                  kind: kindOf(t),
                  wru: unitsOfWrite(t, before[i], after[i], transactional),
                  bytes: Math.max(itemSize(before[i]), itemSize(after[i])),
                }));
                const wru = writes.reduce((n, w) => n + w.wru, 0);
                const ok = (answer.statusCode ?? 500) < 300;
                const rru = ok ? readCost(operation, body, parsed) : 0;
                if (operation !== "") records.push({ fn, invocation, operation, wru, rru, writes });
                res.writeHead(answer.statusCode ?? 502, answer.headers);
                res.end(text);
              })();
            });
          },
        );
        forward.on("error", (error) => {
          res.writeHead(502);
          res.end(error.message);
        });
        forward.end(raw);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
