/**
 * Replay from the archive on fauxqs (SNS, SQS, S3), from the subscriber's side: what the replay puts
 * into a subscriber's queue is what the topic delivered there (count, bodies, message attributes, ids),
 * no other subscriber's queue gets anything, the topic is not touched, and --dry-run only counts.
 * Events go in through the ingest's own publish code; the archive is the local archiver (the same
 * layout as the deployed Firehose archive). Expected ids and counts are written by hand.
 */
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, type Message } from '@aws-sdk/client-sqs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { publishEvents } from '../lambda/ingest/publish';
import type { CanonicalEvent } from '../lambda/shared/event';
import { replay } from '../lib/ops/replay';
import { validateRegistry, type SubscriberDefinition } from '../lib/subscriber-definition';
import { SUBSCRIBERS } from '../lib/subscribers';
import { LocalArchiver, localS3Client } from '../local/archiver';
import { startSnsSqs, type Emulator } from '../local/emulators';
import { createFanOut, createQueue, type LocalSubscriber } from '../local/fanout';
import { writeRuntimeFile } from '../local/runtime-file';
import { main as replayCli } from '../scripts/replay';
import { canonicalEvent } from './support/events';
import { drain, snsClient, sqsClient } from '../harness/sns-sqs';

jest.setTimeout(90_000);

// A new team's subscriber: blocks and logouts of tenant acme.
const NEW_TEAM: SubscriberDefinition = {
  name: 'new-team',
  description: 'a team added after the events happened (test)',
  filter: { types: ['user_blocked', 'logout'], tenants: ['acme'] },
  handler: { entry: 'lambda/session-events-writer/handler.ts' },
};
const DEFINITIONS = [...SUBSCRIBERS, NEW_TEAM];

const ev = (id: string, tenant: string, type: CanonicalEvent['type'], date: string, extra: Partial<CanonicalEvent> = {}) =>
  canonicalEvent({
    id,
    tenant,
    type,
    date,
    log_type: { user_blocked: 'sapi', logout: 'slo', login_succeeded: 's', password_changed: 'scp' }[type as string] ?? 'sapi',
    level: type === 'login_succeeded' ? 1 : 3,
    ...extra,
  });
const EVENTS: CanonicalEvent[] = [
  ev('m1-blk', 'acme', 'user_blocked', '2026-03-01T10:00:00.000Z', { user_id: 'auth0|a', data: { nested: { q: 'a "quoted" ü' } } }),
  ev('m2-out', 'acme', 'logout', '2026-03-02T11:00:00.000Z', { user_id: 'auth0|b', session_id: 's-1', source: 'log-stream' }),
  ev('m3-pwd', 'acme', 'password_changed', '2026-03-02T12:00:00.000Z', { source: 'action' }), // not new-team's type
  ev('m4-login', 'acme', 'login_succeeded', '2026-03-03T08:00:00.000Z'), // not new-team's type
  ev('m5-eu-blk', 'acme@eu', 'user_blocked', '2026-03-03T09:00:00.000Z'), // not new-team's tenant
  ev('m6-blk', 'acme', 'user_blocked', '2026-03-04T23:59:59.999Z', { truncated: true }),
  ev('a1-blk', 'acme', 'user_blocked', '2026-04-01T00:00:00.000Z'), // after the window below
];
// What the topic delivers to new-team (its filter), and what a March replay selects of it.
const NEW_TEAM_ALL = ['a1-blk', 'm1-blk', 'm2-out', 'm6-blk'];
const NEW_TEAM_MARCH = ['m1-blk', 'm2-out', 'm6-blk'];
const MARCH = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z') };

let emulator: Emulator;
let subscribers: LocalSubscriber[];
let archiver: LocalArchiver;
let topicArn: string;
let tapUrl: string;
let delivered: Message[];
const sqs = () => sqsClient(emulator.endpoint);
const queueOf = (name: string) => subscribers.find((s) => s.definition.name === name)!;
const attrs = (m: Message) =>
  Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, { DataType: v.DataType, StringValue: v.StringValue }]));
const shape = (msgs: Message[]) => msgs.map((m) => ({ body: m.Body, attributes: attrs(m) })).sort((a, b) => a.body!.localeCompare(b.body!));
const idsOf = (msgs: Message[]) => msgs.map((m) => JSON.parse(m.Body!).id).sort();
async function depth(url: string): Promise<number> {
  const a = await sqs().send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.Attributes!.ApproximateNumberOfMessages) + Number(a.Attributes!.ApproximateNumberOfMessagesNotVisible);
}

