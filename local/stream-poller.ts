/**
 * The local stand-in for a Lambda DynamoDB Streams event source mapping: reads every shard of a
 * table's stream from TRIM_HORIZON, skipping records created before it started (a persisted table's
 * history; DynamoDB Local's LATEST iterators fail on quiet shards), keeps only the event names asked
 * for (the mapping's filter), invokes the unchanged handler in order, retries a failed batch a
 * bounded number of times and then hands it to `onFailure` (the on-failure destination).
 *
 * Cadence, as Lambda's: "Lambda polls shards in your DynamoDB stream for records at a base rate of 4
 * times per second" (Lambda developer guide, Using AWS Lambda with Amazon DynamoDB). Each round reads
 * every shard once, and the next round starts at least `pollIntervalMs` (250 ms) after this one started.
 * A read takes up to 1,000 records (GetRecords' most), which the round hands over in batches of
 * `batchSize`, up to `parallelizationFactor` at once. So a backlog drains in large rounds instead of
 * one batch per lane per read, and a busy stream gives the handler larger batches, as Lambda's does (800 events/s
 * in the load run: 23-58 session events a read, about 10 a lane).
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBStreamEvent, DynamoDBRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

/** Lambda reads a stream shard 4 times a second. */
export const DEFAULT_POLL_INTERVAL_MS = 250;
/** GetRecords' most records in one read. */
const GET_RECORDS_LIMIT = 1000;

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>;

export interface StreamPollerOptions {
  name: string;
  dynamodb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  handler: StreamHandler;
  /** Event names passed to the handler (the filter). Default INSERT only. */
  eventNames?: string[];
  batchSize?: number;
  /** Batches of one shard processed at once (as the mapping's ParallelizationFactor). Default 1. */
  parallelizationFactor?: number;
  retryAttempts?: number;
  /** The least time from the start of one read of the shards to the next (Lambda: 4 a second). Default 250. */
  pollIntervalMs?: number;
  onBatch?: (info: { name: string; records: number; error?: string }) => void;
  onFailure?: (records: DynamoDBRecord[], error: string) => void;
}

export class StreamPoller {
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** Ends the wait between two rounds at once (stop()). */
  private wake?: () => void;
  /** Per shard: the iterator to read next, and the last sequence number delivered (to resume after errors). */
  private shards = new Map<string, { iterator?: string; lastSeq?: string; closed?: boolean }>();
  private streamArn = '';
  /** Epoch seconds: records created before this are history, not news. */
  private startedAt = 0;

  constructor(private readonly opts: StreamPollerOptions) {
    const factor = opts.parallelizationFactor ?? 1;
    if (!Number.isInteger(factor) || factor < 1 || factor > 10) throw new Error(`parallelizationFactor must be an integer from 1 to 10, not ${factor}`);
  }

  async start(): Promise<void> {
    const table = await this.opts.dynamodb.send(new DescribeTableCommand({ TableName: this.opts.tableName }));
    this.streamArn = table.Table?.LatestStreamArn ?? '';
    if (!this.streamArn) throw new Error(`table ${this.opts.tableName} has no stream`);
    this.startedAt = Math.floor(Date.now() / 1000);
    await this.discoverShards();
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loopDone;
  }

