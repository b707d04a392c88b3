/** Dead letters (records that can never succeed) to an SQS queue, with why and where from. */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeadLetter } from "../use-cases/order-placed.js";

export class SqsDeadLetters {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(letter: DeadLetter): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(letter),
        MessageAttributes: {
          topic: { DataType: "String", StringValue: letter.topic },
          reason: { DataType: "String", StringValue: letter.reason.slice(0, 256) },
        },
      }),
    );
  }
}
