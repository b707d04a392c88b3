/**
 * PaymentRepository on DynamoDB (single table, layout in infra/tables.ts).
 *
 * Refund reservations and optimistic concurrency:
 *
 *   reserve:  Update payment  SET pending = pending + :amt, version = version + 1
 *                             IF version = :readVersion AND status IN (captured, partially_refunded)
 *             Put    refund   IF attribute_not_exists(sk)                         (one transaction)
 *   release:  Update refund   SET reservation = released  IF reservation = held
 *             Update payment  SET pending = pending - :amt, version = version + 1  (one transaction)
 *   change:   Update payment  (the new state, version + 1, its new history entries appended,
 *                             the Stripe event's id among the applied ones)  IF version = :readVersion
 *             Put    outbox items; Update refund records IF unchanged since read;
 *             Put    audit entry                                                  (one transaction)
 *             A change must fit one transaction (`changeFits`); the caller splits a bigger one.
 *
 * The remainder (captured - refunded - pending) is computed from the version that was read; the
 * version check makes the write fail if anything changed since, so two concurrent refunds can
 * never both fit in the same remainder. Every write of the payment item bumps the version, so a
 * change computed from a stale read never overwrites a newer one. The Stripe event id is
 * recorded in the payment item by the write of its effect, so an event is applied once.
 *
 * The status history lives in the payment item (`history`, appended by each change), so a change
 * writes one payment item instead of a payment and a history item per step. Payments written
 * before that keep their history items (`PAYMENT#HISTORY#…`): they are still read, before the
 * item's own entries.
 *
 * Keys and index attributes are built in dynamo-keys.ts, items encoded and decoded in
 * dynamo-codecs.ts; this file holds the transactions, queries and conditions.
 */

import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { Actor, AuditEntry } from "../domain/audit.js";
import type { OutboxEvent } from "../domain/events.js";
import type { RefundRecordState } from "../domain/lifecycle.js";
import { PAYMENT_STATUSES, type Payment, type StatusChange } from "../domain/payment.js";
import { needsWatching, nextLookAt } from "../domain/reconciliation.js";
import type { Refund, RefundStatus } from "../domain/refunds.js";
import type {
  ApplyChangeResult,
  ChangePlan,
  InsertPaymentResult,
  OutboxSummary,
  Page,
  PageRequest,
  PaymentRepository,
  PaymentWithHistory,
  RecentQuery,
  ReserveRefundResult,
} from "../ports.js";
import { auditItem, decodeCursor, encodeCursor, queryAudit } from "./dynamo-audit.js";
import {
  type Item,
  orderItem,
  outboxItem,
  refundItem,
  storedChange,
  str,
  toHistory,
  toOutboxItem,
  toPayment,
  toRefund,
  toStatusChange,
} from "./dynamo-codecs.js";
import {
  INTENT_SK,
  intentPk,
  isListAt,
  isPaymentPk,
  listAtUpTo,
  listKeys,
  ORDER_SK,
  OUTBOX_SK_PREFIX,
  orderPk,
  PAYMENT_SK,
  PAYMENT_WATCH,
  paymentIdOfListAt,
  paymentIdOfPk,
  paymentPk,
  REFUND_SK_PREFIX,
  refundSk,
} from "./dynamo-keys.js";

type TransactItems = NonNullable<TransactWriteCommandInput["TransactItems"]>;

/** DynamoDB's limits on one transaction: 100 writes, 4 MB in all. */
const MAX_TRANSACTION_ITEMS = 100;
/**
 * Items are measured as JSON, which is close to DynamoDB's own sizing but not the same (numbers,
 * attribute names): the margin keeps an estimate just under the limit from being refused.
 */
const MAX_TRANSACTION_BYTES = 3 * 1024 * 1024;

/** Whether the n-th write of a cancelled transaction failed its condition. */
function conditionFailedAt(error: TransactionCanceledException, index: number): boolean {
  return error.CancellationReasons?.[index]?.Code === "ConditionalCheckFailed";
}

