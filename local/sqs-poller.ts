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
  private done: Promise<void> = Promise.resolve();
  constructor(private readonly opts: SqsPollerOptions) {
    const { batchSize = 10, maxConcurrency = 2 } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) throw new Error(`batchSize must be an integer from 1 to 10, not ${batchSize}`);
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new Error(`maxConcurrency must be an integer of at least 1, not ${maxConcurrency}`);
  }

  /** onBatch, whose own failure never stops the polling (it is a report, not part of the delivery). */
  private report(info: Parameters<NonNullable<SqsPollerOptions['onBatch']>>[0]): void {
    try {
      this.opts.onBatch?.(info);
    } catch {
      /* a reporter that throws loses its report, not the queue */
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** Receives one batch and runs it; resolves with how many messages it handled. */
  async pollOnce(waitSeconds = 1): Promise<number> {
    const messages = await this.receive(waitSeconds);
    if (messages.length) await this.run(messages);
    return messages.length;
  }

  private async receive(waitSeconds: number): Promise<Message[]> {
    const out = await this.opts.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.opts.queueUrl,
        MaxNumberOfMessages: this.opts.batchSize ?? 10,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    return out.Messages ?? [];
  }

  /** One invocation with these messages; deletes what succeeded (the rest come back after the visibility timeout). */
  private async run(messages: Message[]): Promise<void> {
    const { sqs, queueUrl, queueArn, handler, name } = this.opts;
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
    this.report({ name, received: records.length, failed: failedIds.size, ...(error ? { error } : {}) });
  }

  /**
   * Receives in flight scale with the backlog, as Lambda's pollers do ("When messages are available,
   * Lambda starts processing five batches at a time", services-sqs-scaling): one long poll while the
   * queue is idle or trickling, one more for each receive that comes back full (batchSize messages: more
   * are waiting), up to BACKLOG_RECEIVES, and back to one as soon as a receive comes back short. A receive
   * is made only when an invocation slot is free for its messages (receives in flight + invocations <=
   * maxConcurrency).
   *   - Why not always several: fauxqs wakes every long poll waiting on a queue when a message arrives
   *     and all but one answer empty, each an SQS request for nothing (7 in 10 at 80 events/s).
   *   - Why not always one: one receive at a time takes at most batchSize messages a round trip; under
   *     load (the runtime's loop busy, 80-120 ms a receive) that is 80-120 messages a second, below the
   *     160 session events a second of `npm run prove -- --only load --rate 800`, whose session-events
   *     queue then grew by about 40 messages a second (1,271 waiting after 30 s: 8 s of latency).
   */
  private async loop(): Promise<void> {
    const slots = this.opts.maxConcurrency ?? 2;
    const batchSize = this.opts.batchSize ?? 10;
    const invocations = new Set<Promise<void>>();
    const receiving = new Set<Promise<void>>();
    let wanted = 1;
    // The loop waits only while a receive or an invocation is in flight; each wakes it when it ends.
    let changed: () => void = () => undefined;
    const receiveOne = async (): Promise<void> => {
      let messages: Message[];
      try {
        messages = await this.receive(1);
      } catch (e) {
        wanted = 1;
        if (!this.running) return;
        this.report({ name: this.opts.name, received: 0, failed: 0, error: `poll failed: ${(e as Error).message}` });
        // This receive's place stays taken for the pause, so a failing queue is not polled in a loop.
        await new Promise((r) => setTimeout(r, 500));
        return;
      }
      wanted = messages.length >= batchSize ? Math.min(wanted + 1, BACKLOG_RECEIVES) : 1;
      if (!messages.length) return;
      const invocation: Promise<void> = this.run(messages)
        .catch((e: Error) => {
          // The delete failed: the messages come back after the visibility timeout (at least once, as in Lambda).
          this.report({ name: this.opts.name, received: messages.length, failed: 0, error: `delete failed: ${e.message}` });
        })
        .finally(() => {
          invocations.delete(invocation);
          changed();
        });
      // Added before this receive leaves `receiving`: the slot passes from the one to the other.
      invocations.add(invocation);
    };
    while (this.running) {
      if (receiving.size < wanted && receiving.size + invocations.size < slots) {
        const receipt: Promise<void> = receiveOne().finally(() => {
          receiving.delete(receipt);
          changed();
        });
        receiving.add(receipt);
        continue;
      }
      await new Promise<void>((resolve) => (changed = resolve));
    }
    await Promise.allSettled(receiving);
    await Promise.allSettled(invocations);
  }
}

/** Receives in flight at most on a queue with a backlog: Lambda's five batches at a time (see SqsPoller's loop). */
export const BACKLOG_RECEIVES = 5;
