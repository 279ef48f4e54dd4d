/**
 * Issue 10, item 2 (the hostile tenant's side): event ids are Auth0's per-tenant log ids or caller
 * chosen ids, so another tenant can send an event with the id of ours. Against DynamoDB Local, the
 * session-events writer, the push Lambda (on the table's real stream records) and the REST query:
 * tenant beta stores an event with acme's id FIRST; acme's real event must still be stored, pushed to
 * acme's listeners and returned by acme's REST query, and beta's must never be visible to acme.
 */
import './support/quiet-logs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handleQuery } from '../lambda/events-query/handler';
import { handlePushBatch } from '../lambda/push/handler';
import { storeSessionEvent } from '../lambda/session-events-writer/handler';
import { visibleEvent } from '../lambda/shared/history';
import { signedPoster } from '../lambda/shared/signed-poster';
import { closeConnection, managementClient } from '../lambda/shared/management';
import { EMULATOR_CREDENTIALS, type Emulator } from '../local/emulators';
import { canonicalEvent } from './support/events';
import { clients, createTables, eventsOf, listener, managementServer, readyDynamoDb, streamRecords, type ManagementServer } from '../harness/realtime';
import { PutCommand } from '@aws-sdk/lib-dynamodb';

Object.assign(process.env, EMULATOR_CREDENTIALS);

let dynamo: Emulator;
let mgmt: ManagementServer;
let db: ReturnType<typeof clients>;
let tables: Awaited<ReturnType<typeof createTables>>;

beforeAll(async () => {
  [dynamo, mgmt] = await Promise.all([readyDynamoDb(), managementServer()]);
  db = clients(dynamo.endpoint);
  tables = await createTables(db.raw, 'isolation');
  process.env.TENANTS = JSON.stringify([
    { name: 'acme', audience: 'https://events.test' },
    { name: 'beta', audience: 'https://events.test' },
  ]);
}, 60_000);
afterAll(async () => {
  await mgmt?.close();
  await dynamo?.stop();
});

it('a hostile tenant storing an event with our id first pre-empts nothing: ours is stored, pushed to us and listed for us; theirs is never shown to us', async () => {
  for (const [id, tenant, sub] of [
    ['acme-ops', 'acme', 'auth0|ops'],
    ['beta-ops', 'beta', 'auth0|mallory'],
  ]) {
    await db.ddb.send(new PutCommand({ TableName: tables.connections, Item: listener(id, tenant, '*', sub) }));
  }
  // A minute ago (so that REST polling, which withholds the last seconds, lists them).
  const t0 = Date.now() - 60_000;
  const writer = (ms: number) => ({ db: db.ddb, table: tables.events, now: () => new Date(t0 + ms) });
  const sharedId = '90020240501100000000000000000000000000000000424242';
  const acmeEarlier = canonicalEvent({ id: 'acme-earlier', tenant: 'acme', type: 'logout', log_type: 'slo', user_id: 'auth0|alice' });
  const forged = canonicalEvent({ id: sharedId, tenant: 'beta', type: 'logout', log_type: 'slo', user_id: 'auth0|forged', session_id: 'forged-session' });
  const real = canonicalEvent({ id: sharedId, tenant: 'acme', type: 'user_blocked', log_type: 'sapi', user_id: 'auth0|alice', session_id: 'real-session' });

  expect(await storeSessionEvent(acmeEarlier, writer(0))).toBe('written');
  expect(await storeSessionEvent(forged, writer(1000))).toBe('written');
  // The attack today: acme's real event is dropped as a "duplicate" of beta's.
  expect(await storeSessionEvent(real, writer(2000))).toBe('written');
  // A genuine duplicate of acme's event is still one event.
  expect(await storeSessionEvent(real, writer(3000))).toBe('duplicate');

  // The push Lambda, fed the table's stream records: each tenant's listener gets its own tenant's event.
  const records = (await streamRecords(dynamo.endpoint, tables.streamArn!)).filter((r) => r.eventName === 'INSERT');
  expect(records).toHaveLength(3);
  const push = {
    ddb: db.ddb,
    post: signedPoster({ endpoint: mgmt.endpoint, region: 'us-east-1', maxAttempts: 1 }),
    close: (id: string) => closeConnection(managementClient(mgmt.endpoint), id),
    connectionsTable: tables.connections,
    eventsTable: tables.events,
    concurrency: 2,
    now: () => new Date(),
  };
  expect(await handlePushBatch({ Records: records }, push)).toEqual({ batchItemFailures: [] });
  // One frame per listener and batch: `events` holds both, in order (`event` when one).
  const got = (id: string) => (mgmt.messages.get(id) ?? []).flatMap((m) => eventsOf(m));
  expect(got('acme-ops')).toEqual([
    expect.objectContaining({ id: 'acme-earlier', tenant: 'acme' }),
    { id: sharedId, tenant: 'acme', type: 'user_blocked', user_id: 'auth0|alice', session_id: 'real-session', date: real.date, log_type: 'sapi' },
  ]);
  expect(got('beta-ops')).toEqual([
    { id: sharedId, tenant: 'beta', type: 'logout', user_id: 'auth0|forged', session_id: 'forged-session', date: forged.date, log_type: 'slo' },
  ]);

  // REST, as acme: since its earlier event, and "most recent"; and the id lookup behind since.
  const rest = async (query: Record<string, string> | null) =>
    JSON.parse(
      (
        await handleQuery(
          {
            resource: '/{tenant}/events',
            pathParameters: { tenant: 'acme' },
            queryStringParameters: query,
            requestContext: { authorizer: { sub: 'auth0|ops', filter: '*', tenant: 'acme', exp: String(Math.floor(Date.now() / 1000) + 3600) } },
          } as unknown as APIGatewayProxyEvent,
          { ddb: db.ddb, eventsTable: tables.events, connectionsTable: tables.connections },
        )
      ).body,
    );
  const since = await rest({ since: 'acme-earlier' });
  expect(since.events).toEqual([
    { id: sharedId, tenant: 'acme', type: 'user_blocked', user_id: 'auth0|alice', session_id: 'real-session', date: real.date, log_type: 'sapi' },
  ]);
  expect((await rest(null)).events.map((e: { id: string; tenant: string }) => `${e.tenant}/${e.id}`)).toEqual(['acme/acme-earlier', `acme/${sharedId}`]);
  // since = the shared id means acme's event (its cursor), not beta's: nothing after it for acme.
  expect((await rest({ since: sharedId })).events).toEqual([]);
  expect(await visibleEvent(db.ddb, tables.events, { tenant: 'acme', sub: 'auth0|ops', filter: '*' }, sharedId)).toMatchObject({
    tenant: 'acme',
    user_id: 'auth0|alice',
  });
  expect(await visibleEvent(db.ddb, tables.events, { tenant: 'beta', sub: 'auth0|mallory', filter: '*' }, sharedId)).toMatchObject({
    tenant: 'beta',
    user_id: 'auth0|forged',
  });
});