  private async discoverShards(): Promise<void> {
    const desc = await this.opts.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn }));
    for (const shard of desc.StreamDescription?.Shards ?? []) {
      if (this.shards.has(shard.ShardId!)) continue;
      const it = await this.opts.streams.send(
        new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      this.shards.set(shard.ShardId!, { iterator: it.ShardIterator });
    }
  }

  private toLambdaRecord(r: _Record): DynamoDBRecord {
    return { ...(r as unknown as DynamoDBRecord), eventSourceARN: this.streamArn, awsRegion: 'us-east-1' };
  }

  /**
   * Invokes the handler; a thrown error retries the batch, a partial batch response
   * (`batchItemFailures`, as with ReportBatchItemFailures) retries from the first failed record on.
   */
  private async deliver(batch: DynamoDBRecord[]): Promise<void> {
    const attempts = (this.opts.retryAttempts ?? 3) + 1;
    let records = batch;
    let lastError = '';
    for (let i = 0; i < attempts; i++) {
      try {
        const result = (await this.opts.handler({ Records: records }, lambdaContext(this.opts.name))) as
          { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
        const failed = result?.batchItemFailures?.[0]?.itemIdentifier;
        if (!failed) {
          this.opts.onBatch?.({ name: this.opts.name, records: records.length });
          return;
        }
        const from = records.findIndex((r) => r.dynamodb?.SequenceNumber === failed);
        records = from >= 0 ? records.slice(from) : records;
        lastError = `record ${failed} failed`;
      } catch (e) {
        lastError = (e as Error).message;
      }
      this.opts.onBatch?.({ name: this.opts.name, records: records.length, error: lastError });
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** i)));
    }
    this.opts.onFailure?.(records, lastError);
  }

  /** One lane's records, in batches of batchSize, one batch after the other. */
  private async deliverLane(records: DynamoDBRecord[], batchSize: number): Promise<void> {
    // stop() ends the lane between batches: a read of up to 1,000 records is not delivered to a pipeline shutting down.
    for (let i = 0; i < records.length && this.running; i += batchSize) await this.deliver(records.slice(i, i + batchSize));
  }

  private async loop(): Promise<void> {
    const wanted = new Set(this.opts.eventNames ?? ['INSERT']);
    const batchSize = this.opts.batchSize ?? 100;
    const factor = this.opts.parallelizationFactor ?? 1;
    let sinceDiscover = 0;
    while (this.running) {
      const roundStart = Date.now();
      for (const [shardId, shard] of this.shards) {
        if (!this.running) return;
        try {
          if (!shard.iterator) {
            if (shard.closed) continue;
            // Resume right after the last delivered record (an expired iterator, a restarted emulator).
            shard.iterator = (
              await this.opts.streams.send(
                new GetShardIteratorCommand(
                  shard.lastSeq
                    ? { StreamArn: this.streamArn, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.lastSeq }
                    : { StreamArn: this.streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' },
                ),
              )
            ).ShardIterator;
          }
          const out = await this.opts.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: GET_RECORDS_LIMIT }));
          const all = out.Records ?? [];
          const records = all
            .filter((r) => wanted.has(r.eventName ?? '') && Math.floor(Number(r.dynamodb?.ApproximateCreationDateTime ?? Infinity) / 1) >= this.startedAt)
            .map((r) => this.toLambdaRecord(r));
          if (records.length) {
            // Every lane ends before anything else happens (a lane that throws must not leave the others
            // running while the shard is read again from its checkpoint).
            const lanes = await Promise.allSettled(lanesOf(records, factor).map((lane) => this.deliverLane(lane, batchSize)));
            const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
            if (failed) throw failed.reason;
            if (!this.running) return; // stopped mid-read: the rest of it is not checkpointed
          }
          if (all.length) shard.lastSeq = all[all.length - 1].dynamodb?.SequenceNumber;
          shard.iterator = out.NextShardIterator;
          if (!shard.iterator) shard.closed = true; // the shard is closed and read to its end
        } catch (e) {
          if (!this.running) return;
          if ((e as Error).name !== 'TrimmedDataAccessException')
            this.opts.onBatch?.({ name: this.opts.name, records: 0, error: `GetRecords failed: ${(e as Error).message}` });
          shard.iterator = undefined;
          // DynamoDB Local answers TrimmedDataAccessException for an iterator taken on an empty shard:
          // take a new one at once. Anything else (the emulator restarting) waits a little.
          if ((e as Error).name !== 'TrimmedDataAccessException') await new Promise((r) => setTimeout(r, 500));
        }
      }
      if (++sinceDiscover >= 20 || [...this.shards.values()].every((v) => v.closed)) {
        sinceDiscover = 0;
        await this.discoverShards().catch(() => undefined);
      }
      const wait = (this.opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS) - (Date.now() - roundStart);
      if (wait > 0 && this.running)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      this.wake = undefined;
    }
  }
}

/**
 * Records split into `factor` lanes by item key (partition and sort key), each lane in stream order: the
 * same item always lands in the same lane, so its changes are processed in order, as Lambda keeps them.
 */
export function lanesOf(records: DynamoDBRecord[], factor: number): DynamoDBRecord[][] {
  if (factor <= 1) return [records];
  const lanes: DynamoDBRecord[][] = Array.from({ length: factor }, () => []);
  for (const r of records) lanes[laneOf(JSON.stringify(r.dynamodb?.Keys ?? {}), factor)].push(r);
  return lanes.filter((l) => l.length > 0);
}

/** FNV-1a of the key's text, modulo the lanes. */
function laneOf(key: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}
