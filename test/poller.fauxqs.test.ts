/**
 * The log poller (lambda/ingest/poller) against a stand-in Management API on 127.0.0.1
 * (test/support/management-api-stub.ts), a real local SNS/SQS (fauxqs) and DynamoDB Local for the
 * checkpoint: checkpoint paging, the first run's date search, 429 with x-ratelimit-reset, a publish
 * failure leaves the checkpoint, the lease keeps two runs apart, token caching, a Link to another
 * origin, an invalid log. Expected values are written by hand.
 */
import './support/quiet-logs';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient, Message } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { handleIngest } from '../lambda/ingest/handler';
import { clearTokenCache, ManagementApi } from '../lambda/ingest/poller/auth0-logs';
import { DynamoCheckpointStore } from '../lambda/ingest/poller/checkpoint';
import { runPoller, secretsManagerCredentials, type PollerDeps } from '../lambda/ingest/poller/handler';
import { PublishFailed } from '../lambda/ingest/poller/poll';
import { startDynamoDb, startSnsSqs, type Emulator } from '../local/emulators';
import { ManagementApiStub } from './support/management-api-stub';
import { apiEvent } from '../harness/auth0-logs';
import { drain, topicWithQueue } from '../harness/sns-sqs';
import { localClients } from './support/dynamodb';

let snsSqs: Emulator;
let dynamo: Emulator;
let sns: SNSClient;
let sqs: SQSClient;
let topicArn: string;
let queueUrl: string;
let ddb: DynamoDBClient;
let store: DynamoCheckpointStore;
let stub: ManagementApiStub;
let tableN = 0;
const sleeps: number[] = [];

beforeAll(async () => {
  [snsSqs, dynamo] = await Promise.all([startSnsSqs(), startDynamoDb()]);
  ({ sns, sqs, topicArn, queueUrl } = await topicWithQueue(snsSqs.endpoint, 'poller'));
  ddb = localClients(dynamo.endpoint).client;
}, 60_000);
afterAll(async () => {
  ddb?.destroy();
  await Promise.allSettled([snsSqs?.stop(), dynamo?.stop()]);
});
beforeEach(async () => {
  stub = await new ManagementApiStub().start();
  process.env.TENANTS = JSON.stringify([{ name: 'acme', audience: 'https://events.acme.test', managementApi: { domain: stub.origin, secret: 'acme-m2m' } }]);
  clearTokenCache();
  sleeps.length = 0;
  // A fresh checkpoint table per test.
  const TableName = `checkpoints-${++tableN}`;
  await ddb.send(
    new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'tenant', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'tenant', KeyType: 'HASH' }],
    }),
  );
  store = new DynamoCheckpointStore(ddb, TableName);
  await drain(sqs, queueUrl, 10_000, 1);
});
afterEach(async () => stub.stop());

const deps = (over: Partial<PollerDeps> = {}): PollerDeps => ({
  sns,
  topicArn,
  store,
  credentials: async () => ({ client_id: 'stub-client', client_secret: 'stub-secret' }),
  now: Date.now,
  sleep: async (ms) => {
    sleeps.push(ms);
  },
  ...over,
});
const ids = (messages: Message[]) => messages.map((m) => JSON.parse(m.Body!).id).sort();
const logsRequests = () => stub.requests.filter((r) => r.path === '/api/v2/logs');
/** Stub logs dated from 30 minutes ago (inside the first run's one-hour look-back). */
const recent = (n: number, prefix?: string) => ManagementApiStub.logs(n, new Date(Date.now() - 30 * 60_000).toISOString(), prefix);

