/**
 * Publishing the outbox. A change's events are written with it (same transaction, one outbox item
 * holding them in order); the table's stream hands the item here and its events go to Kafka.
 * Nothing is written back when that works: the item is in no index and expires a week later
 * (Kafka is the record of what was sent). What could not be sent is parked (the item enters the
 * `byWatch` index) and the sweeper sends it later, marking it published; a batch the stream itself
 * gives up on (the function could not run for hours) lands whole in the failure bucket, and the
 * sweeper parks what it holds. A broker outage of any length delays events, never drops them.
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
 * - `published`: sent now;
 * - `parked`: could not be sent now; parked for the sweeper;
 * - `deferred`: an earlier event of the payment is parked and could not be sent either, so this
 *   one is parked behind it (the sweeper sends a payment's events oldest first) rather than
 *   overtaking it.
 */
export type PublishOutcome = "published" | "parked" | "deferred";

/** What became of an item, and for a parked or deferred one, the failure that parked it. */
export interface PublishResult {
  readonly outcome: PublishOutcome;
  readonly error?: string;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Publishes `item` as the stream hands it over, after any earlier item of the same payment that
 * is parked: a newer event must not overtake an older one waiting for the sweeper. One consistent
 * Query finds them (usually none). An item parked itself (the sweeper's, or written before parking
 * existed, when every item entered the index) is marked published once sent.
 *
 * A failure does not fail the stream record: the item is parked and the stream goes on, so one
 * payment's trouble never holds up the other payments of the shard. Only a failure to park throws
 * (the stream then retries the record).
 */
export async function publishItem(deps: PublishDeps, item: OutboxItem): Promise<PublishResult> {
  const parked = await deps.outbox.parkedUpTo(item);
  for (const earlier of parked) {
    if (sameOutboxItem(earlier, item)) break;
    try {
      await publishParked(deps, earlier);
    } catch (error) {
      await deps.outbox.park(item, deps.clock.now());
      return { outcome: "deferred", error: message(error) };
    }
  }
  try {
    for (const m of toMessages(item, deps.topics)) await deps.publisher.publish(m);
  } catch (error) {
    await deps.outbox.park(item, deps.clock.now());
    return { outcome: "parked", error: message(error) };
  }
  if (parked.some((p) => sameOutboxItem(p, item))) {
    await deps.outbox.markPublished(item, deps.clock.now());
  }
  return { outcome: "published" };
}

/**
 * Sends a parked item's events in order, then marks it. If one fails after an earlier one went,
 * the item stays parked and the earlier one is sent again with it later (at least once).
 */
async function publishParked(deps: PublishDeps, item: OutboxItem): Promise<void> {
  for (const m of toMessages(item, deps.topics)) await deps.publisher.publish(m);
  await deps.outbox.markPublished(item, deps.clock.now());
}

/** Where the stream's mapping puts the batches it gave up on (lib/adapters/discarded-batches.ts). */
export interface DiscardedBatchStore {
  list(limit: number): Promise<string[]>;
  /** The outbox items the batch holds; throws if it cannot be read as a discarded batch. */
  read(key: string): Promise<OutboxItem[]>;
  remove(key: string): Promise<void>;
}

export interface RecoverySummary {
  /** Outbox items taken from discarded batches and parked. */
  recovered: number;
  /** Batches that could not be read (left where they are, for people). */
  unreadable: string[];
}

/**
 * Parks the outbox items of the batches the stream gave up on, so the sweep publishes them; a
 * batch is deleted only once everything it holds is parked.
 */
export async function recoverDiscarded(
  deps: Pick<PublishDeps, "outbox" | "clock">,
  batches: DiscardedBatchStore,
  limit: number,
): Promise<RecoverySummary> {
  const summary: RecoverySummary = { recovered: 0, unreadable: [] };
  for (const key of await batches.list(limit)) {
    let items: OutboxItem[];
    try {
      items = await batches.read(key);
    } catch {
      summary.unreadable.push(key);
      continue;
    }
    for (const item of items) await deps.outbox.park(item, deps.clock.now());
    summary.recovered += items.length;
    await batches.remove(key);
  }
  return summary;
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
 * Publishes parked outbox items, oldest first. After a failure the order's later items wait (its
 * events stay in order) but other orders' items still go: one event that cannot be published
 * must not hold up everyone's.
 */
export async function sweepOutbox(deps: PublishDeps, limit: number): Promise<SweepSummary> {
  const due = await deps.outbox.due(deps.clock.now(), limit);
  const summary: SweepSummary = { published: 0, failed: 0, unreadable: [...due.unreadable] };
  const blocked = new Set<string>();
  for (const item of due.items) {
    if (blocked.has(item.partitionKey)) continue;
    try {
      // Older parked items of the payment go first (the index orders by time, not by payment).
      const parked = await deps.outbox.parkedUpTo(item);
      if (!parked.some((p) => sameOutboxItem(p, item))) continue; // published since it was read
      for (const p of parked) {
        await publishParked(deps, p);
        summary.published += p.events.length;
      }
    } catch {
      summary.failed++;
      blocked.add(item.partitionKey);
    }
  }
  return summary;
}
