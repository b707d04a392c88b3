/**
 * EventPublisher on Kafka (kafkajs). One producer per container, connected on first use and
 * rebuilt after a failure (brokers drop idle connections). Sends are awaited one at a time: the
 * idempotent producer of kafkajs misbehaves with concurrent sends.
 */
import { Kafka, type KafkaConfig, logLevel, type Producer } from "kafkajs";
import type { OutboxMessage } from "../domain/outbox.js";
import type { EventPublisher } from "../ports.js";

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly auth: "plaintext" | "tls" | "iam";
  readonly region: string;
  readonly clientId: string;
  /** No kafkajs log lines at all (where the service's own log level is SILENT). */
  readonly quiet?: boolean;
}

/** kafkajs client settings for plaintext (local), TLS, or MSK IAM (SASL OAUTHBEARER over TLS). */
export function kafkaClientConfig(connection: KafkaConnection): KafkaConfig {
  const base: KafkaConfig = {
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    logLevel: connection.quiet === true ? logLevel.NOTHING : logLevel.ERROR,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
  };
  if (connection.auth === "plaintext") return base;
  if (connection.auth === "tls") return { ...base, ssl: true };
  return {
    ...base,
    ssl: true,
    sasl: {
      mechanism: "oauthbearer",
      oauthBearerProvider: async () => {
        // Loaded only where MSK IAM is used: the signer brings STS and the credential chain.
        const { generateAuthToken } = await import("aws-msk-iam-sasl-signer-js");
        const { token } = await generateAuthToken({ region: connection.region });
        return { value: token };
      },
    },
  };
}

export class KafkaPublisher implements EventPublisher {
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | undefined;

  constructor(connection: KafkaConnection) {
    this.kafka = new Kafka(kafkaClientConfig(connection));
  }

  private connected(): Promise<Producer> {
    if (this.producer === undefined) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: true,
      });
      this.producer = producer.connect().then(() => producer);
      // A failed connect must not stick: the next send tries again.
      this.producer.catch(() => {
        this.producer = undefined;
      });
    }
    return this.producer;
  }

  async publish(message: OutboxMessage): Promise<void> {
    const producer = await this.connected();
    try {
      await producer.send({
        topic: message.topic,
        acks: -1,
        messages: [{ key: message.key, value: message.value, headers: { ...message.headers } }],
      });
    } catch (error) {
      this.producer = undefined;
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer !== undefined) await (await producer.catch(() => undefined))?.disconnect();
  }
}

/** Without a broker (local runs with no KAFKA_BROKERS): events are logged, and count as sent. */
export class LoggingPublisher implements EventPublisher {
  constructor(private readonly log: (message: string, extra: Record<string, unknown>) => void) {}

  async publish(message: OutboxMessage): Promise<void> {
    this.log("event (no Kafka configured)", {
      topic: message.topic,
      key: message.key,
      headers: message.headers,
      value: message.value,
    });
  }
}