test('first run: finds the first log of the last hour by date search, then pages by checkpoint (100, 100, 49) and publishes all 250 with log_id as id', async () => {
  stub.logs = [...ManagementApiStub.logs(5, new Date(Date.now() - 3 * 3600_000).toISOString(), '9001'), ...recent(250)];
  const summary = await runPoller({ tenant: 'acme' }, 60_000, deps());
  expect(summary).toMatchObject({ published: 250, caughtUp: true, last: '9002026120510000250', refused: 0 });
  // 1 search (date >= an hour ago: the 5 older logs are left to npm run backfill), 3 checkpoint pages.
  const reqs = logsRequests();
  expect(reqs.map((r) => r.query.get('from') ?? `search ${r.query.get('sort')} ${r.query.get('per_page')}`)).toEqual([
    'search date:1 1',
    '9002026120510000001',
    '9002026120510000101',
    '9002026120510000201',
  ]);
  expect(reqs.slice(1).every((r) => r.query.get('take') === '100')).toBe(true);
  expect(reqs.every((r) => r.authorization === 'Bearer token-1')).toBe(true);
  const got = await drain(sqs, queueUrl, 250);
  expect(got).toHaveLength(250);
  expect(ids(got)).toEqual(stub.logs.slice(5).map((l) => l.log_id));
  const first = got.find((m) => JSON.parse(m.Body!).id === '9002026120510000001')!;
  expect(JSON.parse(first.Body!)).toMatchObject({ tenant: 'acme', type: 'login_succeeded', source: 'log-stream', log_type: 's', user_id: 'auth0|u1' });
  expect(first.MessageAttributes?.tenant?.StringValue).toBe('acme');
  expect(await store.read('acme')).toEqual({ checkpoint: '9002026120510000250', checkpoint_date: stub.logs[254].date });
});

test('next runs: nothing new is one request and no publish; new logs move the checkpoint; the token is fetched once while valid', async () => {
  stub.logs = recent(3);
  await runPoller({ tenant: 'acme' }, 60_000, deps());
  await drain(sqs, queueUrl, 3);
  const before = logsRequests().length;
  expect(await runPoller({ tenant: 'acme' }, 60_000, deps())).toMatchObject({ published: 0, caughtUp: true });
  expect(logsRequests().length - before).toBe(1);
  expect(logsRequests().at(-1)!.query.get('from')).toBe('9002026120510000003');
  stub.logs.push(...recent(5).slice(3));
  expect(await runPoller({ tenant: 'acme' }, 60_000, deps())).toMatchObject({ published: 2, last: '9002026120510000005' });
  expect(ids(await drain(sqs, queueUrl, 2))).toEqual(['9002026120510000004', '9002026120510000005']);
  expect((await store.read('acme')).checkpoint).toBe('9002026120510000005');
  expect(stub.tokensIssued).toBe(1);
});

test('the token is cached until a minute before it expires: expires_in 120 s, runs at 0 s, 30 s (cached) and 70 s (renewed)', async () => {
  stub.expiresIn = 120;
  stub.logs = recent(1);
  const base = Date.now();
  const issued: number[] = [];
  for (const offset of [0, 30_000, 70_000]) {
    await runPoller({ tenant: 'acme' }, 60_000, deps({ now: () => Date.now() + offset }));
    issued.push(stub.tokensIssued);
  }
  expect(issued).toEqual([1, 1, 2]);
  expect(base).toBeLessThanOrEqual(Date.now());
});

test('429 with x-ratelimit-reset inside the budget: waits until the reset, then goes on; nothing is lost', async () => {
  stub.logs = recent(120);
  await store.acquire('acme', 'setup', 0, 0); // an expired lease, to set the checkpoint as a previous run left it
  await store.save('acme', 'setup', '9002026120510000000', undefined);
  const resetEpochSeconds = Math.ceil(Date.now() / 1000) + 5;
  stub.rateLimit = { count: 1, resetEpochSeconds, path: '/api/v2/logs' };
  const summary = await runPoller({ tenant: 'acme' }, 60_000, deps());
  expect(summary).toMatchObject({ published: 120, caughtUp: true });
  expect(sleeps).toHaveLength(1);
  // Until the reset: 4 to 6 s from now (the reset is a whole second, 5 s after the current one), not a fixed backoff.
  expect(sleeps[0]).toBeGreaterThan(3_500);
  expect(sleeps[0]).toBeLessThanOrEqual(6_000);
  expect(await drain(sqs, queueUrl, 120)).toHaveLength(120);
});

