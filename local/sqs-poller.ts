/**
 * The local stand-in for a Lambda SQS event source mapping: long-polls a queue, invokes the unchanged
 * handler with an SQSEvent, deletes what succeeded and leaves batch item failures (or the whole batch
 * when the handler throws) to come back after the visibility timeout; the queue's redrive policy moves
 * them to the DLQ after maxReceiveCount, exactly as in AWS.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsPollerOptions {
  name: string;
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  /** Messages per invocation. Default 10. */
  batchSize?: number;
  /** Invocations at once (the mapping's maximum concurrency). Default 2. */
  maxConcurrency?: number;
  onBatch?: (info: { name: string; received: number; failed: number; error?: string }) => void;
}

function toRecord(m: Message, queueArn: string): SQSRecord {
  const attrs = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
      SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
      SenderId: attrs.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        {
          stringValue: v.StringValue,
          dataType: v.DataType ?? 'String',
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

export class SqsPoller {
  private running = false;
  private workers: Promise<void>[] = [];
  constructor(private readonly opts: SqsPollerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.workers = Array.from({ length: this.opts.maxConcurrency ?? 2 }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.workers);
  }

  /** Receives one batch and runs it; resolves with how many messages it handled. */
  async pollOnce(waitSeconds = 1): Promise<number> {
    const { sqs, queueUrl, queueArn, handler, name } = this.opts;
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: this.opts.batchSize ?? 10,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return 0;
    const records = messages.map((m) => toRecord(m, queueArn));
    let failedIds: Set<string>;
    let error: string | undefined;
    try {
      const result = await handler({ Records: records }, lambdaContext(name));
      failedIds = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (e) {
      // A handler that throws fails the whole batch, as in Lambda.
      failedIds = new Set(records.map((r) => r.messageId));
      error = (e as Error).message;
    }
    const done = records.filter((r) => !failedIds.has(r.messageId));
    if (done.length) {
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }));
    }
    this.opts.onBatch?.({ name, received: records.length, failed: failedIds.size, ...(error ? { error } : {}) });
    return records.length;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce();
      } catch (e) {
        if (!this.running) return;
        this.opts.onBatch?.({ name: this.opts.name, received: 0, failed: 0, error: `poll failed: ${(e as Error).message}` });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