export class DynamoPaymentRepository implements PaymentRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Quiet time before reconciliation first looks at an open payment. */
    private readonly reconcileAfterSeconds = 900,
  ) {}

  /** The sparse-index attributes that put an open payment on reconciliation's list. */
  private watchFields(payment: Payment): { watch?: string; watchAt?: string } {
    if (!needsWatching(payment)) return {};
    return {
      watch: PAYMENT_WATCH,
      watchAt: nextLookAt(payment.updatedAt, this.reconcileAfterSeconds),
    };
  }

  async dueForReconciliation(now: string, limit: number): Promise<string[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: "byWatch",
        KeyConditionExpression: "watch = :open AND watchAt <= :now",
        ExpressionAttributeValues: { ":open": PAYMENT_WATCH, ":now": now },
        Limit: limit,
      }),
    );
    return Items.map((item) => paymentIdOfPk(str(item, "pk")));
  }

  async setWatch(
    paymentId: string,
    nextAt: string | undefined,
    readVersion: number,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: paymentPk(paymentId), sk: PAYMENT_SK },
          ...(nextAt === undefined
            ? {
                UpdateExpression: "REMOVE watch, watchAt",
                ExpressionAttributeValues: { ":v": readVersion },
              }
            : {
                UpdateExpression: "SET watch = :open, watchAt = :at",
                ExpressionAttributeValues: {
                  ":open": PAYMENT_WATCH,
                  ":at": nextAt,
                  ":v": readVersion,
                },
              }),
          ConditionExpression: "version = :v",
        }),
      );
    } catch (error) {
      // The payment changed since it was read; that write set its own watch. Leave it.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async listRefunds(paymentId: string): Promise<Refund[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :refund)",
        ExpressionAttributeValues: { ":pk": paymentPk(paymentId), ":refund": REFUND_SK_PREFIX },
        ConsistentRead: true,
      }),
    );
    return Items.map(toRefund);
  }

  async insertNew(
    payment: Payment,
    actor: Actor,
    event: OutboxEvent,
    audit: AuditEntry,
  ): Promise<InsertPaymentResult> {
    const pk = paymentPk(payment.id);
    // No PaymentIntent → payment item (2 write units in this transaction): the PaymentIntent's
    // metadata names the payment; the items earlier creates wrote are still read.
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: orderItem(payment),
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...payment,
                  ...this.watchFields(payment),
                  ...listKeys(payment, payment.createdAt),
                  history: [
                    storedChange({
                      status: payment.status,
                      at: payment.createdAt,
                      source: actor.source,
                      actor: actor.id,
                    }),
                  ],
                  pk,
                  sk: PAYMENT_SK,
                  type: "payment",
                },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: outboxItem(payment, payment.version, [event]),
              },
            },
            { Put: { TableName: this.tableName, Item: auditItem(pk, audit) } },
          ],
        }),
      );
      return { inserted: true };
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        if (conditionFailedAt(error, 0)) {
          const existing = await this.paymentIdForOrder(payment.orderId);
          if (existing !== undefined)
            return { inserted: false, reason: "order_taken", existingPaymentId: existing };
        }
        if (conditionFailedAt(error, 1)) return { inserted: false, reason: "payment_id_taken" };
        // Another transaction on the same items at the same moment: the lock may now be taken.
        if (error.CancellationReasons?.some((r) => r.Code === "TransactionConflict")) {
          const existing = await this.paymentIdForOrder(payment.orderId);
          return existing === undefined
            ? { inserted: false, reason: "conflict" }
            : { inserted: false, reason: "order_taken", existingPaymentId: existing };
        }
      }
      throw error;
    }
  }

  /** One item by its keys, read consistently (every read here must see the latest write). */
  private async item(pk: string, sk: string): Promise<Item | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }),
    );
    return Item;
  }

  async get(paymentId: string): Promise<Payment | undefined> {
    const Item = await this.item(paymentPk(paymentId), PAYMENT_SK);
    return Item === undefined ? undefined : toPayment(Item);
  }

  async getWithHistory(paymentId: string): Promise<PaymentWithHistory | undefined> {
    // One query: the payment item and its history items share the PAYMENT sort-key prefix.
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": paymentPk(paymentId), ":prefix": PAYMENT_SK },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    const head = items.find((i) => i.sk === PAYMENT_SK);
    if (head === undefined) return undefined;
    // History items of a payment written before the history moved into its item come first.
    const legacy = items.filter((i) => i.sk !== PAYMENT_SK).map(toStatusChange);
    return { payment: toPayment(head), history: [...legacy, ...toHistory(head)] };
  }

  async paymentIdForOrder(orderId: string): Promise<string | undefined> {
    const Item = await this.item(orderPk(orderId), ORDER_SK);
    return Item === undefined ? undefined : str(Item, "paymentId");
  }

  async getRefund(paymentId: string, refundId: string): Promise<Refund | undefined> {
    const Item = await this.item(paymentPk(paymentId), refundSk(refundId));
    return Item === undefined ? undefined : toRefund(Item);
  }

  async reserveRefund(
    payment: Payment,
    refund: Refund,
    audit: AuditEntry,
  ): Promise<ReserveRefundResult> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: paymentPk(payment.id), sk: PAYMENT_SK },
                UpdateExpression:
                  "SET amountRefundPending = amountRefundPending + :amt, version = version + :one, updatedAt = :now, " +
                  "watch = :open, watchAt = :due",
                ConditionExpression: "version = :v AND #status IN (:captured, :partial)",
                ExpressionAttributeNames: { "#status": "status" },
                ExpressionAttributeValues: {
                  ":amt": refund.amount,
                  ":one": 1,
                  ":now": refund.createdAt,
                  ":v": payment.version,
                  ":captured": "captured",
                  ":partial": "partially_refunded",
                  ":open": PAYMENT_WATCH,
                  ":due": nextLookAt(refund.createdAt, this.reconcileAfterSeconds),
                },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: refundItem(payment.id, refund),
                // A refund released as `canceled` never reached Stripe (a 429, or nothing
                // answered and reconciliation found no such refund): the same request may hold it
                // again. The payment's version check above still re-decides the remainder.
                ConditionExpression:
                  "attribute_not_exists(sk) OR (reservation = :released AND #rstatus = :canceled)",
                ExpressionAttributeNames: { "#rstatus": "status" },
                ExpressionAttributeValues: { ":released": "released", ":canceled": "canceled" },
              },
            },
            { Put: { TableName: this.tableName, Item: auditItem(paymentPk(payment.id), audit) } },
          ],
        }),
      );
      return { outcome: "reserved", refund };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      if (conditionFailedAt(error, 1)) {
        const existing = await this.getRefund(payment.id, refund.id);
        if (existing !== undefined) return { outcome: "exists", refund: existing };
      }
      if (conditionFailedAt(error, 0)) return { outcome: "conflict" };
      // Another transaction touched the same items at the same moment: also a conflict.
      if (error.CancellationReasons?.some((r) => r.Code === "TransactionConflict"))
        return { outcome: "conflict" };
      throw error;
    }
  }

  async releaseRefund(refund: Refund, status: RefundStatus, now: string): Promise<void> {
    // A concurrent write to the payment cancels the transaction without harm: try again.
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.releaseOnce(refund, status, now);
      if (outcome === "done") return;
      if (attempt >= 10) throw new Error(`could not release refund ${refund.id}: kept conflicting`);
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
    }
  }

  private async releaseOnce(
    refund: Refund,
    status: RefundStatus,
    now: string,
  ): Promise<"done" | "conflict"> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: paymentPk(refund.paymentId), sk: refundSk(refund.id) },
                UpdateExpression:
                  "SET reservation = :released, #status = :status, updatedAt = :now",
                ConditionExpression: "reservation = :held",
                ExpressionAttributeNames: { "#status": "status" },
                ExpressionAttributeValues: {
                  ":released": "released",
                  ":held": "held",
                  ":status": status,
                  ":now": now,
                },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: paymentPk(refund.paymentId), sk: PAYMENT_SK },
                UpdateExpression:
                  "SET amountRefundPending = amountRefundPending - :amt, version = version + :one, updatedAt = :now",
                ExpressionAttributeValues: { ":amt": refund.amount, ":one": 1, ":now": now },
              },
            },
          ],
        }),
      );
      return "done";
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      // Already released or settled by someone else: releasing twice must change nothing.
      if (conditionFailedAt(error, 0)) return "done";
      if (error.CancellationReasons?.some((r) => r.Code === "TransactionConflict"))
        return "conflict";
      throw error;
    }
  }

  async recordProviderRefund(
    refund: Refund,
    stripeRefundId: string,
    status: RefundStatus,
    now: string,
  ): Promise<Refund> {
    const key = { pk: paymentPk(refund.paymentId), sk: refundSk(refund.id) };
    try {
      // Stripe's answer speaks for the refund only while no webhook has settled or released it.
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: "SET stripeRefundId = :sid, #status = :status, updatedAt = :now",
          ConditionExpression: "reservation = :held",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":sid": stripeRefundId,
            ":status": status,
            ":now": now,
            ":held": "held",
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      if (Attributes !== undefined) return toRefund(Attributes);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: "SET stripeRefundId = :sid",
        ConditionExpression: "attribute_exists(sk)",
        ExpressionAttributeValues: { ":sid": stripeRefundId },
        ReturnValues: "ALL_NEW",
      }),
    );
    return Attributes === undefined ? { ...refund, stripeRefundId } : toRefund(Attributes);
  }

  /**
   * The legacy PaymentIntent → payment item (`INTENT#<pi>/INTENT`): read for the payments created
   * before 2026-12-07, which have one; no longer written (`insertNew`), so a newer payment is
   * found by its PaymentIntent's metadata instead (lib/use-cases/handle-stripe-event.ts).
   */
  async paymentIdForIntent(paymentIntentId: string): Promise<string | undefined> {
    const Item = await this.item(intentPk(paymentIntentId), INTENT_SK);
    return Item === undefined ? undefined : str(Item, "paymentId");
  }

  async recordAudit(paymentId: string, entry: AuditEntry): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: auditItem(paymentPk(paymentId), entry) }),
    );
  }

  listAudit(paymentId: string, page: PageRequest): Promise<Page<AuditEntry>> {
    return queryAudit(this.client, this.tableName, paymentPk(paymentId), page);
  }

  async listOutbox(paymentId: string): Promise<OutboxSummary[]> {
    const out: OutboxSummary[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :outbox)",
          ExpressionAttributeValues: { ":pk": paymentPk(paymentId), ":outbox": OUTBOX_SK_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const found of page.Items ?? []) {
        const item = toOutboxItem(found);
        for (const event of item.events) {
          out.push({
            id: event.id,
            type: event.type,
            occurredAt: event.occurredAt,
            delivery:
              item.publishedAt !== undefined
                ? "published"
                : item.parked === true
                  ? "parked"
                  : "stream",
            ...(item.publishedAt === undefined ? {} : { publishedAt: item.publishedAt }),
          });
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return out;
  }

  async paymentIdsForCustomer(customerId: string, page: PageRequest): Promise<Page<string>> {
    const start =
      page.cursor === undefined
        ? undefined
        : decodeCursor(page.cursor, {
            customerId: (v) => v === customerId,
            createdAt: (v) => v.length <= 40,
            pk: isPaymentPk,
            sk: (v) => v === PAYMENT_SK,
          });
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: "byCustomer",
        KeyConditionExpression: "customerId = :c",
        ExpressionAttributeValues: { ":c": customerId },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: start,
      }),
    );
    return {
      items: Items.map((item) => paymentIdOfPk(str(item, "pk"))),
      ...(LastEvaluatedKey === undefined ? {} : { nextCursor: encodeCursor(LastEvaluatedKey) }),
    };
  }

  async recentPaymentIds(query: RecentQuery): Promise<Page<string>> {
    const after =
      query.cursor === undefined
        ? undefined
        : decodeCursor(query.cursor, { listAt: isListAt }).listAt;
    const lo = query.from;
    // An upper bound ends after every `#<payment id>` of the same time.
    const hi = after ?? (query.to === undefined ? undefined : listAtUpTo(query.to));
    const statuses = query.statuses.length === 0 ? PAYMENT_STATUSES : query.statuses;
    // One index partition per status, read newest first, merged; one more than a page each (and
    // one for the cursor's own item) tells whether anything is left.
    const pages = await Promise.all(
      statuses.map(async (status) => {
        const values: Record<string, string> = { ":s": status };
        let condition = "listStatus = :s";
        if (lo !== undefined && hi !== undefined) {
          condition += " AND listAt BETWEEN :lo AND :hi";
          values[":lo"] = lo;
          values[":hi"] = hi;
        } else if (hi !== undefined) {
          condition += " AND listAt <= :hi";
          values[":hi"] = hi;
        } else if (lo !== undefined) {
          condition += " AND listAt >= :lo";
          values[":lo"] = lo;
        }
        const { Items = [] } = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: "byStatus",
            KeyConditionExpression: condition,
            ExpressionAttributeValues: values,
            ScanIndexForward: false,
            Limit: query.limit + 2,
          }),
        );
        return Items.map((item) => str(item, "listAt")).filter((at) => at !== after);
      }),
    );
    const merged = pages.flat().sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const taken = merged.slice(0, query.limit);
    const last = taken.at(-1);
    return {
      items: taken.map(paymentIdOfListAt),
      ...(merged.length > query.limit && last !== undefined
        ? { nextCursor: encodeCursor({ listAt: last }) }
        : {}),
    };
  }

  changeFits(plan: ChangePlan): boolean {
    const items = this.changeItems(plan);
    if (items.length > MAX_TRANSACTION_ITEMS) return false;
    let bytes = 0;
    for (const item of items) bytes += Buffer.byteLength(JSON.stringify(item));
    return bytes <= MAX_TRANSACTION_BYTES;
  }

  async applyChange(plan: ChangePlan): Promise<ApplyChangeResult> {
    const items = this.changeItems(plan);
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return "applied";
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      if (
        reasons.some((r) => r.Code === "ConditionalCheckFailed" || r.Code === "TransactionConflict")
      ) {
        return "conflict";
      }
      throw error;
    }
  }

  private changeItems(plan: ChangePlan): TransactItems {
    const { before, after } = plan;
    const version = before.version + 1;
    const state: Item = {
      ...after,
      ...this.watchFields(after),
      ...listKeys(
        after,
        after.status === before.status ? (before.statusSince ?? before.createdAt) : after.updatedAt,
      ),
      version,
      type: "payment",
    };
    const update = paymentUpdate(state, plan.history);
    const items: TransactItems = [
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: paymentPk(after.id), sk: PAYMENT_SK },
          ...update,
          ConditionExpression: "version = :v",
          ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ":v": before.version },
        },
      },
    ];
    // The change's events, in order, in one item: one write and one publish, however many.
    if (plan.events.length > 0) {
      items.push({
        Put: { TableName: this.tableName, Item: outboxItem(after, version, plan.events) },
      });
    }
    for (const r of plan.refunds) {
      items.push({
        Update: {
          TableName: this.tableName,
          Key: { pk: paymentPk(after.id), sk: refundSk(r.key) },
          UpdateExpression:
            "SET reservation = :reservation, #status = :status, amount = if_not_exists(amount, :amount), " +
            "id = if_not_exists(id, :id), paymentId = :paymentId, stripeRefundId = :stripeRefundId, " +
            "createdAt = if_not_exists(createdAt, :now), updatedAt = :now, #type = :type" +
            (r.next.statusAt === undefined ? "" : ", statusAt = :statusAt"),
          ConditionExpression:
            r.prior === undefined ? "attribute_not_exists(sk)" : "reservation = :priorReservation",
          ExpressionAttributeNames: { "#status": "status", "#type": "type" },
          ExpressionAttributeValues: {
            ":reservation": r.next.reservation,
            ":status": r.next.status,
            ":amount": r.next.amount,
            ":id": r.key,
            ":paymentId": after.id,
            ":stripeRefundId": r.stripeRefundId,
            ":now": after.updatedAt,
            ":type": "refund",
            ...(r.next.statusAt === undefined ? {} : { ":statusAt": r.next.statusAt }),
            ...(r.prior === undefined ? {} : { ":priorReservation": r.prior.reservation }),
          },
        },
      });
    }
    if (plan.audit !== undefined) {
      items.push({
        Put: { TableName: this.tableName, Item: auditItem(paymentPk(after.id), plan.audit) },
      });
    }
    return items;
  }

  async getRefundRecord(paymentId: string, key: string): Promise<RefundRecordState | undefined> {
    const item = await this.item(paymentPk(paymentId), refundSk(key));
    if (item === undefined) return undefined;
    const refund = toRefund(item);
    const statusAt = typeof item.statusAt === "number" ? item.statusAt : undefined;
    return {
      amount: refund.amount,
      reservation: refund.reservation,
      status: refund.status,
      ...(statusAt === undefined ? {} : { statusAt }),
    };
  }
}

