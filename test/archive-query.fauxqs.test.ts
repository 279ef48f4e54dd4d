/**
 * The archive is queryable as documented: the Athena query of docs/archive.md, the layout the local archive
 * writes (local/archiver.ts on fauxqs's SNS, SQS and S3, fed by the ingest's own publish code) and the
 * Glue table the stack declares agree. There is no Athena locally: test/support/archive-sql.ts parses
 * its SQL and evaluates it over the archived gzip JSON-lines objects the way a projected table
 * is read (partition predicates pick folders from the table's location template). The expected rows
 * are written by hand.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { publishEvents } from '../lambda/ingest/publish';
import type { CanonicalEvent } from '../lambda/shared/event';
import { archiveDatabaseName } from '../lib/event-archive';
import { LocalArchiver, localS3Client } from '../local/archiver';
import { startSnsSqs, type Emulator } from '../local/emulators';
import { parseQuery, projectedLocations, runQuery, unknownColumns, type GlueTable } from './support/archive-sql';
import { canonicalEvent } from './support/events';
import { snsClient, sqsClient } from '../harness/sns-sqs';
import { buildStack } from './support/stack';

jest.setTimeout(60_000);

const ARCHIVE_DOC = fs.readFileSync(path.join(__dirname, '..', 'docs', 'archive.md'), 'utf8');
const documented = /<!-- archive-query -->\s*```sql\n([\s\S]*?)```\s*<!-- \/archive-query -->/.exec(ARCHIVE_DOC)?.[1] ?? '';

// The Glue table as the stack declares it, with the bucket reference replaced by the local bucket's name.
const { template } = buildStack();
const res = template.toJSON().Resources as Record<string, any>;
const tableInput = Object.values(res).find((r: any) => r.Type === 'AWS::Glue::Table')!.Properties.TableInput;
const withBucket = (v: any, bucket: string): string =>
  typeof v === 'string' ? v : v['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : bucket)).join('');
const glueTable = (bucket: string): GlueTable => ({
  name: tableInput.Name,
  columns: tableInput.StorageDescriptor.Columns,
  partitionKeys: tableInput.PartitionKeys,
  parameters: Object.fromEntries(Object.entries(tableInput.Parameters).map(([k, v]) => [k, withBucket(v, bucket)])),
});

// Hand-written events around the query's edges: tenant, type and the month's first and last instant.
const E = (id: string, tenant: string, type: CanonicalEvent['type'], date: string, user: string) =>
  canonicalEvent({
    id,
    tenant,
    type,
    date,
    user_id: user,
    log_type: type === 'user_blocked' ? 'sapi' : 'ublkdu',
    data: { type: 'sapi', description: 'Update a User', details: { body: { blocked: type === 'user_blocked' } } },
  });
const EVENTS: CanonicalEvent[] = [
  E('blk-mar-01-first', 'acme', 'user_blocked', '2026-03-01T00:00:00.000Z', 'auth0|a1'),
  E('blk-mar-15', 'acme', 'user_blocked', '2026-03-15T12:30:00.000Z', 'auth0|a2'),
  E('blk-mar-31-last', 'acme', 'user_blocked', '2026-03-31T23:59:59.999Z', 'auth0|a3'),
  E('blk-feb-28', 'acme', 'user_blocked', '2026-02-28T23:59:59.999Z', 'auth0|a4'), // the month before
  E('blk-apr-01', 'acme', 'user_blocked', '2026-04-01T00:00:00.000Z', 'auth0|a5'), // the month after
  E('unblk-mar-02', 'acme', 'user_unblocked', '2026-03-02T08:00:00.000Z', 'auth0|a1'), // another type
  E('eu-blk-mar-10', 'acme@eu', 'user_blocked', '2026-03-10T09:00:00.000Z', 'auth0|e1'), // another tenant
  E('other-blk-mar-10', 'acmecorp', 'user_blocked', '2026-03-10T09:00:00.000Z', 'auth0|o1'), // a tenant whose name starts alike
];
const EXPECTED_ROWS = [
  { id: 'blk-mar-01-first', user_id: 'auth0|a1', date: '2026-03-01T00:00:00.000Z', source: 'log-stream' },
  { id: 'blk-mar-15', user_id: 'auth0|a2', date: '2026-03-15T12:30:00.000Z', source: 'log-stream' },
  { id: 'blk-mar-31-last', user_id: 'auth0|a3', date: '2026-03-31T23:59:59.999Z', source: 'log-stream' },
];
const EXPECTED_FOLDERS = [
  'events/tenant=acme/dt=2026-02-28/',
  'events/tenant=acme/dt=2026-03-01/',
  'events/tenant=acme/dt=2026-03-02/',
  'events/tenant=acme/dt=2026-03-15/',
  'events/tenant=acme/dt=2026-03-31/',
  'events/tenant=acme/dt=2026-04-01/',
  'events/tenant=acme@eu/dt=2026-03-10/',
  'events/tenant=acmecorp/dt=2026-03-10/',
];

let emulator: Emulator;
let s3: S3Client;
let archiver: LocalArchiver;

async function bodiesUnder(bucket: string, prefix: string): Promise<{ key: string; body: Buffer }[]> {
  const out: { key: string; body: Buffer }[] = [];
  const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  for (const o of list.Contents ?? []) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
    out.push({ key: o.Key!, body: Buffer.from(await got.Body!.transformToByteArray()) });
  }
  return out;
}

beforeAll(async () => {
  emulator = await startSnsSqs();
  const sns = snsClient(emulator.endpoint);
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'archive-query-topic' }));
  s3 = localS3Client(emulator.endpoint);
  archiver = new LocalArchiver({ sns, sqs: sqsClient(emulator.endpoint), s3, topicArn: TopicArn!, flushIntervalMs: 60_000 });
  await archiver.start();
  const published = await publishEvents(EVENTS, { client: sns, topicArn: TopicArn! });
  expect(published).toMatchObject({ published: EVENTS.length, failed: [] });
  // The running loop gathers for a minute; flush() writes what is waiting now.
  await new Promise((r) => setTimeout(r, 300));
  await archiver.flush();
  await archiver.stop();
});

afterAll(async () => {
  await emulator?.stop();
});

test('docs/archive.md documents one archive query', () => {
  expect(documented).toMatch(/^SELECT/);
});

test('the local archive writes the layout: one gzip JSON-lines object per tenant-day, each line an event of that folder', async () => {
  const objects = await bodiesUnder(archiver.bucket, 'events/');
  const folders = [...new Set(objects.map((o) => o.key.replace(/[^/]+$/, '')))].sort();
  expect(folders).toEqual(EXPECTED_FOLDERS);
  for (const o of objects) {
    expect(o.key).toMatch(/^events\/tenant=[^/]+\/dt=\d{4}-\d{2}-\d{2}\/auth0-events-local-archive-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.gz$/);
    const text = gunzipSync(o.body).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trimEnd().split('\n')) {
      const e = JSON.parse(line);
      expect(o.key.startsWith(`events/tenant=${e.tenant}/dt=${e.date.slice(0, 10)}/`)).toBe(true);
      // The line is the event as published: every field, unchanged.
      expect(e).toEqual(EVENTS.find((x) => x.id === e.id));
    }
  }
  expect(objects.flatMap((o) => gunzipSync(o.body).toString('utf8').trimEnd().split('\n'))).toHaveLength(EVENTS.length);
  expect(await bodiesUnder(archiver.bucket, 'errors/')).toEqual([]);
});

test('the Glue table has the event schema: every field of an archived event is a column or a partition key', async () => {
  const t = glueTable(archiver.bucket);
  const [{ body }] = await bodiesUnder(archiver.bucket, 'events/tenant=acme/dt=2026-03-15/');
  const fields = Object.keys(JSON.parse(gunzipSync(body).toString('utf8').split('\n')[0]));
  const declared = [...t.columns, ...t.partitionKeys].map((c) => c.Name);
  expect(fields.filter((f) => !declared.includes(f))).toEqual([]);
  // And the projection's folders are the ones the archive writes.
  expect(t.parameters['storage.location.template']).toBe(`s3://${archiver.bucket}/events/tenant=\${tenant}/dt=\${dt}/`);
});

test("the documented query names the stack's database and table, and only their columns", () => {
  const q = parseQuery(documented);
  expect(q.database).toBe(archiveDatabaseName('Auth0Events')); // the app's default stack name (bin/auth0-events.ts)
  expect(q.table).toBe(tableInput.Name);
  expect(unknownColumns(q, glueTable('b'))).toEqual([]);
  expect(projectedLocations(q, glueTable('b'))).toHaveLength(31);
});

test('the documented query, run over the local archive, gives every user_blocked of tenant acme in March and nothing else', async () => {
  const q = parseQuery(documented);
  const rows = await runQuery(q, glueTable(archiver.bucket), async (location) => {
    const prefix = location.replace(`s3://${archiver.bucket}/`, '');
    return (await bodiesUnder(archiver.bucket, prefix)).map((o) => o.body);
  });
  expect(rows).toEqual(EXPECTED_ROWS);
});

test('the other side: the stand-in refuses what Athena would (no tenant with an injected projection, an unknown column)', () => {
  const t = glueTable('b');
  const noTenant = parseQuery("SELECT id FROM auth0events_archive.events WHERE dt BETWEEN '2026-03-01' AND '2026-03-31' AND type = 'user_blocked'");
  expect(() => projectedLocations(noTenant, t)).toThrow(/injected projection column tenant must have an equality predicate/);
  expect(unknownColumns(parseQuery("SELECT id, tenant_name FROM auth0events_archive.events WHERE tenant = 'acme' AND dt = '2026-03-01'"), t)).toEqual([
    'tenant_name',
  ]);
  expect(() => parseQuery("SELECT id FROM auth0events_archive.events WHERE tenant LIKE 'acme%'")).toThrow(/predicate not supported/);
});
