/**
 * The users writer writes an event newer than everything stored in one UpdateItem (every attribute
 * group and updated_at on one condition), against a real DynamoDB Local. Counted at the client:
 * requests by hand (a whole profile's registration was 7 UpdateItems before, one per group). An event
 * that is not newer than all it touches falls back to one write per group: the result must be the same
 * as before whatever the order, so a property test applies the same events in time order to one user
 * and shuffled, with duplicates, to another, and expects the same item.
 */
import './support/quiet-logs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { classifyCloudEvent, parseCloudEvent } from '../lambda/ingest/cloud-event';
import type { CanonicalEvent } from '../lambda/shared/event';
import { usersWriterOnDynamoDb } from './support/dynamodb';
import { canonicalEvent, sqsEvent } from './support/events';
import { userCreated, userDeleted, userUpdated } from './support/auth0-event-streams';
import { groupUpdates } from '../lambda/users-writer/groups';

const w = usersWriterOnDynamoDb('users-one-write-test');

let updates = 0;
beforeAll(() => {
  w.clients.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UpdateItemCommand') updates++;
      return next(args);
    },
    { step: 'initialize', name: 'countUpdates' },
  );
});

const getUser = async (userId: string) =>
  (await w.clients.doc.send(new GetCommand({ TableName: w.table, Key: { tenant: 'acme', user_id: userId }, ConsistentRead: true }))).Item;
/** UpdateItem requests made while `run` runs. */
const counted = async (run: () => Promise<unknown>) => {
  const before = updates;
  await run();
  return updates - before;
};
const fromStream = (ce: { time: string }) => classifyCloudEvent(parseCloudEvent(ce), 'acme', new Date(Date.parse(ce.time) + 30_000).toISOString());

test("a whole profile's registration is one UpdateItem; its duplicate is refused whole, then each group is refused", async () => {
  const created = fromStream(userCreated({ domain: 'acme.auth0.com', userId: 'auth0|one-write' }));
  expect(await counted(() => w.handle(sqsEvent(created)))).toBe(1);
  const item = await getUser('auth0|one-write');
  expect(item).toMatchObject({
    email: 'john.doe@gmail.com',
    name: 'John Doe',
    email_verified: false,
    created_at: '2025-02-01T12:34:56.000Z',
    updated_at: '2025-02-01T12:34:56.000Z',
    blocked: false,
    deleted: false,
  });
  // The duplicate: the one write is refused, then the 6 groups and updated_at one by one, all refused.
  expect(await counted(() => w.handle(sqsEvent(created)))).toBe(1 + 7);
  expect(await getUser('auth0|one-write')).toEqual(item);
});

test('a block and a password change: one UpdateItem each; an older unblock after them changes nothing', async () => {
  const user_id = 'auth0|one-write-2';
  const block = canonicalEvent({ type: 'user_blocked', user_id, date: '2024-05-01T10:05:00.000Z' });
  const password = canonicalEvent({ type: 'password_changed', log_type: 'scp', user_id, date: '2024-05-01T10:06:00.000Z' });
  const olderUnblock = canonicalEvent({ type: 'user_unblocked', user_id, date: '2024-05-01T10:02:00.000Z' });
  expect(await counted(() => w.handle(sqsEvent(block)))).toBe(1);
  expect(await counted(() => w.handle(sqsEvent(password)))).toBe(1);
  // Refused whole, then blocked_event refused, then updated_event refused.
  expect(await counted(() => w.handle(sqsEvent(olderUnblock)))).toBe(3);
  expect(await getUser(user_id)).toMatchObject({
    blocked: true,
    blocked_at: '2024-05-01T10:05:00.000Z',
    last_password_change: '2024-05-01T10:06:00.000Z',
    updated_at: '2024-05-01T10:06:00.000Z',
  });
});

