/**
 * The users writer against a real DynamoDB Local: duplicates change nothing, out-of-order events never
 * roll an attribute group back, an invalid record is a batch item failure, and (with
 * aws-sdk-client-mock) a throttle on one record fails only that record.
 */
import './support/quiet-logs';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler } from '../lambda/users-writer/handler';
import { startDynamoDb, type Emulator } from '../local/emulators';
import { localClients, createUsersTable } from './support/dynamodb';
import { canonicalEvent, failedIds, sqsEvent, sqsRecord } from './support/events';

let ddb: Emulator;
let clients: ReturnType<typeof localClients>;
let table: string;
let handle: ReturnType<typeof createHandler>;

beforeAll(async () => {
  ddb = await startDynamoDb();
  clients = localClients(ddb.endpoint);
  table = await createUsersTable(clients.client, 'users-test');
  handle = createHandler({ db: clients.doc, table });
});

afterAll(async () => {
  clients?.client.destroy();
  await ddb?.stop();
});

const getUser = async (tenant: string, userId: string) =>
  (await clients.doc.send(new GetCommand({ TableName: table, Key: { tenant, user_id: userId }, ConsistentRead: true }))).Item;
const at = (minute: number) => `2024-05-01T10:${String(minute).padStart(2, '0')}:00.000Z`;

it('creates the user from a registration (Action payload) and a duplicate changes nothing', async () => {
  const reg = canonicalEvent({
    type: 'user_registered',
    source: 'action',
    log_type: 'ss',
    user_id: 'auth0|reg',
    date: at(0),
    data: { user: { user_id: 'auth0|reg', email: 'ada@example.com', username: 'ada' } },
  });
  expect(await handle(sqsEvent(reg))).toEqual({ batchItemFailures: [] });
  const first = await getUser('acme', 'auth0|reg');
  expect(first).toMatchObject({ tenant: 'acme', user_id: 'auth0|reg', email: 'ada@example.com', username: 'ada', created_at: at(0), updated_at: at(0) });
  // The same event again (SQS redelivery, Auth0 retry): byte-for-byte the same item.
  expect(await handle(sqsEvent(reg, reg))).toEqual({ batchItemFailures: [] });
  expect(await getUser('acme', 'auth0|reg')).toEqual(first);
});

it('never rolls back: an older unblock after a newer block leaves the user blocked', async () => {
  const user_id = 'auth0|order';
  const block = canonicalEvent({ type: 'user_blocked', user_id, date: at(5) });
  const olderUnblock = canonicalEvent({ type: 'user_unblocked', log_type: 'sapi', user_id, date: at(2) });
  await handle(sqsEvent(block));
  await handle(sqsEvent(olderUnblock));
  expect(await getUser('acme', user_id)).toMatchObject({ blocked: true, blocked_at: at(5), blocked_event: `${at(5)}#${block.id}`, updated_at: at(5) });
  // A newer unblock does apply.
  const newerUnblock = canonicalEvent({ type: 'user_unblocked', log_type: 'sapi', user_id, date: at(9) });
  await handle(sqsEvent(newerUnblock));
  expect(await getUser('acme', user_id)).toMatchObject({ blocked: false, blocked_at: at(9), updated_at: at(9) });
});

it('keeps attribute groups independent: an old registration fills registration fields without touching newer groups', async () => {
  const user_id = 'auth0|groups';
  const pw = canonicalEvent({ type: 'password_changed', log_type: 'scp', user_id, date: at(30) });
  const deleted = canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id, date: at(40) });
  const newReg = canonicalEvent({
    type: 'user_registered',
    log_type: 'ss',
    user_id,
    date: at(20),
    data: { user_name: 'new@example.com', details: { body: { username: 'newname' } } },
  });
  const oldReg = canonicalEvent({ type: 'user_registered', log_type: 'ss', user_id, date: at(10), data: { user_name: 'old@example.com' } });
  const olderPw = canonicalEvent({ type: 'password_changed', log_type: 'scp', user_id, date: at(25) });
  // Arrival order deliberately scrambled, in one batch and across batches.
  await handle(sqsEvent(deleted, pw));
  await handle(sqsEvent(newReg));
  await handle(sqsEvent(oldReg, olderPw));
  const item = await getUser('acme', user_id);
  expect(item).toMatchObject({
    email: 'new@example.com',
    username: 'newname',
    // created_at is the earliest registration (10:10), whichever arrived last.
    created_at: at(10),
    last_password_change: at(30),
    deleted: true,
    deleted_at: at(40),
    updated_at: at(40),
  });
});

