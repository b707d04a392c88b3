/**
 * A local DynamoDB-compatible server for tests and `npm start`: moto in server mode, from the
 * virtualenv that local/setup.mjs (npm postinstall) makes at .local/venv.
 *
 * moto is served by local/moto_server.py, which handles ONE REQUEST AT A TIME: moto's own
 * `moto_server` CLI is multi-threaded, and moto does not lock around a conditional write or a
 * transaction, so two concurrent conditional writes could both pass. Real DynamoDB applies
 * each conditional write and each transaction atomically; a single-threaded server does too.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  type KeySchemaElement,
  ListTablesCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type StreamViewType,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { tables } from "../infra/tables.js";
import { forwardLines, freePort, superviseChild } from "./child-process.js";

export interface LocalDynamoDb {
  /** e.g. `http://127.0.0.1:41234`; pass it as `endpoint` to a DynamoDB client. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s). Safe to call more than once. */
  stop(): Promise<void>;
}

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const venvPython = join(
  root,
  ".local",
  "venv",
  process.platform === "win32" ? "Scripts" : "bin",
  process.platform === "win32" ? "python.exe" : "python",
);
const serverScript = join(root, "local", "moto_server.py");

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 3_000;
const STDERR_TAIL_LINES = 20;

/**
 * Client settings for the local server: a fixed region and dummy credentials (moto accepts
 * any), so nothing is read from the developer's AWS configuration.
 */
export function localDynamoDbClientConfig(endpoint: string): DynamoDBClientConfig {
  return {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  };
}

/**
 * Starts moto's DynamoDB server from .local/venv on 127.0.0.1 and a free port (or `port`),
 * waits until it answers.
 *
 * The server's output goes to `log`, line by line (discarded without it). The child process
 * does not keep Node running; it is killed by stop(), when this process exits, and (through its
 * standard input closing) when this process dies.
 */
export async function startLocalDynamoDb(
  options: { port?: number; log?: (line: string) => void } = {},
): Promise<LocalDynamoDb> {
  if (!existsSync(venvPython)) {
    throw new Error(
      `local DynamoDB: ${venvPython} is missing; run \`node local/setup.mjs\` (or npm install) first`,
    );
  }
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const log = options.log;

  const child = spawn(venvPython, [serverScript, String(port)], {
    cwd: root,
    env: { ...process.env, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });

  const stderrTail: string[] = [];
  // moto_server.py prints this once its socket is bound: until then, whatever answers on the
  // port is not our server (e.g. another process already listens there).
  let listening = false;
  forwardLines(child.stdout, (line) => {
    if (line.startsWith("moto listening on ")) listening = true;
    log?.(line);
  });
  forwardLines(child.stderr, (line) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    log?.(line);
  });
  // Neither the child nor its pipes keep the event loop alive; the exit hook kills the child.
  const supervised = superviseChild(child, STOP_GRACE_MS);
  const stop = () => supervised.stop();

  const started = Date.now();
  try {
    await waitUntilReady(endpoint, () => {
      const { exit: exited, spawnError } = supervised.ended();
      if (spawnError) return { failed: `could not start ${venvPython}: ${spawnError.message}` };
      if (exited) return { failed: `moto exited (code ${exited.code}, signal ${exited.signal})` };
      return { listening };
    });
  } catch (error) {
    await stop();
    const tail = stderrTail.length > 0 ? `\n--- moto stderr ---\n${stderrTail.join("\n")}` : "";
    throw new Error(`local DynamoDB on ${endpoint}: ${(error as Error).message}${tail}`);
  }
  log?.(`local DynamoDB ready on ${endpoint} after ${Date.now() - started} ms`);

  return { endpoint, port, stop };
}

/**
 * Creates (if missing) the tables described in infra/tables.ts, with TTL and streams as
 * described there. Idempotent.
 */
export async function createTables(
  client: DynamoDBClient,
  names: { payments: string; idempotency: string } = {
    payments: tables.payments.name,
    idempotency: tables.idempotency.name,
  },
): Promise<void> {
  await Promise.all([
    ensureTable(client, { ...tables.payments, name: names.payments }),
    ensureTable(client, { ...tables.idempotency, name: names.idempotency }),
  ]);
}

export interface LocalTables extends LocalDynamoDb {
  /** A client of the server (no tracing, no retries beyond the SDK's), for seeding and reading. */
  readonly client: DynamoDBClient;
}

/**
 * A local DynamoDB server with this project's tables, for the scripts (`npm run cost`, the
 * bench): the server, a client of it, and one stop() for both.
 */