/** Keys of `T` that are optional. */
type OptionalKeys<T> = {
  [K in keyof T]-?: Record<never, never> extends Pick<T, K> ? K : never;
}[keyof T];

/**
 * The payment item's attributes that come and go: the payment's optional fields (the compiler
 * checks this lists every one) and the reconciliation index's. An update removes those the new
 * state lacks, so it leaves the item as a Put of the new state would (but keeps the history).
 */
const OPTIONAL_ATTRIBUTES: readonly string[] = [
  ...Object.keys({
    description: true,
    metadata: true,
    failureCode: true,
    failureMessage: true,
    dispute: true,
    statusSince: true,
    appliedStripeEvents: true,
  } satisfies Record<OptionalKeys<Payment>, true>),
  "watch",
  "watchAt",
];

/** The update that makes the payment item `state`, appending `history` to its history. */
function paymentUpdate(
  state: Item,
  history: readonly StatusChange[],
): {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
} {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  for (const [name, value] of Object.entries(state)) {
    if (value === undefined || name === "pk" || name === "sk" || name === "history") continue;
    const n = sets.length;
    names[`#a${n}`] = name;
    values[`:a${n}`] = value;
    sets.push(`#a${n} = :a${n}`);
  }
  if (history.length > 0) {
    names["#history"] = "history";
    values[":history"] = history.map(storedChange);
    values[":none"] = [];
    sets.push("#history = list_append(if_not_exists(#history, :none), :history)");
  }
  const removes = OPTIONAL_ATTRIBUTES.filter((name) => state[name] === undefined).map((name, i) => {
    names[`#r${i}`] = name;
    return `#r${i}`;
  });
  return {
    UpdateExpression: `SET ${sets.join(", ")}${removes.length === 0 ? "" : ` REMOVE ${removes.join(", ")}`}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