test('a user.updated newer than the profile but older than a block: the profile is written, the block stays', async () => {
  const user_id = 'auth0|one-write-3';
  const domain = 'acme.auth0.com';
  await w.handle(sqsEvent(fromStream(userCreated({ domain, userId: user_id }))));
  const block = canonicalEvent({ type: 'user_blocked', user_id, date: '2025-02-01T14:00:00.000Z' });
  await w.handle(sqsEvent(block));
  // Auth0's flag says not blocked, at 13:00: older than the block (14:00), newer than the profile (12:34:56).
  const update = fromStream(userUpdated({ domain, userId: user_id, blocked: false }));
  await w.handle(sqsEvent(update));
  expect(await getUser(user_id)).toMatchObject({
    email: 'john.doe@example.com',
    name: 'Johnny Doe',
    blocked: true,
    blocked_at: '2025-02-01T14:00:00.000Z',
    updated_at: '2025-02-01T14:00:00.000Z',
  });
});

test('an unblock then a newer registration: the same item in either order (the registration removes blocked_at)', async () => {
  // Found by the property below: the registration set `blocked` and left the older unblock's blocked_at
  // in time order, while the other order had none.
  const unblock = (user_id: string) => canonicalEvent({ id: `${user_id}-u`, type: 'user_unblocked', user_id, date: '2024-05-01T10:00:00.000Z' });
  const register = (user_id: string) =>
    canonicalEvent({ id: `${user_id}-r`, type: 'user_registered', source: 'action', log_type: 'ss', user_id, date: '2024-05-01T10:01:00.000Z', data: {} });
  await w.handle(sqsEvent(unblock('auth0|ur-a')));
  await w.handle(sqsEvent(register('auth0|ur-a')));
  await w.handle(sqsEvent(register('auth0|ur-b')));
  await w.handle(sqsEvent(unblock('auth0|ur-b')));
  for (const user of ['auth0|ur-a', 'auth0|ur-b']) {
    const item = await getUser(user);
    expect(item).toMatchObject({ blocked: false, blocked_event: `2024-05-01T10:01:00.000Z#${user}-r`, updated_at: '2024-05-01T10:01:00.000Z' });
    expect(item).not.toHaveProperty('blocked_at');
  }
});

test('a blocked user keeps a blocked_at through a later profile update that still says blocked (no previous_object)', async () => {
  // Review of the one-write change: the update's blocked group removed blocked_at, so a blocked user had none.
  const user = 'auth0|kept-block';
  await w.handle(sqsEvent(fromStream(userCreated({ domain: 'acme.auth0.com', userId: user }))));
  await w.handle(sqsEvent(canonicalEvent({ type: 'user_blocked', log_type: 'sapi', user_id: user, date: '2025-02-01T14:00:00.000Z' })));
  expect(await getUser(user)).toMatchObject({ blocked: true, blocked_at: '2025-02-01T14:00:00.000Z' });
  const rename = userUpdated({
    domain: 'acme.auth0.com',
    userId: user,
    id: 'evt_rename_blocked',
    time: '2025-02-01T15:00:00Z',
    updatedAt: '2025-02-01T15:00:00Z',
    name: 'Renamed',
    blocked: true,
  });
  await w.handle(sqsEvent(fromStream(rename)));
  expect(await getUser(user)).toMatchObject({ name: 'Renamed', blocked: true, blocked_at: '2025-02-01T15:00:00.000Z' });
});

/** One event of the property test: its kind and its minute (distinct minutes: markers never tie on the date). */
type Step = { kind: 'register' | 'block' | 'unblock' | 'password' | 'email'; minute: number; email: number };

const eventOf = (s: Step, user_id: string, id: string): CanonicalEvent => {
  const date = `2024-06-01T10:${String(s.minute).padStart(2, '0')}:00.000Z`;
  const base = { id, user_id, date, received_at: new Date(Date.parse(date) + 1000).toISOString() };
  switch (s.kind) {
    case 'register':
      return canonicalEvent({
        ...base,
        type: 'user_registered',
        source: 'action',
        log_type: 'ss',
        data: { user: { user_id, email: `u${s.email}@example.com` } },
      });
    case 'email':
      return canonicalEvent({ ...base, type: 'user_updated', log_type: 'sapi', data: { user: { user_id, email: `u${s.email}@example.com` } } });
    case 'block':
      return canonicalEvent({ ...base, type: 'user_blocked' });
    case 'unblock':
      return canonicalEvent({ ...base, type: 'user_unblocked' });
    case 'password':
      return canonicalEvent({ ...base, type: 'password_changed', log_type: 'scp' });
  }
};