beforeAll(async () => {
  emulator = await startSnsSqs();
  const sns = snsClient(emulator.endpoint);
  topicArn = (await sns.send(new CreateTopicCommand({ Name: 'replay-topic' }))).TopicArn!;
  ({ subscribers } = await createFanOut({ sns, sqs: sqs(), definitions: DEFINITIONS, topicArn, prefix: 'auth0-events-' }));
  // A tap on the topic: anything published to the topic during the replay would show here.
  const tap = await createQueue(sqs(), 'replay-tap');
  tapUrl = tap.url;
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: tap.arn, Attributes: { RawMessageDelivery: 'true' } }));
  archiver = new LocalArchiver({ sns, sqs: sqs(), s3: localS3Client(emulator.endpoint), topicArn, flushIntervalMs: 60_000 });
  await archiver.start();
  expect(await publishEvents(EVENTS, { client: sns, topicArn })).toMatchObject({ published: EVENTS.length, failed: [] });
  // What the topic delivered to each queue, then emptied so that the replay's sends can be told apart.
  delivered = await drain(sqs(), queueOf('new-team').queueUrl, NEW_TEAM_ALL.length, 20);
  await drain(sqs(), queueOf('users').queueUrl, 3, 20);
  await drain(sqs(), queueOf('session-events').queueUrl, 4, 20);
  await drain(sqs(), tapUrl, EVENTS.length, 20);
  await new Promise((r) => setTimeout(r, 300));
  await archiver.flush();
  await archiver.stop();
});

afterAll(async () => {
  await emulator?.stop();
});

test("the topic delivered new-team its filter's events (the reference)", () => {
  expect(idsOf(delivered)).toEqual(NEW_TEAM_ALL);
});

test('--dry-run counts what would be sent and sends nothing', async () => {
  const result = await replay({
    s3: localS3Client(emulator.endpoint),
    bucket: archiver.bucket,
    ...MARCH,
    dryRun: true,
    target: { queueUrl: queueOf('new-team').queueUrl, sqs: sqs(), filterPolicy: validateRegistry(DEFINITIONS).get('new-team') },
  });
  expect(result).toMatchObject({ matched: 3, sent: 0, lines: 6 });
  expect(await depth(queueOf('new-team').queueUrl)).toBe(0);
});

test('a replay into new-team puts exactly what the topic delivered there (same bodies, attributes and ids); no other queue, not the topic', async () => {
  const progress: string[] = [];
  const result = await replay({
    s3: localS3Client(emulator.endpoint),
    bucket: archiver.bucket,
    ...MARCH,
    target: { queueUrl: queueOf('new-team').queueUrl, sqs: sqs(), filterPolicy: validateRegistry(DEFINITIONS).get('new-team') },
    onProgress: (p) => {
      if (p.objects) progress.push(`${p.tenant} ${p.day}`);
    },
  });
  expect(result).toMatchObject({ matched: 3, sent: 3, duplicates: 0 });
  expect(progress).toEqual(['acme 2026-03-01', 'acme 2026-03-02', 'acme 2026-03-03', 'acme 2026-03-04', 'acme@eu 2026-03-03']);
  const replayed = await drain(sqs(), queueOf('new-team').queueUrl, 3, 20);
  expect(idsOf(replayed)).toEqual(NEW_TEAM_MARCH);
  expect(shape(replayed)).toEqual(shape(delivered.filter((m) => NEW_TEAM_MARCH.includes(JSON.parse(m.Body!).id))));
  for (const name of ['users', 'session-events']) expect(await depth(queueOf(name).queueUrl)).toBe(0);
  expect(await depth(tapUrl)).toBe(0);
});

test('an event archived twice (Firehose delivers at least once) is sent once', async () => {
  // Archive m1 a second time, as a second object of its day.
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  const { gzipSync } = await import('node:zlib');
  await localS3Client(emulator.endpoint).send(
    new PutObjectCommand({
      Bucket: archiver.bucket,
      Key: 'events/tenant=acme/dt=2026-03-01/zz-duplicate.gz',
      Body: gzipSync(`${JSON.stringify(EVENTS[0])}\n`),
    }),
  );
  const { url } = await createQueue(sqs(), 'replay-dup-target');
  const result = await replay({
    s3: localS3Client(emulator.endpoint),
    bucket: archiver.bucket,
    from: MARCH.from,
    to: new Date('2026-03-02T00:00:00Z'),
    target: { queueUrl: url, sqs: sqs() },
  });
  expect(result).toMatchObject({ matched: 1, sent: 1, duplicates: 1 });
});

