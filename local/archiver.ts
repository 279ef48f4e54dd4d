/**
 * The local runtime's event archive: what the deployed SNS -> Firehose -> S3 archive does
 * (lib/event-archive.ts), on fauxqs's S3, in the same layout (lib/ops/archive-layout.ts):
 *   topic ──(raw delivery)──▶ queue auth0-events-local-archive ──▶ this archiver
 *     ──▶ s3://auth0-events-local-archive/events/tenant=<t>/dt=<YYYY-MM-DD>/<name>-1-<time>-<uuid>.gz
 * Each object is gzip JSON lines: the message bodies as published, one a line. Messages are deleted
 * from the queue only after their object is written (nothing lost; a failed write is retried after the
 * visibility timeout). A message that is not a canonical event goes to errors/ as Firehose would.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ERRORS_PREFIX, partitionOf, partitionPrefix } from '../lib/ops/archive-layout';
import { createQueue } from './fanout';

export const LOCAL_ARCHIVE_BUCKET = 'auth0-events-local-archive';

/** An S3 client for fauxqs's S3: path-style (`http://127.0.0.1:<port>/<bucket>/<key>`), as its host names do not resolve here. */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}
const NAME = 'auth0-events-local-archive';

/** Firehose's object name: `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>` (+ `.gz`). */
function objectName(now: Date): string {
  const t = now.toISOString().slice(0, 19).replace(/[T:]/g, '-');
  return `${NAME}-1-${t}-${randomUUID()}.gz`;
}

/** The object key of each message: its partition, or errors/ when it is not an event with a tenant and an ISO date. */
export function archiveKeyPrefixOf(body: string): string {
  try {
    const e = JSON.parse(body) as { tenant?: unknown; date?: unknown };
    if (typeof e.tenant === 'string' && e.tenant && typeof e.date === 'string' && /^\d{4}-\d{2}-\d{2}/.test(e.date)) {
      const p = partitionOf({ tenant: e.tenant, date: e.date });
      return partitionPrefix(p.tenant, p.dt);
    }
  } catch {
    /* not JSON */
  }
  return `${ERRORS_PREFIX}partitioning-failed/`;
}

export interface LocalArchiverOptions {
  sns: SNSClient;
  sqs: SQSClient;
  s3: S3Client;
  topicArn: string;
  bucket?: string;
  /** How long a batch is gathered before it is written (ms). Default 2,000. */
  flushIntervalMs?: number;
  log?: (line: string) => void;
}

export class LocalArchiver {
  readonly bucket: string;
  queueUrl = '';
  /** Objects written and events archived since start. */
  objects = 0;
  archived = 0;
  private running = false;
  private loop?: Promise<void>;

  constructor(private readonly opts: LocalArchiverOptions) {
    this.bucket = opts.bucket ?? LOCAL_ARCHIVE_BUCKET;
  }

  async start(): Promise<void> {
    try {
      await this.opts.s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      if (!/BucketAlready(OwnedByYou|Exists)/.test((e as Error).name)) throw e;
    }
    const { url, arn } = await createQueue(this.opts.sqs, NAME, { VisibilityTimeout: '30' });
    this.queueUrl = url;
    await this.opts.sns.send(
      new SubscribeCommand({ TopicArn: this.opts.topicArn, Protocol: 'sqs', Endpoint: arn, Attributes: { RawMessageDelivery: 'true' } }),
    );
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Writes what is waiting now (tests call it instead of waiting for the interval). */
  async flush(): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await this.receive(1);
      if (!batch.length) return total;
      await this.write(batch);
      total += batch.length;
    }
  }

  private async run(): Promise<void> {
    const interval = this.opts.flushIntervalMs ?? 2_000;
    while (this.running) {
      try {
        const batch: Message[] = [];
        const until = Date.now() + interval;
        while (this.running && Date.now() < until && batch.length < 1000) batch.push(...(await this.receive(1)));
        if (batch.length) await this.write(batch);
      } catch (e) {
        this.opts.log?.(`archive: ${(e as Error).message} (retried)`);
        if (this.running) await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async receive(waitSeconds: number): Promise<Message[]> {
    const out = await this.opts.sqs.send(new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }));
    return out.Messages ?? [];
  }

  /** One gzip JSON-lines object per partition, then the messages are deleted. */
  private async write(batch: Message[]): Promise<void> {
    const byPrefix = new Map<string, string[]>();
    for (const m of batch) {
      const prefix = archiveKeyPrefixOf(m.Body ?? '');
      const lines = byPrefix.get(prefix) ?? [];
      lines.push(m.Body ?? '');
      byPrefix.set(prefix, lines);
    }
    const now = new Date();
    for (const [prefix, lines] of byPrefix) {
      await this.opts.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: `${prefix}${objectName(now)}`,
          Body: gzipSync(lines.map((l) => `${l}\n`).join('')),
          ContentType: 'application/x-ndjson',
        }),
      );
      this.objects++;
    }
    for (let i = 0; i < batch.length; i += 10) {
      const part = batch.slice(i, i + 10);
      await this.opts.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: part.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })) }),
      );
    }
    this.archived += batch.length;
  }
}