export async function startLocalTables(
  options: { port?: number; log?: (line: string) => void } = {},
): Promise<LocalTables> {
  const db = await startLocalDynamoDb(options);
  const client = new DynamoDBClient(localDynamoDbClientConfig(db.endpoint));
  const stop = async () => {
    client.destroy();
    await db.stop();
  };
  try {
    await createTables(client);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint: db.endpoint, port: db.port, client, stop };
}

/** The shape of one entry of infra/tables.ts. */
interface TableSpec {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly ttlAttribute?: string;
  /** SST's spelling of a StreamViewType, e.g. "new-and-old-images". */
  readonly stream?: string;
  readonly globalIndexes?: readonly {
    readonly name: string;
    readonly partitionKey: string;
    readonly sortKey?: string;
    readonly projection: "keys-only" | "all";
  }[];
}

async function ensureTable(client: DynamoDBClient, spec: TableSpec): Promise<void> {
  const streamViewType = spec.stream
    ? (spec.stream.toUpperCase().replaceAll("-", "_") as StreamViewType)
    : undefined;

  let table = await describeTable(client, spec.name);
  if (!table) {
    const keySchema: KeySchemaElement[] = [{ AttributeName: spec.partitionKey, KeyType: "HASH" }];
    const attributes: AttributeDefinition[] = [
      { AttributeName: spec.partitionKey, AttributeType: "S" },
    ];
    if (spec.sortKey) {
      keySchema.push({ AttributeName: spec.sortKey, KeyType: "RANGE" });
      attributes.push({ AttributeName: spec.sortKey, AttributeType: "S" });
    }
    const indexes = (spec.globalIndexes ?? []).map((index) => {
      for (const name of [index.partitionKey, index.sortKey]) {
        if (name !== undefined && !attributes.some((a) => a.AttributeName === name)) {
          attributes.push({ AttributeName: name, AttributeType: "S" });
        }
      }
      return {
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: "HASH" as const },
          ...(index.sortKey === undefined
            ? []
            : [{ AttributeName: index.sortKey, KeyType: "RANGE" as const }]),
        ],
        Projection: {
          ProjectionType: index.projection === "all" ? ("ALL" as const) : ("KEYS_ONLY" as const),
        },
      };
    });
    try {
      const created = await client.send(
        new CreateTableCommand({
          TableName: spec.name,
          KeySchema: keySchema,
          AttributeDefinitions: attributes,
          BillingMode: "PAY_PER_REQUEST",
          ...(indexes.length > 0 && { GlobalSecondaryIndexes: indexes }),
          ...(streamViewType && {
            StreamSpecification: { StreamEnabled: true, StreamViewType: streamViewType },
          }),
        }),
      );
      table = created.TableDescription;
    } catch (error) {
      // Someone else created it in the meantime.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    if (table?.TableStatus !== "ACTIVE") {
      await waitUntilTableExists(
        { client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
        { TableName: spec.name },
      );
      table = await describeTable(client, spec.name);
    }
  } else if (
    streamViewType &&
    !(
      table.StreamSpecification?.StreamEnabled &&
      table.StreamSpecification.StreamViewType === streamViewType
    )
  ) {
    // An existing table without the stream (e.g. from an older layout): turn it on.
    await client.send(
      new UpdateTableCommand({
        TableName: spec.name,
        StreamSpecification: { StreamEnabled: true, StreamViewType: streamViewType },
      }),
    );
  }

  if (spec.ttlAttribute) {
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: spec.name }));
    const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
    const attribute = ttl.TimeToLiveDescription?.AttributeName;
    if (!((status === "ENABLED" || status === "ENABLING") && attribute === spec.ttlAttribute)) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: spec.name,
          TimeToLiveSpecification: { Enabled: true, AttributeName: spec.ttlAttribute },
        }),
      );
    }
  }
}

async function describeTable(
  client: DynamoDBClient,
  name: string,
): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/**
 * Once the child says it is listening, polls ListTables until the server answers; fails when
 * the child fails or READY_TIMEOUT_MS passes. This is a readiness check, not a test sleep.
 */
async function waitUntilReady(
  endpoint: string,
  state: () => { failed: string } | { listening: boolean },
): Promise<void> {
  const client = new DynamoDBClient({
    ...localDynamoDbClientConfig(endpoint),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = "moto has not reported listening yet";
  try {
    for (;;) {
      const now = state();
      if ("failed" in now) throw new Error(now.failed);
      if (now.listening) {
        try {
          await client.send(new ListTablesCommand({ Limit: 1 }));
          return;
        } catch (error) {
          lastError = (error as Error).message || String(error);
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`no answer within ${READY_TIMEOUT_MS / 1000} s (last error: ${lastError})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    client.destroy();
  }
}
