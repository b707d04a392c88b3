/**
 * The DynamoDB tables, built from the layout in infra/tables.ts (the same data the local
 * emulator uses). SST's Dynamo turns on point-in-time recovery itself; the transform below states
 * it (with the full 35-day window) so it is visible here and checked by the infra test.
 * Production-like stages also get deletion protection.
 */
import { tables } from "./tables.js";

/** The fields of infra/tables.ts that a table's shape depends on. */
interface TableLayout {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly ttlAttribute?: string;
  readonly stream?: "keys-only" | "new-image" | "old-image" | "new-and-old-images";
  readonly globalIndexes?: readonly {
    readonly name: string;
    readonly partitionKey: string;
    readonly sortKey?: string;
    readonly projection?: "all" | "keys-only";
  }[];
}

/** Days of point-in-time recovery (DynamoDB's maximum). */
const PITR_DAYS = 35;

/** SST Dynamo arguments for one table layout. Every key attribute is a string. */
export function dynamoArgs(layout: TableLayout, production: boolean): sst.aws.DynamoArgs {
  const keys = [
    layout.partitionKey,
    layout.sortKey,
    ...(layout.globalIndexes ?? []).flatMap((index) => [index.partitionKey, index.sortKey]),
  ].filter((key): key is string => key !== undefined);
  return {
    fields: Object.fromEntries(keys.map((key) => [key, "string" as const])),
    primaryIndex: {
      hashKey: layout.partitionKey,
      ...(layout.sortKey === undefined ? {} : { rangeKey: layout.sortKey }),
    },
    ...(layout.globalIndexes === undefined
      ? {}
      : {
          globalIndexes: Object.fromEntries(
            layout.globalIndexes.map((index) => [
              index.name,
              {
                hashKey: index.partitionKey,
                ...(index.sortKey === undefined ? {} : { rangeKey: index.sortKey }),
                projection: index.projection ?? "all",
              },
            ]),
          ),
        }),
    ...(layout.stream === undefined ? {} : { stream: layout.stream }),
    ...(layout.ttlAttribute === undefined ? {} : { ttl: layout.ttlAttribute }),
    deletionProtection: production,
    transform: {
      table: { pointInTimeRecovery: { enabled: true, recoveryPeriodInDays: PITR_DAYS } },
    },
  };
}

export function createStorage(production: boolean) {
  const payments: TableLayout = tables.payments;
  const idempotency: TableLayout = tables.idempotency;
  return {
    payments: new sst.aws.Dynamo(payments.name, dynamoArgs(payments, production)),
    idempotency: new sst.aws.Dynamo(idempotency.name, dynamoArgs(idempotency, production)),
  };
}

export type Storage = ReturnType<typeof createStorage>;
