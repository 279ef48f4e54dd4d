/**
 * Replay from the archive (docs/archive.md, "Replay"): reads the archive's gzip JSON-lines objects of a
 * time window (lib/ops/archive-layout.ts) and sends the selected events to ONE subscriber's queue
 * exactly as the topic delivers them there: with raw delivery (every subscription of this pipeline,
 * lib/subscriber.ts) the SQS body is the message as published, which is the archived line, and the
 * message attributes are the event's SNS attributes (lambda/shared/event.ts messageAttributes) with the
 * same data types. Ids are unchanged, so writers that remove duplicates stay correct. With a subscriber's
 * filter policy, only what the topic would have delivered to it is sent.
 *
 * It never publishes to the topic unless `publishToTopic` is set (every subscriber would get the events
 * again). Needs only @aws-sdk/client-s3, client-sqs (and client-sns to publish): no aws-cdk-lib.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { gunzipSync } from 'node:zlib';
import { publishEvents } from '../../lambda/ingest/publish';
import { messageAttributes, type CanonicalEvent } from '../../lambda/shared/event';
import { matchesFilterPolicy, type FilterPolicy } from '../subscriber-filter';
import { EVENTS_PREFIX, partitionPrefix } from './archive-layout';

export interface ReplaySelection {
  /** Events whose `date` is at or after this instant... */
  from: Date;
  /** ... and before this one. */
  to: Date;
  tenant?: string;
  /** An event type (`user_blocked`). */
  type?: string;
}

export type ReplayTarget =
  /** One queue (a subscriber's), with the subscriber's filter policy when known. */
  | { queueUrl: string; filterPolicy?: FilterPolicy; sqs: SQSClient }
  /** The topic itself: every subscriber gets the events again. Only on explicit request. */
  | { topicArn: string; sns: SNSClient; publishToTopic: true };

export interface ReplayOptions extends ReplaySelection {
  s3: S3Client;
  bucket: string;
  target: ReplayTarget;
  /** Count only; send nothing. */
  dryRun?: boolean;
  /** Called after each day's folder with the running counts. */
  onProgress?: (p: ReplayProgress) => void;
}

export interface ReplayProgress {
  tenant: string;
  day: string;
  objects: number;
  matched: number;
  sent: number;
}
export interface ReplayResult {
  objects: number;
  lines: number;
  matched: number;
  sent: number;
  duplicates: number;
}

/** A window must be real and not reversed; days are read in UTC. */
export function validateSelection(s: ReplaySelection): void {
  if (Number.isNaN(s.from.getTime())) throw new Error('--from is not a date (ISO 8601, e.g. 2026-03-01 or 2026-03-01T00:00:00Z)');
  if (Number.isNaN(s.to.getTime())) throw new Error('--to is not a date (ISO 8601, e.g. 2026-04-01 or 2026-04-01T00:00:00Z)');
  if (s.to <= s.from) throw new Error(`--to (${s.to.toISOString()}) must be after --from (${s.from.toISOString()})`);
}

/** The UTC days a window touches (its folders), first to last. */
export function daysOf(from: Date, to: Date): string[] {
  const out: string[] = [];
  const last = new Date(to.getTime() - 1).toISOString().slice(0, 10);
  for (let d = Date.parse(`${from.toISOString().slice(0, 10)}T00:00:00Z`); ; d += 86_400_000) {
    const day = new Date(d).toISOString().slice(0, 10);
    out.push(day);
    if (day >= last) return out;
  }
}

async function listKeys(s3: S3Client, bucket: string, prefix: string, delimiter?: string): Promise<{ keys: string[]; prefixes: string[] }> {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }));
    for (const o of out.Contents ?? []) keys.push(o.Key!);
    for (const p of out.CommonPrefixes ?? []) prefixes.push(p.Prefix!);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return { keys, prefixes };
}

/** The tenants in the archive (its `events/tenant=<t>/` folders). */
export async function archivedTenants(s3: S3Client, bucket: string): Promise<string[]> {
  const { prefixes } = await listKeys(s3, bucket, EVENTS_PREFIX, '/');
  return prefixes
    .map((p) => /^events\/tenant=([^/]+)\/$/.exec(p)?.[1])
    .filter((t): t is string => !!t)
    .sort();
}

