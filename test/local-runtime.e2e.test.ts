/**
 * End to end through the code behind `npm start` (local/pipeline.ts): real local SNS/SQS (fauxqs),
 * DynamoDB Local with streams, the unchanged handlers, the emulated REST and WebSocket APIs.
 */
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SUBSCRIBERS } from '../lib/subscribers';
import type { LocalPipeline } from '../local/pipeline';
import { SessionEventsClient, type SessionEvent } from '../client/session-events-client';
import { API_KEY, postLogStream, RawListener, startRuntime, tokenFor, until } from '../harness/local-runtime';

const registration = require('../auth0/actions/post-user-registration.js');

let p: LocalPipeline;
let ddb: DynamoDBClient;
const now = () => new Date().toISOString();
let seq = 0;
const id = (name: string) => `e2e-${name}-${Date.now()}-${++seq}`;
const block = (user: string) => ({
  log_id: id('block'),
  data: {
    type: 'sapi',
    date: now(),
    description: 'Update a User',
    details: { request: { method: 'patch', path: `/api/v2/users/${encodeURIComponent(user)}`, body: { blocked: true } } },
  },
});
const passwordChange = (user: string) => ({ log_id: id('scp'), data: { type: 'scp', date: now(), user_id: user } });
const logout = (user: string) => ({ log_id: id('slo'), data: { type: 'slo', date: now(), user_id: user, details: { session_id: `s-${seq}` } } });

beforeAll(async () => {
  p = await startRuntime({
    // A subscriber whose handler always throws (the session-events writer, made to fail).
    subscribers: [
      ...SUBSCRIBERS,
      {
        name: 'always-fails',
        description: 'fails every message (test)',
        filter: { types: ['refresh_token_revoked'] },
        handler: { entry: 'lambda/session-events-writer/handler.ts' },
        maxReceiveCount: 2,
      },
    ],
    wrapHandler: (name, handler) =>
      name === 'always-fails'
        ? async () => {
            throw new Error('always-fails: refusing the batch');
          }
        : handler,
  });
  ddb = new DynamoDBClient({});
}, 120_000);
afterAll(async () => {
  await p?.stop();
});

test('the post-user-registration Action, run against the front door, creates the user in the users table', async () => {
  const user = { user_id: `auth0|reg-${Date.now()}`, email: 'newcomer@acme.test', email_verified: false, created_at: now(), password: 'never-sent' };
  await registration.onExecutePostUserRegistration(
    {
      user,
      tenant: { id: 'dev' },
      connection: { id: 'con_1', name: 'Username-Password-Authentication', strategy: 'auth0' },
      request: { ip: '203.0.113.1', user_agent: 'jest' },
      secrets: { EVENTS_API_URL: p.restUrl, EVENTS_API_KEY: API_KEY, EVENTS_TENANT: 'dev' },
    },
    {},
  );
  const item = await until(
    async () => (await ddb.send(new GetItemCommand({ TableName: p.tables.users, Key: { tenant: { S: 'dev' }, user_id: { S: user.user_id } } }))).Item,
    10_000,
    'the user item',
  );
  expect(item.email?.S).toBe('newcomer@acme.test');
  expect(JSON.stringify(item)).not.toContain('never-sent');
});

test("a batch with an admin block, a password change and a logout reaches a listen:events listener whole, and a self listener only its user's, within a second", async () => {
  const admin = new RawListener(p.wsUrl);
  const alice = new RawListener(p.wsUrl);
  expect(await admin.open(await tokenFor(p, 'auth0|admin', 'listen:events'))).toMatchObject({ type: 'authenticated', filter: '*' });
  expect(await alice.open(await tokenFor(p, 'auth0|alice', 'listen:events:self'))).toMatchObject({ type: 'authenticated', sub: 'auth0|alice', filter: 'self' });
  const batch = [block('auth0|alice'), passwordChange('auth0|bob'), logout('auth0|alice')];
  const sentAt = Date.now();
  expect((await postLogStream(p, batch)).body).toEqual({ received: 3, published: 3 });
  await admin.waitFor((e) => e.length >= 3);
  await alice.waitFor((e) => e.length >= 2);
  expect(
    admin
      .events()
      .map((e) => [e.type, e.user_id])
      .sort(),
  ).toEqual([
    ['logout', 'auth0|alice'],
    ['password_changed', 'auth0|bob'],
    ['user_blocked', 'auth0|alice'],
  ]);
  const latest = Math.max(...batch.map((r) => admin.arrivals.get(r.log_id)! - sentAt));
  expect(latest).toBeLessThan(1000);
  await new Promise((r) => setTimeout(r, 500));
  expect(
    alice
      .events()
      .map((e) => e.type)
      .sort(),
  ).toEqual(['logout', 'user_blocked']);
  expect(alice.events().every((e) => e.user_id === 'auth0|alice')).toBe(true);
  admin.close();
  alice.close();
});

