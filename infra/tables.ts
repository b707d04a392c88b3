/**
 * Table layout, as data. The SST app (infra/storage.ts) and the local DynamoDB server
 * (local/dynamodb.ts) both build their tables from this, so what is tested is what deploys.
 *
 * payments (single table, partition key `pk`, sort key `sk`):
 *   PAYMENT#<paymentId> / PAYMENT                 the payment (version-checked writes), with its
 *                                                 status history and the ids of the Stripe events
 *                                                 last applied to it
 *   PAYMENT#<paymentId> / PAYMENT#HISTORY#<ver>   history entry of a payment written before the
 *                                                 history moved into its item (read, no longer
 *                                                 written; begins_with PAYMENT reads both)
 *   PAYMENT#<paymentId> / REFUND#<refundId>       one refund and its reserved amount
 *   PAYMENT#<paymentId> / OUTBOX#<ver>#0000#<id>  the outgoing events of one change, in order
 *                                                 (published from the stream, nothing written
 *                                                 back; TTL a week after the change; earlier
 *                                                 versions wrote OUTBOX#<ver>#<n>#<id>, one event
 *                                                 each)
 *   ORDER#<orderId>     / ORDER                   the one-payment-per-order lock
 *   INTENT#<paymentIntentId> / INTENT             which payment a Stripe PaymentIntent belongs to:
 *                                                 legacy (read, no longer written since
 *                                                 2026-12-07; the PaymentIntent's metadata
 *                                                 `payment_id` names a newer payment)
 *   STRIPE_EVENT#<eventId> / EVENT                a Stripe event applied before the payment item
 *                                                 kept their ids (no longer written or read; TTL
 *                                                 removes them within 30 days)
 * Items that may expire carry `expiresAt` (epoch seconds), the table's TTL attribute.
 * Payments that reconciliation must look at carry `watch` = "open" and `watchAt` (ISO time the
 * next look is due); outbox items the publisher could not send are parked with `watch` = "outbox"
 * (until the sweeper publishes them); dead letters carry `dead_letter:<status>`: the sparse index
 * `byWatch` lists exactly those.
 *
 * idempotency (partition key `id`): Powertools idempotency records, TTL attribute `expiration`.
 */
export const tables = {
  payments: {
    name: "Payments",
    partitionKey: "pk",
    sortKey: "sk",
    ttlAttribute: "expiresAt",
    stream: "new-and-old-images",
    globalIndexes: [
      { name: "byWatch", partitionKey: "watch", sortKey: "watchAt", projection: "keys-only" },
      {
        name: "byCustomer",
        partitionKey: "customerId",
        sortKey: "createdAt",
        projection: "keys-only",
      },
      { name: "byStatus", partitionKey: "listStatus", sortKey: "listAt", projection: "keys-only" },
    ],
  },
  idempotency: {
    name: "Idempotency",
    partitionKey: "id",
    ttlAttribute: "expiration",
  },
} as const;

export type TableName = keyof typeof tables;
