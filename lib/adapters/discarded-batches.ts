/**
 * The outbox stream's failure bucket: where Lambda's event-source mapping puts a batch of stream
 * records it gave up on (the publisher could not run, or kept failing, past the mapping's retry
 * limits; infra/events.ts). With an S3 destination Lambda writes one JSON object per discarded
 * batch holding the failure's metadata and the whole invocation record, that is the stream event
 * the function would have been given (`payload`, an object or its JSON text; its `Records` are
 * DynamoDB stream records with their new images). The sweeper parks the outbox items such an
 * object holds, then deletes it; an object it cannot read is left where it is and reported.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import type { OutboxItem } from "../domain/outbox.js";
import { outboxItemFromImage } from "./dynamo-outbox.js";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The outbox items of a failure object's text: those its stream records insert (other records on
 * the table's stream are not the publisher's). Throws on a text that is no failure record of a
 * stream batch, so that nothing is deleted unread.
 */
export function outboxItemsOfFailureRecord(text: string): OutboxItem[] {
  const document: unknown = JSON.parse(text);
  if (!isObject(document)) throw new Error("a failure record is a JSON object");
  const payload: unknown =
    typeof document.payload === "string" ? JSON.parse(document.payload) : document.payload;
  if (!isObject(payload) || !Array.isArray(payload.Records)) {
    throw new Error("the failure record holds no stream event (payload.Records)");
  }
  const items: OutboxItem[] = [];
  for (const record of payload.Records) {
    if (!isObject(record) || record.eventName !== "INSERT" || !isObject(record.dynamodb)) continue;
    const image: unknown = record.dynamodb.NewImage;
    if (typeof image !== "object" || image === null) continue;
    // In attribute-value form, as the stream event holds it (unmarshalling checks each value).
    const item = outboxItemFromImage(Object.fromEntries(Object.entries(image)));
    if (item !== undefined) items.push(item);
  }
  return items;
}

export class DiscardedBatches {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  static create(bucket: string, options: { region: string; endpoint?: string | undefined }) {
    return new DiscardedBatches(
      new S3Client({
        region: options.region,
        ...(options.endpoint === undefined
          ? {}
          : { endpoint: options.endpoint, forcePathStyle: true }),
      }),
      bucket,
    );
  }

  /** Keys of up to `limit` failure objects, oldest key first. */
  async list(limit: number): Promise<string[]> {
    const { Contents = [] } = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: limit }),
    );
    return Contents.flatMap((c) => (c.Key === undefined ? [] : [c.Key]));
  }

  async read(key: string): Promise<OutboxItem[]> {
    const { Body } = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key }),
    );
    if (Body === undefined) throw new Error(`failure object ${key} has no body`);
    return outboxItemsOfFailureRecord(await Body.transformToString());
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