test('429 with a reset after the budget: the run stops (no error), publishes nothing more and keeps the checkpoint', async () => {
  stub.logs = recent(150);
  await runPoller({ tenant: 'acme' }, 60_000, deps());
  await drain(sqs, queueUrl, 150);
  stub.logs.push(...recent(160).slice(150));
  stub.rateLimit = { count: 5, resetEpochSeconds: Math.ceil(Date.now() / 1000) + 600, path: '/api/v2/logs' };
  const summary = await runPoller({ tenant: 'acme' }, 30_000, deps());
  expect(summary).toMatchObject({ published: 0, caughtUp: false, stoppedBy: 'rate-limit' });
  // Behind by the checkpoint's date: log 150 is dated 30 min - 149 s ago.
  expect(summary!.behindSeconds).toBeGreaterThanOrEqual(30 * 60 - 149 - 2);
  expect(summary!.behindSeconds).toBeLessThanOrEqual(30 * 60 - 149 + 5);
  expect(sleeps).toEqual([]);
  expect((await store.read('acme')).checkpoint).toBe('9002026120510000150');
  expect(await drain(sqs, queueUrl, 1, 1)).toHaveLength(0);
});

test('a publish failure on the second page: the run fails, the checkpoint stays at the end of the first page, the next run publishes the rest', async () => {
  stub.logs = recent(250);
  await store.acquire('acme', 'setup', 0, 0);
  await store.save('acme', 'setup', '9002026120510000000', undefined);
  // The real local SNS, refusing (as an authorization error would: not retryable) any batch holding log 150.
  const failing = {
    send: async (cmd: { input: { PublishBatchRequestEntries?: { Message?: string }[] } }) => {
      if (cmd.input.PublishBatchRequestEntries?.some((e) => e.Message?.includes('9002026120510000150')))
        throw Object.assign(new Error('denied'), { name: 'AuthorizationError', $metadata: { httpStatusCode: 403 } });
      return sns.send(cmd as never);
    },
  } as unknown as SNSClient;
  await expect(runPoller({ tenant: 'acme' }, 60_000, deps({ sns: failing }))).rejects.toBeInstanceOf(PublishFailed);
  expect(await store.read('acme')).toEqual({ checkpoint: '9002026120510000100', checkpoint_date: stub.logs[99].date });
  // The first page and 9 of the second page's 10 batches got through; the lease was given back.
  expect((await drain(sqs, queueUrl, 190)).length).toBe(190);
  const summary = await runPoller({ tenant: 'acme' }, 60_000, deps());
  expect(summary).toMatchObject({ published: 150, caughtUp: true, last: '9002026120510000250' });
});

test('a whole publish failure (no such topic): the run fails and the checkpoint does not move', async () => {
  stub.logs = recent(10);
  await store.acquire('acme', 'setup', 0, 0);
  await store.save('acme', 'setup', '9002026120510000000', undefined);
  await expect(runPoller({ tenant: 'acme' }, 60_000, deps({ topicArn: `${topicArn}-missing` }))).rejects.toThrow(/could not be published/);
  expect((await store.read('acme')).checkpoint).toBe('9002026120510000000');
});

test('two runs never overlap: while another run holds the lease, a run does nothing and calls Auth0 not at all', async () => {
  stub.logs = recent(10);
  expect(await store.acquire('acme', 'other-run', Date.now() + 60_000, Date.now())).toEqual({});
  expect(await runPoller({ tenant: 'acme' }, 60_000, deps())).toBeUndefined();
  expect(stub.requests).toHaveLength(0);
  // Two at once: exactly one polls.
  await store.release('acme', 'other-run');
  const both = await Promise.all([runPoller({ tenant: 'acme' }, 60_000, deps()), runPoller({ tenant: 'acme' }, 60_000, deps())]);
  expect(both.filter((s) => s === undefined)).toHaveLength(1);
  expect(ids(await drain(sqs, queueUrl, 10))).toHaveLength(10);
});

test('a Link next URL on another origin is not followed (the token would go there): paging continues from the last log_id', async () => {
  stub.logs = recent(230);
  await store.acquire('acme', 'setup', 0, 0);
  await store.save('acme', 'setup', '9002026120510000000', undefined);
  stub.foreignNextLink = 'http://203.0.113.7:8080/api/v2/logs?from=x&take=100';
  expect(await runPoller({ tenant: 'acme' }, 60_000, deps())).toMatchObject({ published: 230, caughtUp: true });
  expect(logsRequests().map((r) => r.query.get('from'))).toEqual(['9002026120510000000', '9002026120510000100', '9002026120510000200']);
});

