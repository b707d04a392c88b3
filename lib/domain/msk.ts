/**
 * The MSK event-source mapping's event (the fields the consumer reads): records grouped by
 * `topic-partition`, keys and values base64, decoded here to text. Small on purpose: the
 * Powertools parser's Kafka schema does the same but costs ~50 ms of cold start (npm run bench).
 */
import * as z from "../zod.js";

const base64Text = z.pipe(
  z.string(),
  z.transform((value: string) => Buffer.from(value, "base64").toString("utf8")),
);

export const mskRecordSchema = z.object({
  topic: z.string(),
  partition: z.number().check(z.int()),
  offset: z.number().check(z.int()),
  key: z.optional(base64Text),
  value: base64Text,
});

export const mskEventSchema = z.object({
  eventSource: z.literal("aws:kafka"),
  // Records are checked one by one, so that one odd record is set aside, not the whole batch.
  records: z.record(z.string(), z.array(z.unknown())),
});
