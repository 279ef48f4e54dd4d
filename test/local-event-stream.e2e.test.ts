/**
 * The Auth0 Event Streams webhook door end to end through the code behind `npm start`
 * (local/pipeline.ts): POST /dev/event-stream with the tenant's key as a bearer token, as Auth0's
 * webhook sends it (webhook_authorization {"method":"bearer"}), through fauxqs, the unchanged
 * subscribers, DynamoDB Local with streams, and the WebSocket push. CloudEvents from Auth0's
 * documented examples (test/support/auth0-event-streams.ts).
 */
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { LocalPipeline } from '../local/pipeline';
import { userCreated, userDeleted, userUpdated } from './support/auth0-event-streams';
import { API_KEY, RawListener, startRuntime, tokenFor, until } from '../harness/local-runtime';

let p: LocalPipeline;
let ddb: DynamoDBClient;
const DEV = 'dev.auth0.com';
const run = Date.now().toString(36);

beforeAll(async () => {
  p = await startRuntime();
  ddb = new DynamoDBClient({});
}, 120_000);
afterAll(async () => {
  await p?.stop();
});

async function deliver(ce: unknown, auth = `Bearer ${API_KEY}`): Promise<{ status: number; body: any }> {
  const res = await fetch(`${p.restUrl}/dev/event-stream`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(ce),
  });
  return { status: res.status, body: await res.json() };
}
const userItem = async (user: string) =>
  (await ddb.send(new GetItemCommand({ TableName: p.tables.users, Key: { tenant: { S: 'dev' }, user_id: { S: user } }, ConsistentRead: true }))).Item;

test('user.created then user.updated, delivered in reverse order, end with the newer profile in the users table', async () => {
  const user = `auth0|es-${run}`;
  const updated = userUpdated({ domain: DEV, userId: user, id: `evt_upd_${run}` });
  const created = userCreated({ domain: DEV, userId: user, id: `evt_new_${run}` });
  expect(await deliver(updated)).toEqual({ status: 202, body: { id: `ce_evt_upd_${run}` } });
  // Let the update be written first: the reverse order is what reaches the table.
  await until(async () => (await userItem(user))?.name?.S === 'Johnny Doe', 10_000, 'the update in the users table');
  expect((await deliver(created)).status).toBe(202);
  // The creation's attribute groups are written one after the other; `blocked` is the last one.
  const item = await until(
    async () => {
      const i = await userItem(user);
      return i?.blocked ? i : undefined;
    },
    10_000,
    'the creation in the users table',
  );
  expect(item).toMatchObject({
    email: { S: 'john.doe@example.com' },
    email_verified: { BOOL: true },
    name: { S: 'Johnny Doe' },
    created_at: { S: '2025-02-01T12:34:56.000Z' },
    updated_at: { S: '2025-02-01T13:00:00.000Z' },
    deleted: { BOOL: false },
    blocked: { BOOL: false },
  });
});

test('user.deleted reaches a listen:events listener; the same CloudEvent delivered twice is stored once and pushed once', async () => {
  const listener = new RawListener(p.wsUrl);
  expect(await listener.open(await tokenFor(p, 'auth0|ops', 'listen:events'))).toMatchObject({ type: 'authenticated', filter: '*' });
  const user = `auth0|gone-${run}`;
  const deleted = userDeleted({ domain: DEV, userId: user, id: `evt_del_${run}`, time: new Date().toISOString() });
  expect(await deliver(deleted)).toEqual({ status: 202, body: { id: `ce_evt_del_${run}` } });
  expect(await deliver(deleted)).toEqual({ status: 202, body: { id: `ce_evt_del_${run}` } });
  await listener.waitFor((e) => e.length >= 1);
  await new Promise((r) => setTimeout(r, 2000)); // room for a second copy to show up
  expect(listener.events()).toEqual([
    expect.objectContaining({ id: `ce_evt_del_${run}`, type: 'user_deleted', tenant: 'dev', user_id: user, log_type: 'user.deleted' }),
  ]);
  const stored = await ddb.send(
    new ScanCommand({ TableName: p.tables.events, FilterExpression: 'id = :id', ExpressionAttributeValues: { ':id': { S: `ce_evt_del_${run}` } } }),
  );
  expect(stored.Count).toBe(1);
  expect(stored.Items![0].source).toEqual({ S: 'event-stream' });
  expect(await userItem(user)).toMatchObject({ deleted: { BOOL: true } });
  listener.close();
});

test('a CloudEvent whose source names another tenant is refused (403), and nothing of it is stored', async () => {
  const user = `auth0|intruder-${run}`;
  const foreign = userDeleted({ domain: 'globex.auth0.com', userId: user, id: `evt_foreign_${run}` });
  const r = await deliver(foreign);
  expect(r.status).toBe(403);
  expect(r.body).toEqual({ error: 'wrong_tenant', message: expect.stringContaining('globex.auth0.com') });
  await new Promise((res) => setTimeout(res, 1500));
  expect(await userItem(user)).toBeUndefined();
  const stored = await ddb.send(
    new ScanCommand({ TableName: p.tables.events, FilterExpression: 'id = :id', ExpressionAttributeValues: { ':id': { S: `ce_evt_foreign_${run}` } } }),
  );
  expect(stored.Count).toBe(0);
});

test("the webhook needs the tenant's key: none is 401, a wrong bearer token 403", async () => {
  const ce = userCreated({ domain: DEV, userId: `auth0|nokey-${run}`, id: `evt_nokey_${run}` });
  const res = await fetch(`${p.restUrl}/dev/event-stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ce) });
  expect(res.status).toBe(401);
  expect((await deliver(ce, 'Bearer not-the-key')).status).toBe(403);
});