test('an invalid log is skipped and counted, the others are published and the checkpoint moves past it', async () => {
  stub.logs = recent(3);
  stub.logs[1] = { ...stub.logs[1], type: '' };
  await store.acquire('acme', 'setup', 0, 0);
  await store.save('acme', 'setup', '9002026120510000000', undefined);
  expect(await runPoller({ tenant: 'acme' }, 60_000, deps())).toMatchObject({ published: 2, refused: 1, last: '9002026120510000003' });
  expect(ids(await drain(sqs, queueUrl, 2))).toEqual(['9002026120510000001', '9002026120510000003']);
});

test('a log seen by both ways (Log Stream webhook and poller) is the same event: same id, type and attributes', async () => {
  stub.logs = recent(1);
  const log = stub.logs[0];
  await runPoller({ tenant: 'acme' }, 60_000, deps());
  const res = await handleIngest(apiEvent({ tenant: 'acme', body: JSON.stringify([{ log_id: log.log_id, data: log }]) }), {
    publish: { client: sns, topicArn },
    now: () => new Date(),
  });
  expect(res.statusCode).toBe(200);
  const [a, b] = await drain(sqs, queueUrl, 2);
  const strip = (m: Message) => ({ ...JSON.parse(m.Body!), received_at: undefined });
  expect(strip(a)).toEqual(strip(b));
  expect(JSON.parse(a.Body!).id).toBe(log.log_id);
  expect(a.MessageAttributes).toEqual(b.MessageAttributes);
});

test('unknown tenant, tenant without managementApi, non-loopback http origin: clear errors', async () => {
  await expect(runPoller({ tenant: 'nope' }, 60_000, deps())).rejects.toThrow(/not a configured tenant/);
  process.env.TENANTS = JSON.stringify([{ name: 'acme', audience: 'https://events.acme.test' }]);
  await expect(runPoller({ tenant: 'acme' }, 60_000, deps())).rejects.toThrow(/no managementApi/);
  expect(
    () =>
      new ManagementApi({
        origin: 'http://auth0.attacker.test',
        credentials: async () => ({ client_id: 'a', client_secret: 'b' }),
        deadline: Date.now() + 1000,
      }),
  ).toThrow(/https only/);
});

test('wrong credentials: the error names the cause, never the secret or a token', async () => {
  stub.logs = recent(1);
  const err = await runPoller(
    { tenant: 'acme' },
    60_000,
    deps({ credentials: async () => ({ client_id: 'stub-client', client_secret: 'WRONG-s3cr3t' }) }),
  ).then(
    () => new Error('resolved'),
    (e) => e as Error,
  );
  expect(err.message).toMatch(/refused the client-credentials token.*HTTP 401/);
  expect(err.message).not.toContain('WRONG-s3cr3t');
});

describe("credentials from Secrets Manager (aws-sdk-client-mock: the names are the tenant configuration's)", () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());
  test("reads the tenant's secret by name, caches it, and refuses a secret that is not {client_id, client_secret} without echoing it", async () => {
    process.env.TENANTS = JSON.stringify([
      { name: 'acme', audience: 'a', managementApi: { secret: 'acme-m2m' } },
      { name: 'beta', audience: 'b', managementApi: { secret: 'beta-m2m' } },
    ]);
    sm.on(GetSecretValueCommand, { SecretId: 'acme-m2m' }).resolves({ SecretString: '{"client_id":"id1","client_secret":"s1"}' });
    sm.on(GetSecretValueCommand, { SecretId: 'beta-m2m' }).resolves({ SecretString: 'hunter2-not-json' });
    const creds = secretsManagerCredentials(new SecretsManagerClient({}));
    expect(await creds('acme')).toEqual({ client_id: 'id1', client_secret: 's1' });
    expect(await creds('acme')).toEqual({ client_id: 'id1', client_secret: 's1' });
    expect(sm.commandCalls(GetSecretValueCommand, { SecretId: 'acme-m2m' })).toHaveLength(1);
    const err = await creds('beta').then(
      () => new Error('resolved'),
      (e) => e as Error,
    );
    expect(err.message).toMatch(/secret beta-m2m is not JSON/);
    expect(err.message).not.toContain('hunter2');
  });
});

