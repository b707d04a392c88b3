/**
 * Publishing the outbox. A change's events are written with it (same transaction, one outbox item
 * holding them in order); the table's stream hands the item here, its events go to Kafka, and
 * only then is it marked published. A
 * broker outage makes the publish fail: the stream retries the record, and the sweeper picks up
 * whatever the stream gave up on, so an event is delayed by an outage but never dropped.
 * Delivery is at least once; consumers deduplicate on the event id.
 */
import { type OutboxItem, sameOutboxItem, type TopicNaming, toMessages } from "../domain/outbox.js";
import type { Clock, EventPublisher, OutboxStore } from "../ports.js";

export interface PublishDeps {
  readonly publisher: EventPublisher;
  readonly outbox: OutboxStore;
  readonly clock: Clock;
  readonly topics: TopicNaming;
}

/**
 * - `published`: sent now, and marked;
 * - `already_published`: sent before (a redelivery, or the sweeper was first): nothing sent;
 * - `deferred`: an earlier event of the payment could not be sent, so this one waits too (for
 *   the sweeper, which sends a payment's events oldest first), rather than overtake it.
 */
export type PublishOutcome = "published" | "already_published" | "deferred";

/**
 * Publishes `item`, after any earlier event of the same payment that is still unpublished: once
 * the stream has given up on a record (broker down for over an hour), a newer event arriving on
 * the stream must not overtake the older one waiting for the sweeper. One consistent Query
 * finds them (usually none) and whether `item` itself is still unpublished.
 *
 * If an earlier event fails, `item` is deferred, not failed: that earlier event is already the
 * sweeper's, and failing `item` would make the stream retry it, holding up every other payment of
 * the shard for as long as the earlier event keeps failing. If `item` itself fails, it throws,
 * and the stream retries it as before.
 */
export async function publishItem(deps: PublishDeps, item: OutboxItem): Promise<PublishOutcome> {
  const pending = await deps.outbox.unpublishedUpTo(item);
  if (!pending.some((p) => sameOutboxItem(p, item))) return "already_published";
  for (const earlier of pending) {
    if (sameOutboxItem(earlier, item)) break;
    try {
      await publishOne(deps, earlier);
    } catch {
      return "deferred";
    }
  }
  await publishOne(deps, item);
  return "published";
}

/**
 * Sends the item's events in order, then marks the item. If one fails after an earlier one went,
 * the item stays unpublished and the earlier one is sent again with it later (at least once).
 */
async function publishOne(deps: PublishDeps, item: OutboxItem): Promise<void> {
  for (const message of toMessages(item, deps.topics)) await deps.publisher.publish(message);
  await deps.outbox.markPublished(item, deps.clock.now());
}

export interface SweepSummary {
  /** Events sent. */
  published: number;
  /** Outbox items (one change's events each) that could not be sent. */
  failed: number;
  /** Stored items in the outbox's place that are no outbox item (corrupt), set aside now. */
  unreadable: string[];
}

/**
 * Publishes outbox items the stream did not deliver in time, oldest first. After a failure the
 * order's later items wait (its events stay in order) but other orders' items still go: one event
 * that cannot be published must not hold up everyone's.
 */
export async function sweepOutbox(deps: PublishDeps, limit: number): Promise<SweepSummary> {
  const due = await deps.outbox.due(deps.clock.now(), limit);
  const summary: SweepSummary = { published: 0, failed: 0, unreadable: [...due.unreadable] };
  const blocked = new Set<string>();
  for (const item of due.items) {
    if (blocked.has(item.partitionKey)) continue;
    try {
      const outcome = await publishItem(deps, item);
      if (outcome === "published") summary.published += item.events.length;
      if (outcome === "deferred") {
        summary.failed++;
        blocked.add(item.partitionKey);
      }
    } catch {
      summary.failed++;
      blocked.add(item.partitionKey);
    }
  }
  return summary;
}