let run = 0;
test('the same events in time order and shuffled with duplicates end in the same item', async () => {
  const steps = fc.uniqueArray(
    fc.record({
      kind: fc.constantFrom('register' as const, 'block' as const, 'unblock' as const, 'password' as const, 'email' as const),
      minute: fc.integer({ min: 0, max: 59 }),
      email: fc.integer({ min: 0, max: 3 }),
    }),
    { minLength: 1, maxLength: 8, selector: (s) => s.minute },
  );
  await fc.assert(
    fc.asyncProperty(steps, fc.array(fc.nat(), { minLength: 0, maxLength: 4 }), fc.func(fc.integer()), async (list, dupes, order) => {
      run++;
      const [inOrder, shuffled] = [`auth0|ordered-${run}`, `auth0|shuffled-${run}`];
      const ids = list.map((_, i) => `9002024060100000000000000000000000${String(run).padStart(4, '0')}${String(i).padStart(2, '0')}`);
      const sorted = list.map((s, i) => ({ s, id: ids[i] })).sort((a, b) => a.s.minute - b.s.minute);
      for (const { s, id } of sorted) await w.handle(sqsEvent(eventOf(s, inOrder, id)));
      const mixed = [...list.map((s, i) => ({ s, id: ids[i] })), ...dupes.map((d) => ({ s: list[d % list.length], id: ids[d % list.length] }))].sort(
        (a, b) => order(a.id + a.s.minute) - order(b.id + b.s.minute),
      );
      for (const { s, id } of mixed) await w.handle(sqsEvent(eventOf(s, shuffled, id)));
      const [a, b] = [await getUser(inOrder), await getUser(shuffled)];
      expect({ ...b, user_id: inOrder }).toEqual(a);
    }),
    { numRuns: 30 },
  );
}, 120_000);

test('no two groups of one event touch the same attribute (else the one write is refused as overlapping paths, every time: a poison message)', () => {
  // DynamoDB refuses an UpdateExpression where two paths overlap (a ValidationException, not a failed
  // condition, so no fallback): the groups must stay disjoint as fields are added. `updated_event` and
  // `updated_at` are the handler's own group, written with them.
  const events: [string, CanonicalEvent][] = [
    ['ss registration', canonicalEvent({ type: 'user_registered', source: 'action', log_type: 'ss', user_id: 'auth0|p', data: { user_name: 'p@acme.test' } })],
    ['user.created', fromStream(userCreated({ domain: 'acme.auth0.com', userId: 'auth0|p' }))],
    ['user.updated blocked', fromStream(userUpdated({ domain: 'acme.auth0.com', userId: 'auth0|p', blocked: true }))],
    ['user.updated not blocked', fromStream(userUpdated({ domain: 'acme.auth0.com', userId: 'auth0|p', blocked: false }))],
    ['user.deleted', fromStream(userDeleted({ domain: 'acme.auth0.com', userId: 'auth0|p' }))],
    ['block', canonicalEvent({ type: 'user_blocked', user_id: 'auth0|p' })],
    ['unblock', canonicalEvent({ type: 'user_unblocked', user_id: 'auth0|p' })],
    ['deletion', canonicalEvent({ type: 'user_deleted', user_id: 'auth0|p' })],
    ['password', canonicalEvent({ type: 'password_changed', user_id: 'auth0|p' })],
  ];
  for (const [name, event] of events) {
    const paths = [...groupUpdates(event).flatMap((g) => [g.marker, ...Object.keys(g.set), ...(g.remove ?? [])]), 'updated_event', 'updated_at'];
    const repeated = paths.filter((p, i) => paths.indexOf(p) !== i);
    expect({ name, repeated }).toEqual({ name, repeated: [] });
    expect(groupUpdates(event).length).toBeGreaterThan(0);
  }
});
