/**
 * Audit entries as items of the payments table, and the page cursors of its listings.
 *
 *   <owner pk> / AUDIT#<entry id>   one entry (ids sort by time), no TTL: kept as long as what it
 *                                   is about (payments are never deleted), so past 400 days
 */
import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry } from "../domain/audit.js";
import { ValidationError } from "../domain/errors.js";
import type { ChangeSource } from "../domain/payment.js";
import type { Page, PageRequest } from "../ports.js";
import { AUDIT_SK_PREFIX, auditSk } from "./dynamo-keys.js";

type Item = Record<string, unknown>;

export function auditItem(pk: string, entry: AuditEntry): Item {
  return { ...entry, pk, sk: auditSk(entry.id), type: "audit" };
}

const SOURCES: readonly ChangeSource[] = ["api", "order.placed", "stripe", "reconciliation"];

function isAction(value: unknown): value is AuditAction {
  return typeof value === "string" && (AUDIT_ACTIONS as readonly string[]).includes(value);
}

function isSource(value: unknown): value is ChangeSource {
  return typeof value === "string" && (SOURCES as readonly string[]).includes(value);
}

const text = (item: Item, key: string): string | undefined =>
  typeof item[key] === "string" ? item[key] : undefined;

export function toAuditEntry(item: Item): AuditEntry {
  const { id, at, actor, action, outcome, source } = item;
  if (
    typeof id !== "string" ||
    typeof at !== "string" ||
    typeof actor !== "string" ||
    typeof outcome !== "string" ||
    !isAction(action) ||
    !isSource(source)
  ) {
    throw new Error(`stored audit item ${String(item.pk)} ${String(item.sk)} is incomplete`);
  }
  const requestId = text(item, "requestId");
  const idempotencyKey = text(item, "idempotencyKey");
  const reason = text(item, "reason");
  const detail: Record<string, string | number> = {};
  if (typeof item.detail === "object" && item.detail !== null) {
    for (const [k, v] of Object.entries(item.detail)) {
      if (typeof v === "string" || typeof v === "number") detail[k] = v;
    }
  }
  return {
    id,
    at,
    actor,
    source,
    action,
    outcome,
    ...(requestId === undefined ? {} : { requestId }),
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(reason === undefined ? {} : { reason }),
    ...(Object.keys(detail).length === 0 ? {} : { detail }),
  };
}

/**
 * A cursor is the last key of a page, as base64url JSON of string values. Callers hand it back,
 * so it is checked like any input: `expect` names each key and what its value must look like.
 */
export function encodeCursor(key: Readonly<Record<string, unknown>>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodeCursor(
  cursor: string,
  expect: Readonly<Record<string, (value: string) => boolean>>,
): Record<string, string> {
  const refuse = () =>
    new ValidationError([{ path: "/cursor", message: "is not a cursor this listing handed out" }]);
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuse();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw refuse();
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw refuse();
  const out: Record<string, string> = {};
  const entries = Object.entries(parsed);
  if (entries.length !== Object.keys(expect).length) throw refuse();
  for (const [name, check] of Object.entries(expect)) {
    const value: unknown = Reflect.get(parsed, name);
    if (typeof value !== "string" || !check(value)) throw refuse();
    out[name] = value;
  }
  return out;
}

/** One page of the audit entries under `pk`, newest first. */
export async function queryAudit(
  client: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  page: PageRequest,
): Promise<Page<AuditEntry>> {
  const start =
    page.cursor === undefined
      ? undefined
      : decodeCursor(page.cursor, {
          pk: (v) => v === pk,
          sk: (v) => v.startsWith(AUDIT_SK_PREFIX),
        });
  const { Items = [], LastEvaluatedKey } = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :audit)",
      ExpressionAttributeValues: { ":pk": pk, ":audit": AUDIT_SK_PREFIX },
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: page.limit,
      ExclusiveStartKey: start,
    }),
  );
  return {
    items: Items.map(toAuditEntry),
    ...(LastEvaluatedKey === undefined ? {} : { nextCursor: encodeCursor(LastEvaluatedKey) }),
  };
}