describe('what a hostile or broken sender does with dates and ids', () => {
  const received = (minute: number) => at(minute).replace(':00.000Z', ':30.000Z');

  it('a forged far-future date cannot freeze a user: later real events still apply', async () => {
    const user_id = 'auth0|frozen';
    // Received at 10:01:30 but claiming the year 2999.
    const forgedBlock = canonicalEvent({ type: 'user_blocked', user_id, date: '2999-01-01T00:00:00.000Z', received_at: received(1) });
    await handle(sqsEvent(forgedBlock));
    expect((await getUser('acme', user_id))?.blocked).toBe(true);
    // The real unblock, an hour later.
    const unblock = canonicalEvent({
      type: 'user_unblocked',
      log_type: 'sapi',
      user_id,
      date: '2024-05-01T11:00:00.000Z',
      received_at: '2024-05-01T11:00:02.000Z',
    });
    await handle(sqsEvent(unblock));
    expect(await getUser('acme', user_id)).toMatchObject({ blocked: false, blocked_at: '2024-05-01T11:00:00.000Z' });
  });

  it('a date a little ahead (clock skew within 5 minutes) still orders normally', async () => {
    const user_id = 'auth0|skew';
    const block = canonicalEvent({ type: 'user_blocked', user_id, date: at(4), received_at: at(1) });
    const olderUnblock = canonicalEvent({ type: 'user_unblocked', log_type: 'sapi', user_id, date: at(3), received_at: at(5) });
    await handle(sqsEvent(block));
    await handle(sqsEvent(olderUnblock));
    expect((await getUser('acme', user_id))?.blocked).toBe(true);
  });

  it('a user deleted, then registered again (a reused social user_id), comes back: not deleted, not blocked', async () => {
    const user_id = 'google-oauth2|reused';
    await handle(sqsEvent(canonicalEvent({ type: 'user_registered', log_type: 'ss', user_id, date: at(0), data: { user_name: 'first@example.com' } })));
    await handle(sqsEvent(canonicalEvent({ type: 'user_blocked', user_id, date: at(2) })));
    await handle(sqsEvent(canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id, date: at(3) })));
    expect(await getUser('acme', user_id)).toMatchObject({ deleted: true, blocked: true });
    await handle(sqsEvent(canonicalEvent({ type: 'user_registered', log_type: 'ss', user_id, date: at(7), data: { user_name: 'again@example.com' } })));
    const item = await getUser('acme', user_id);
    expect(item).toMatchObject({ deleted: false, blocked: false, email: 'again@example.com', created_at: at(7), updated_at: at(7) });
    expect(item?.deleted_at).toBeUndefined();
  });

  it('an older registration arriving after a deletion does not undo it, and a registration never undoes a newer block', async () => {
    const user_id = 'auth0|late-reg';
    await handle(sqsEvent(canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id, date: at(10) })));
    await handle(sqsEvent(canonicalEvent({ type: 'user_registered', log_type: 'ss', user_id, date: at(1) })));
    expect(await getUser('acme', user_id)).toMatchObject({ deleted: true, deleted_at: at(10) });
    const other = 'auth0|blocked-first';
    await handle(sqsEvent(canonicalEvent({ type: 'user_blocked', user_id: other, date: at(6) })));
    await handle(sqsEvent(canonicalEvent({ type: 'user_registered', log_type: 'ss', user_id: other, date: at(5) })));
    expect(await getUser('acme', other)).toMatchObject({ blocked: true, deleted: false });
  });
});

it('keeps tenants apart: the same user id in two tenants is two items', async () => {
  await handle(
    sqsEvent(
      canonicalEvent({ type: 'user_blocked', user_id: 'auth0|same', tenant: 'acme', date: at(1) }),
      canonicalEvent({ type: 'user_unblocked', log_type: 'sapi', user_id: 'auth0|same', tenant: 'acme@eu', date: at(1) }),
    ),
  );
  expect((await getUser('acme', 'auth0|same'))?.blocked).toBe(true);
  expect((await getUser('acme@eu', 'auth0|same'))?.blocked).toBe(false);
});

it('reports an invalid record as a batch item failure and still applies the valid ones', async () => {
  const good = canonicalEvent({ type: 'user_blocked', user_id: 'auth0|valid', date: at(3) });
  const notJson = sqsRecord('{not json', 'bad-json');
  const badLevel = sqsRecord(JSON.stringify({ ...canonicalEvent(), level: 7 }), 'bad-level');
  const envelope = sqsRecord(JSON.stringify({ Type: 'Notification', Message: JSON.stringify(good) }), 'envelope');
  const res = await handle(sqsEvent(notJson, good, badLevel, envelope));
  expect(failedIds(res)).toEqual(['bad-json', 'bad-level', 'envelope']);
  expect((await getUser('acme', 'auth0|valid'))?.blocked).toBe(true);
});

it('fails the whole invocation when every record is invalid (never acknowledged)', async () => {
  await expect(handle(sqsEvent(sqsRecord('[]', 'only-bad')))).rejects.toThrow(/All records failed processing/);
});

it('acknowledges events that are not user events (a filter mistake) without writing', async () => {
  const logout = canonicalEvent({ type: 'logout', log_type: 'slo', user_id: 'auth0|nobody' });
  expect(await handle(sqsEvent(logout))).toEqual({ batchItemFailures: [] });
  expect(await getUser('acme', 'auth0|nobody')).toBeUndefined();
});

it('fails only the throttled record when DynamoDB throttles one of a batch', async () => {
  const doc = DynamoDBDocumentClient.from(localClients(ddb.endpoint).client);
  const mock = mockClient(doc);
  mock.on(UpdateCommand).resolves({});
  mock
    .on(UpdateCommand, { Key: { tenant: 'acme', user_id: 'auth0|throttled' } })
    .rejects(new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} }));
  const throttled = canonicalEvent({ type: 'user_blocked', user_id: 'auth0|throttled' });
  const ok1 = canonicalEvent({ type: 'user_blocked', user_id: 'auth0|ok1' });
  const ok2 = canonicalEvent({ type: 'password_changed', log_type: 'scp', user_id: 'auth0|ok2' });
  const res = await createHandler({ db: doc, table })(sqsEvent(ok1, throttled, ok2));
  expect(failedIds(res)).toEqual([`msg-${throttled.id}`]);
  // Each successful event wrote its group and updated_at in one request; the throttled one tried once.
  expect(mock).toHaveReceivedCommandTimes(UpdateCommand, 3);
  mock.restore();
});