test("the local runtime's poller (npm start with AUTH0_DOMAIN): polls the stand-in every interval into tenant dev, credentials from the environment", async () => {
  const { LocalLogPoller, localManagementApi } = require('../local/log-poller') as typeof import('../local/log-poller');
  expect(() => localManagementApi({ AUTH0_DOMAIN: stub.origin })).toThrow(/AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET/);
  expect(localManagementApi({ AUTH0_DOMAIN: 'https://acme.eu.auth0.com/', AUTH0_CLIENT_ID: 'a', AUTH0_CLIENT_SECRET: 'b' })).toEqual({
    domain: 'acme.eu.auth0.com',
    secret: 'local-environment',
  });
  Object.assign(process.env, { AUTH0_CLIENT_ID: 'stub-client', AUTH0_CLIENT_SECRET: 'stub-secret' });
  process.env.TENANTS = JSON.stringify([
    {
      name: 'dev',
      audience: 'http://127.0.0.1/',
      issuer: 'http://127.0.0.1:3000/',
      managementApi: localManagementApi({ AUTH0_DOMAIN: stub.origin, AUTH0_CLIENT_ID: 'x', AUTH0_CLIENT_SECRET: 'y' }),
    },
  ]);
  stub.logs = recent(2);
  const lines: string[] = [];
  const poller = new LocalLogPoller({
    sns,
    ddb,
    table: (store as unknown as { table: string }).table,
    topicArn,
    tenant: 'dev',
    log: (l) => lines.push(l),
    intervalMs: 50,
  });
  poller.start();
  try {
    expect(ids(await drain(sqs, queueUrl, 2, 40))).toEqual(['9002026120510000001', '9002026120510000002']);
    stub.logs.push(...recent(3).slice(2));
    const later = await drain(sqs, queueUrl, 1, 40);
    expect(JSON.parse(later[0].Body!)).toMatchObject({ id: '9002026120510000003', tenant: 'dev' });
  } finally {
    await poller.stop();
    delete process.env.AUTH0_CLIENT_ID;
    delete process.env.AUTH0_CLIENT_SECRET;
  }
  expect(lines.some((l) => /published as tenant dev/.test(l))).toBe(true);
});

test('backfill (npm run backfill): from an ISO date to another publishes exactly that window, by date search then checkpoint paging, and moves no checkpoint', async () => {
  const { startOf } = require('../scripts/backfill') as typeof import('../scripts/backfill');

  const { poll } = require('../lambda/ingest/poller/poll') as typeof import('../lambda/ingest/poller/poll');

  const { publishEvents } = require('../lambda/ingest/publish') as typeof import('../lambda/ingest/publish');
  expect(startOf('2026-12-05T10:00:50Z')).toEqual({ since: '2026-12-05T10:00:50.000Z' });
  expect(startOf('2026-12-05')).toEqual({ since: '2026-12-05T00:00:00.000Z' });
  expect(startOf('90020261205100000000123')).toEqual({ after: '90020261205100000000123' });
  expect(() => startOf('x y')).toThrow(/log_id or an ISO date/);
  stub.logs = ManagementApiStub.logs(300, '2026-12-05T10:00:00.000Z'); // one a second: log n is dated 10:00:00 + (n-1) s
  const api = new ManagementApi({
    origin: stub.origin,
    credentials: async () => ({ client_id: 'stub-client', client_secret: 'stub-secret' }),
    deadline: Date.now() + 60_000,
  });
  const summary = await poll({
    tenant: 'acme',
    api,
    start: startOf('2026-12-05T10:00:50Z'),
    until: '2026-12-05T10:04:09.000Z',
    deadline: Date.now() + 60_000,
    publish: (events) => publishEvents(events, { client: sns, topicArn }),
  });
  // Logs 51 (10:00:50) to 250 (10:04:09): 200 events.
  expect(summary).toMatchObject({ published: 200, caughtUp: true, last: '9002026120510000250' });
  const got = ids(await drain(sqs, queueUrl, 200));
  expect(got).toHaveLength(200);
  expect([got[0], got[199]]).toEqual(['9002026120510000051', '9002026120510000250']);
  expect(await store.read('acme')).toEqual({});
});