test('the same batch posted twice is stored once and pushed once', async () => {
  const listener = new RawListener(p.wsUrl);
  await listener.open(await tokenFor(p, 'auth0|ops', 'listen:events'));
  const batch = [logout('auth0|twice'), passwordChange('auth0|twice')];
  expect((await postLogStream(p, batch)).status).toBe(200);
  expect((await postLogStream(p, batch)).status).toBe(200);
  await listener.waitFor((e) => e.length >= 2);
  await new Promise((r) => setTimeout(r, 2000)); // room for a second copy to show up
  expect(
    listener
      .events()
      .map((e) => e.id)
      .sort(),
  ).toEqual(batch.map((r) => r.log_id).sort());
  for (const r of batch) {
    const items = await ddb.send(
      new ScanCommand({ TableName: p.tables.events, FilterExpression: 'id = :id', ExpressionAttributeValues: { ':id': { S: r.log_id } } }),
    );
    expect(items.Count).toBe(1);
  }
  listener.close();
});

test('a subscriber whose handler always throws ends in its DLQ after maxReceiveCount, shown on the page state; redrive moves it back', async () => {
  const revoked = { log_id: id('srrt'), data: { type: 'srrt', date: now(), user_id: 'auth0|dlq' } };
  await postLogStream(p, [revoked]);
  const failing = await until(async () => (await p.state()).subscribers.find((s) => s.name === 'always-fails' && s.dlq >= 1), 20_000, 'the DLQ to fill');
  expect(failing.dlq).toBe(1);
  const res = await fetch(`${p.restUrl}/local/redrive?subscriber=always-fails`, { method: 'POST' });
  const body = await res.json();
  expect(body.moved).toBe(1);
  expect(body.listed[0]).toMatchObject({ id: revoked.log_id, type: 'refresh_token_revoked' });
  const after = (await p.state()).subscribers.find((s) => s.name === 'always-fails')!;
  expect(after.dlq).toBe(0);
  expect(after.visible + after.inFlight).toBe(1);
  // It fails again and returns to the DLQ: moved, never lost.
  await until(async () => (await p.state()).subscribers.find((s) => s.name === 'always-fails' && s.dlq === 1), 20_000, 'the DLQ again');
});

test('a listener that reconnects with since gets what it missed, once and in order', async () => {
  const token = await tokenFor(p, 'auth0|resumer', 'listen:events');
  const first = new RawListener(p.wsUrl);
  await first.open(token);
  const before = logout('auth0|r1');
  await postLogStream(p, [before]);
  await first.waitFor((e) => e.some((x) => x.id === before.log_id));
  first.close();
  const missed = [passwordChange('auth0|r2'), logout('auth0|r3'), block('auth0|r4')];
  for (const r of missed) await postLogStream(p, [r]);
  await until(
    async () =>
      (
        await ddb.send(
          new ScanCommand({ TableName: p.tables.events, FilterExpression: 'id = :id', ExpressionAttributeValues: { ':id': { S: missed[2].log_id } } }),
        )
      ).Count === 1,
    10_000,
    'stored',
  );

  // The typed client resumes from the last id it saw.
  const got: SessionEvent[] = [];
  const client = new SessionEventsClient({ url: p.wsUrl, tenant: 'dev', token, since: before.log_id });
  client.on('event', (e) => got.push(e));
  client.start();
  await until(async () => got.length >= 3, 10_000, 'the replay');
  await new Promise((r) => setTimeout(r, 300));
  client.close();
  expect(got.map((e) => e.id)).toEqual(missed.map((r) => r.log_id));
});

test('REST: GET /dev/events needs a token, and a self-scoped caller sees only its own events', async () => {
  expect((await fetch(`${p.restUrl}/dev/events`)).status).toBe(401);
  const token = await tokenFor(p, 'auth0|alice', 'listen:events:self');
  // REST lists events once they are 5 s old (the settle horizon, docs/realtime.md): wait for alice's.
  const body = await until(
    async () => {
      const res = await fetch(`${p.restUrl}/dev/events?limit=100`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const b = await res.json();
      return b.events.length > 0 ? b : undefined;
    },
    10_000,
    "alice's events on REST",
  );
  expect(body.events.every((e: { user_id: string }) => e.user_id === 'auth0|alice')).toBe(true);
  expect((await fetch(`${p.restUrl}/dev/log-stream`, { method: 'POST', headers: { 'x-api-key': 'wrong' }, body: '[]' })).status).toBe(403);
  expect((await fetch(`${p.restUrl}/health`)).status).toBe(200);
});
