/**
 * The container's Kafka side: the publisher (or a logger when no broker is configured) and the
 * outbox store, made once at cold start.
 */
import { DynamoOutbox } from "../adapters/dynamo-outbox.js";
import { KafkaPublisher, LoggingPublisher } from "../adapters/kafka-publisher.js";
import { kafkaSettings, parseSettings } from "../config.js";
import { logger } from "../observability.js";
import type { EventPublisher } from "../ports.js";
import { clock, documentClient, storageConfig } from "./storage.js";

export const kafkaConfig = parseSettings(kafkaSettings, process.env);

export const publisher: EventPublisher =
  kafkaConfig.KAFKA_BROKERS === undefined
    ? new LoggingPublisher((message, extra) => logger.info(message, extra))
    : new KafkaPublisher({
        brokers: kafkaConfig.KAFKA_BROKERS.split(","),
        auth: kafkaConfig.KAFKA_AUTH,
        region: storageConfig.AWS_REGION,
        clientId: "payment-service",
        quiet: logger.getLevelName() === "SILENT",
      });

export const outbox = new DynamoOutbox(documentClient, storageConfig.PAYMENTS_TABLE);

export const publishDeps = {
  publisher,
  outbox,
  clock,
  topics: { prefix: kafkaConfig.KAFKA_TOPIC_PREFIX, mode: kafkaConfig.KAFKA_TOPIC_MODE },
};