test('--tenant and --type narrow a queue-url replay (no filter policy known)', async () => {
  const { url } = await createQueue(sqs(), 'replay-narrow-target');
  const s3 = localS3Client(emulator.endpoint);
  expect(await replay({ s3, bucket: archiver.bucket, ...MARCH, dryRun: true, target: { queueUrl: url, sqs: sqs() } })).toMatchObject({ matched: 6 });
  expect(await replay({ s3, bucket: archiver.bucket, ...MARCH, dryRun: true, tenant: 'acme@eu', target: { queueUrl: url, sqs: sqs() } })).toMatchObject({
    matched: 1,
  });
  expect(await replay({ s3, bucket: archiver.bucket, ...MARCH, dryRun: true, type: 'user_blocked', target: { queueUrl: url, sqs: sqs() } })).toMatchObject({
    matched: 3,
  });
  // The window's edge: [from, to) by the event's date.
  expect(
    await replay({
      s3,
      bucket: archiver.bucket,
      from: new Date('2026-03-04T23:59:59.999Z'),
      to: new Date('2026-04-01T00:00:00.001Z'),
      dryRun: true,
      target: { queueUrl: url, sqs: sqs() },
    }),
  ).toMatchObject({ matched: 2 });
});

test("the CLI with --local and no endpoint flag: the running npm start's runtime file; prints progress and the final count", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-'));
  const runtimeFile = path.join(dir, 'runtime.json');
  writeRuntimeFile(
    { pid: process.pid, rest: 'http://127.0.0.1:1', snsSqs: emulator.endpoint, dynamodb: 'http://127.0.0.1:1', topicArn, archiveBucket: archiver.bucket },
    runtimeFile,
  );
  const lines: string[] = [];
  // A subscriber of another app (not in this registry): its queue is found, no filter policy is known.
  await replayCli(['--local', '--subscriber', 'new-team', '--from', '2026-03-01', '--to', '2026-04-01', '--dry-run'], {
    log: (l) => lines.push(l),
    runtimeFile,
  });
  expect(lines.join('\n')).toMatch(/not in the registry: no filter policy applies/);
  expect(lines[lines.length - 1]).toMatch(/^6 event\(s\) would be sent \(7 archived line\(s\) read from \d+ object\(s\), 1 duplicate\(s\) skipped\)$/);
  expect(await depth(queueOf('new-team').queueUrl)).toBe(0);
  // A registry subscriber: its filter applies (session events, every tenant).
  lines.length = 0;
  await replayCli(['--local', '--subscriber', 'session-events', '--from', '2026-03-01', '--to', '2026-04-01'], { log: (l) => lines.push(l), runtimeFile });
  expect(lines[lines.length - 1]).toMatch(/^5 event\(s\) sent \(7 archived line\(s\)/);
  expect(lines.some((l) => /^ {2}acme 2026-03-02: \d+ object\(s\), \d+ selected so far, \d+ sent$/.test(l))).toBe(true);
  const got = await drain(sqs(), queueOf('session-events').queueUrl, 5, 20);
  expect(idsOf(got)).toEqual(['m1-blk', 'm2-out', 'm3-pwd', 'm5-eu-blk', 'm6-blk']);
  expect(await depth(queueOf('users').queueUrl)).toBe(0);
  expect(await depth(tapUrl)).toBe(0);
});

test('the other side: a reversed window, no target, two targets, and no local runtime are refused with what to do', async () => {
  const runtimeFile = path.join(os.tmpdir(), `replay-missing-${process.pid}.json`);
  const run = (args: string[]) => replayCli(args, { log: () => undefined, runtimeFile });
  await expect(run(['--local', '--subscriber', 'users', '--from', '2026-03-01', '--to', '2026-03-02'])).rejects.toThrow(
    /no local runtime found .*: start it with npm start/,
  );
  await expect(run(['--subscriber', 'users', '--from', '2026-03-02', '--to', '2026-03-01', '--bucket', 'b'])).rejects.toThrow(
    /--to \(2026-03-01T00:00:00.000Z\) must be after --from \(2026-03-02T00:00:00.000Z\)/,
  );
  await expect(run(['--subscriber', 'users', '--from', '2026-03-01', '--to', '2026-03-02'])).rejects.toThrow(/--bucket is required against AWS/);
  await expect(run(['--from', '2026-03-01', '--to', '2026-03-02', '--bucket', 'b'])).rejects.toThrow(/name exactly one target/);
  await expect(run(['--subscriber', 'users', '--queue-url', 'http://q', '--from', '2026-03-01', '--to', '2026-03-02', '--bucket', 'b'])).rejects.toThrow(
    /name exactly one target/,
  );
  await expect(run(['--subscriber', 'users', '--from', 'last tuesday', '--to', '2026-03-02'])).rejects.toThrow(/--from "last tuesday" is not an ISO 8601 date/);
  await expect(
    replay({
      s3: localS3Client(emulator.endpoint),
      bucket: archiver.bucket,
      from: new Date('2026-03-02'),
      to: new Date('2026-03-01'),
      target: { queueUrl: 'x', sqs: sqs() },
    }),
  ).rejects.toThrow(/--to \(2026-03-01T00:00:00.000Z\) must be after --from/);
});