/** SQS SendMessageBatch of up to 10, retrying failed entries; throws if some still fail (what was sent stays sent). */
async function sendToQueue(sqs: SQSClient, queueUrl: string, lines: { body: string; event: CanonicalEvent }[]): Promise<number> {
  let sent = 0;
  for (let i = 0; i < lines.length; i += 10) {
    let pending = lines.slice(i, i + 10).map((l, j) => ({
      Id: String(j),
      MessageBody: l.body,
      MessageAttributes: messageAttributes(l.event),
    }));
    for (let attempt = 1; pending.length; attempt++) {
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
      sent += out.Successful?.length ?? 0;
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      pending = pending.filter((p) => failed.has(p.Id));
      if (pending.length && attempt >= 5) {
        throw new Error(
          `SQS refused ${pending.length} message(s) after ${attempt} attempts (${out.Failed?.[0]?.Code}: ${out.Failed?.[0]?.Message}); ${sent} of this run were sent: rerun from the last day shown`,
        );
      }
      if (pending.length) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
  return sent;
}

/**
 * Reads the window's folders day by day (each day's events in `date` order, one id once) and sends or
 * counts the selected events. `tenant` unset: every tenant in the archive.
 */
export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  validateSelection(opts);
  const tenants = opts.tenant ? [opts.tenant] : await archivedTenants(opts.s3, opts.bucket);
  const from = opts.from.toISOString();
  const to = opts.to.toISOString();
  const result: ReplayResult = { objects: 0, lines: 0, matched: 0, sent: 0, duplicates: 0 };
  const seen = new Set<string>();
  const target = opts.target;
  for (const tenant of tenants) {
    for (const day of daysOf(opts.from, opts.to)) {
      const { keys } = await listKeys(opts.s3, opts.bucket, partitionPrefix(tenant, day));
      const selected: { body: string; event: CanonicalEvent }[] = [];
      for (const key of keys.sort()) {
        const got = await opts.s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: key }));
        const text = gunzipSync(Buffer.from(await got.Body!.transformToByteArray())).toString('utf8');
        result.objects++;
        for (const body of text.split('\n')) {
          if (!body) continue;
          result.lines++;
          let event: CanonicalEvent;
          try {
            event = JSON.parse(body) as CanonicalEvent;
          } catch {
            throw new Error(`s3://${opts.bucket}/${key}: a line is not JSON (${body.length} characters); the archive holds one event a line`);
          }
          if (event.tenant !== tenant || typeof event.date !== 'string' || event.date < from || event.date >= to) continue;
          if (opts.type && event.type !== opts.type) continue;
          if (
            'queueUrl' in target &&
            !matchesFilterPolicy(target.filterPolicy, Object.fromEntries(Object.entries(messageAttributes(event)).map(([k, v]) => [k, v.StringValue])) as never)
          )
            continue;
          if (seen.has(event.id)) {
            // Firehose delivers at least once: an event archived twice is sent once.
            result.duplicates++;
            continue;
          }
          seen.add(event.id);
          selected.push({ body, event });
        }
      }
      selected.sort((a, b) => a.event.date.localeCompare(b.event.date));
      result.matched += selected.length;
      if (!opts.dryRun && selected.length) {
        if ('queueUrl' in target) {
          result.sent += await sendToQueue(target.sqs, target.queueUrl, selected);
        } else {
          const published = await publishEvents(
            selected.map((s) => s.event),
            { client: target.sns, topicArn: target.topicArn },
          );
          result.sent += published.published;
          if (published.failed.length)
            throw new Error(
              `${published.failed.length} event(s) not published (${published.failed[0].code}); ${result.sent} of this run were: rerun from ${day}`,
            );
        }
      }
      opts.onProgress?.({ tenant, day, objects: keys.length, matched: result.matched, sent: result.sent });
    }
  }
  return result;
}
