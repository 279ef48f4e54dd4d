/**
 * Issue 10, item 7 (the fault's side): REST polling with `since` must give the WebSocket resume's
 * guarantee, nothing missed and nothing twice, with concurrent writers whose items become visible
 * late. Against DynamoDB Local: several session-events writers store events concurrently; one writer
 * is held between taking stored_at and its PutItem (a slow or retried request), so its event becomes
 * visible after events with later cursors; a poller calls GET /{tenant}/events?since=<next> over and
 * over meanwhile. Every event must be returned exactly once.
 */
import './support/quiet-logs';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handleQuery } from '../lambda/events-query/handler';
import { storeSessionEvent } from '../lambda/session-events-writer/handler';
import { EMULATOR_CREDENTIALS, type Emulator } from '../local/emulators';
import { canonicalEvent } from './support/events';
import { clients, createTables, readyDynamoDb } from '../harness/realtime';

Object.assign(process.env, EMULATOR_CREDENTIALS);

let dynamo: Emulator;
let db: ReturnType<typeof clients>;
let tables: Awaited<ReturnType<typeof createTables>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dynamo = await readyDynamoDb();
  db = clients(dynamo.endpoint);
  tables = await createTables(db.raw, 'polling');
  process.env.TENANTS = JSON.stringify([{ name: 'acme', audience: 'https://events.test' }]);
}, 60_000);
afterAll(async () => {
  await dynamo?.stop();
});

/** A DynamoDB client whose PutItem of the given event ids waits `ms` before it is sent. */
function holding(ms: Record<string, number>): DynamoDBDocumentClient {
  return {
    send: async (cmd: unknown) => {
      if (cmd instanceof PutCommand) await sleep(ms[String(cmd.input.Item?.id)] ?? 0);
      return db.ddb.send(cmd as never);
    },
  } as unknown as DynamoDBDocumentClient;
}

async function poll(since: string): Promise<{ ids: string[]; next: string }> {
  const res = await handleQuery(
    {
      resource: '/{tenant}/events',
      pathParameters: { tenant: 'acme' },
      queryStringParameters: { since, limit: '1000' },
      requestContext: { authorizer: { sub: 'auth0|ops', filter: '*', tenant: 'acme', exp: String(Math.floor(Date.now() / 1000) + 3600) } },
    } as unknown as APIGatewayProxyEvent,
    { ddb: db.ddb, eventsTable: tables.events, connectionsTable: tables.connections, settleMs: 3000 },
  );
  expect(res.statusCode).toBe(200);
  const body = JSON.parse(res.body);
  return { ids: body.events.map((e: { id: string }) => e.id), next: body.next };
}

it('returns every event exactly once to a poller, although a held writer makes one visible behind later ones', async () => {
  const writer = (ms: Record<string, number> = {}) => ({ db: holding(ms), table: tables.events, writeBudgetMs: 800 });
  const seed = canonicalEvent({ id: 'seed', type: 'logout', log_type: 'slo' });
  await storeSessionEvent(seed, writer());
  await sleep(3100); // the seed settles: the poller starts after it

  // 30 events from 3 concurrent writers, one every 40 ms; each put waits 0-120 ms (within the
  // writer's 800 ms budget), except event `held`, whose put waits 4,000 ms after its stored_at was taken
  // (longer than the 3 s settle horizon of the poller).
  const ids = Array.from({ length: 30 }, (_, i) => `ev-${String(i).padStart(2, '0')}`);
  const delays: Record<string, number> = Object.fromEntries(ids.map((id, i) => [id, (i * 37) % 120]));
  delays['ev-05'] = 4000;
  const returned: string[] = [];
  let polling = true;
  const poller = (async () => {
    let since = 'seed';
    while (polling) {
      const page = await poll(since);
      returned.push(...page.ids);
      since = page.next;
      await sleep(50);
    }
    // Once everything has settled, a last poll.
    await sleep(3200);
    returned.push(...(await poll(since)).ids);
  })();
  const writes: Promise<unknown>[] = [];
  await Promise.all(
    [0, 1, 2].map(async (w) => {
      for (let i = w; i < ids.length; i += 3) {
        await sleep(40);
        writes.push(storeSessionEvent(canonicalEvent({ id: ids[i], type: 'logout', log_type: 'slo', user_id: `auth0|u${i}` }), writer(delays)));
      }
    }),
  );
  expect(await Promise.all(writes)).toEqual(ids.map(() => 'written'));
  polling = false;
  await poller;

  const counts = new Map<string, number>();
  for (const id of returned) counts.set(id, (counts.get(id) ?? 0) + 1);
  expect([...counts.keys()].sort()).toEqual(ids);
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  // The fault did happen: the held event reached the poller after events stored after it.
  expect(returned.indexOf('ev-05')).toBeGreaterThan(returned.indexOf('ev-29'));
}, 30_000);
