/**
 * The users writer with Auth0 Event Streams user events, against a real DynamoDB Local: the profile
 * (email, name, email_verified, ...) is ordered by the user's own `updated_at`, so Auth0's documented
 * out-of-order delivery (user.updated before user.created) ends with the newer profile, and an older
 * event never overwrites a newer one whichever front door (Log Stream, Action, Event Streams) it came by.
 * Expected items are written by hand.
 */
import './support/quiet-logs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { classifyCloudEvent, parseCloudEvent } from '../lambda/ingest/cloud-event';
import type { createHandler } from '../lambda/users-writer/handler';
import { usersWriterOnDynamoDb } from './support/dynamodb';
import { canonicalEvent, sqsEvent } from './support/events';
import { userCreated, userDeleted, userUpdated } from './support/auth0-event-streams';

const w = usersWriterOnDynamoDb('users-es-test');
const handle: ReturnType<typeof createHandler> = (...args) => w.handle(...args);

const getUser = async (userId: string) =>
  (await w.clients.doc.send(new GetCommand({ TableName: w.table, Key: { tenant: 'acme', user_id: userId }, ConsistentRead: true }))).Item;
/** The canonical event of a CloudEvent, received `lagSeconds` after its time. */
const fromStream = (ce: { time: string }, lagSeconds = 30) =>
  classifyCloudEvent(parseCloudEvent(ce), 'acme', new Date(Date.parse(ce.time) + lagSeconds * 1000).toISOString());
const D = 'acme.auth0.com';
/** What Auth0 documents the created user to be (test/support/auth0-event-streams.ts), and the update. */
const CREATED_PROFILE = {
  email: 'john.doe@gmail.com',
  email_verified: false,
  name: 'John Doe',
  given_name: 'John',
  family_name: 'Doe',
  nickname: 'john.doe',
  phone_number: '+14155552671',
  phone_verified: false,
  picture: 'https://s.gravatar.com/avatar/jd.png',
};
const UPDATED_PROFILE = { ...CREATED_PROFILE, email: 'john.doe@example.com', email_verified: true, name: 'Johnny Doe' };

test('user.updated delivered before user.created ends with the newer profile, the same item as in order', async () => {
  const inOrder = 'auth0|in-order';
  const reversed = 'auth0|reversed';
  await handle(sqsEvent(fromStream(userCreated({ domain: D, userId: inOrder }))));
  await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: inOrder }))));
  await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: reversed }))));
  await handle(sqsEvent(fromStream(userCreated({ domain: D, userId: reversed }))));
  for (const user of [inOrder, reversed]) {
    const item = await getUser(user);
    expect(item).toMatchObject({
      ...UPDATED_PROFILE,
      created_at: '2025-02-01T12:34:56.000Z',
      updated_at: '2025-02-01T13:00:00.000Z',
      blocked: false,
      deleted: false,
      profile_event: '2025-02-01T13:00:00.000Z#ce_evt_abcdef1234567890',
    });
    expect(item?.username).toBeUndefined();
  }
});

test('a profile is whole: a field the newer user object lacks is removed; a duplicate changes nothing', async () => {
  const user = 'auth0|whole';
  await handle(sqsEvent(fromStream(userCreated({ domain: D, userId: user }))));
  const update = userUpdated({ domain: D, userId: user });
  delete (update.data.object as Record<string, unknown>).nickname;
  await handle(sqsEvent(fromStream(update)));
  const item = await getUser(user);
  expect(item?.nickname).toBeUndefined();
  expect(item?.name).toBe('Johnny Doe');
  await handle(sqsEvent(fromStream(update), fromStream(update)));
  expect(await getUser(user)).toEqual(item);
});

test("ordered by the user's updated_at: an update whose time is earlier but whose updated_at is later wins", async () => {
  const user = 'auth0|updated-at';
  const later = userUpdated({ domain: D, userId: user, id: 'evt_later', time: '2025-02-01T13:00:00Z', updatedAt: '2025-02-01T13:10:00Z', name: 'Later' });
  const earlier = userUpdated({ domain: D, userId: user, id: 'evt_earlier', time: '2025-02-01T13:01:00Z', updatedAt: '2025-02-01T13:05:00Z', name: 'Earlier' });
  await handle(sqsEvent(fromStream(later, 900)));
  await handle(sqsEvent(fromStream(earlier, 900)));
  expect(await getUser(user)).toMatchObject({ name: 'Later', updated_at: '2025-02-01T13:10:00.000Z' });
});

describe('across front doors', () => {
  test('a Log Stream block newer than a user.updated stays; a newer user.updated that lifts the admin flag (previous_object blocked) unblocks', async () => {
    const user = 'auth0|cross-block';
    const block = canonicalEvent({ type: 'user_blocked', user_id: user, date: '2025-02-01T14:00:00.000Z' });
    await handle(sqsEvent(block));
    await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: user, blocked: false }))));
    expect(await getUser(user)).toMatchObject({
      blocked: true,
      blocked_at: '2025-02-01T14:00:00.000Z',
      email: 'john.doe@example.com',
      updated_at: '2025-02-01T14:00:00.000Z',
    });
    const unblock = userUpdated({ domain: D, userId: user, id: 'evt_unblock', time: '2025-02-01T15:00:00Z', blocked: false });
    // An administrator's unblock: Auth0's user.updated carries the object before the change (data.previous_object).
    Object.assign(unblock.data, { previous_object: { ...unblock.data.object, blocked: true, updated_at: '2025-02-01T14:00:00Z' } });
    await handle(sqsEvent(fromStream(unblock)));
    expect(await getUser(user)).toMatchObject({ blocked: false, updated_at: '2025-02-01T15:00:00.000Z' });
  });

  test('an older Action registration arriving after a user.updated fills created_at but never overwrites the newer email', async () => {
    const user = 'auth0|cross-action';
    await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: user }))));
    const action = canonicalEvent({
      type: 'user_registered',
      source: 'action',
      log_type: 'ss',
      user_id: user,
      date: '2025-02-01T12:00:00.000Z',
      data: { user: { user_id: user, email: 'old@example.com', username: 'olduser' } },
    });
    await handle(sqsEvent(action));
    const item = await getUser(user);
    expect(item).toMatchObject({
      email: 'john.doe@example.com',
      name: 'Johnny Doe',
      created_at: '2025-02-01T12:00:00.000Z',
      updated_at: '2025-02-01T13:00:00.000Z',
    });
    expect(item?.username).toBeUndefined();
  });

  test('a newer Action registration (a reused social id) after a user.updated sets its email, keeping the other profile fields', async () => {
    const user = 'google-oauth2|cross-new';
    await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: user }))));
    await handle(
      sqsEvent(
        canonicalEvent({
          type: 'user_registered',
          source: 'action',
          log_type: 'ss',
          user_id: user,
          date: '2025-02-03T08:00:00.000Z',
          data: { user: { user_id: user, email: 'new@example.com' } },
        }),
      ),
    );
    expect(await getUser(user)).toMatchObject({ email: 'new@example.com', name: 'Johnny Doe', created_at: '2025-02-03T08:00:00.000Z' });
  });
});

describe('what a hostile or broken sender does', () => {
  test('a forged far-future updated_at counts as receive time + 5 minutes: a real later update still applies', async () => {
    const user = 'auth0|forged';
    await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: user, id: 'evt_forged', updatedAt: '2999-01-01T00:00:00Z', name: 'Forged' }))));
    expect((await getUser(user))?.name).toBe('Forged');
    await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: user, id: 'evt_real', time: '2025-02-01T14:00:00Z', name: 'Real' }))));
    expect((await getUser(user))?.name).toBe('Real');
  });

  test('a user.updated older than the user.deleted does not bring the user back', async () => {
    const user = 'auth0|deleted';
    await handle(sqsEvent(fromStream(userDeleted({ domain: D, userId: user }))));
    await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: user }))));
    // updated_at is the deletion's time, not the deleted user object's older updated_at.
    expect(await getUser(user)).toMatchObject({ deleted: true, deleted_at: '2025-02-02T09:00:00.000Z', updated_at: '2025-02-02T09:00:00.000Z' });
  });

  test("an event whose user object was trimmed away (over SNS's limit) removes nothing of the profile", async () => {
    const user = 'auth0|trimmed';
    await handle(sqsEvent(fromStream(userCreated({ domain: D, userId: user }))));
    const trimmed = { ...fromStream(userUpdated({ domain: D, userId: user })), truncated: true as const };
    trimmed.data = { ...trimmed.data, data: { truncated_fields: ['object'], truncated_fields_count: 1 } };
    await handle(sqsEvent(trimmed));
    expect(await getUser(user)).toMatchObject(CREATED_PROFILE);
  });
});

describe('a user.updated without previous_object (optional in Auth0\'s schema, "when applicable")', () => {
  test("blocked true applies the administrator's block", async () => {
    const user = 'auth0|admin-block-no-previous';
    await handle(sqsEvent(fromStream(userCreated({ domain: D, userId: user }))));
    await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: user, blocked: true }))));
    expect(await getUser(user)).toMatchObject({ blocked: true });
  });

  test('blocked false does not lift a Log Stream block (unknown whether the flag changed)', async () => {
    const user = 'auth0|bruteforce-no-previous';
    await handle(sqsEvent(canonicalEvent({ type: 'user_blocked', log_type: 'sapi', user_id: user, date: '2025-02-01T12:00:00.000Z' })));
    await handle(sqsEvent(fromStream(userUpdated({ domain: D, userId: user, blocked: false }))));
    expect(await getUser(user)).toMatchObject({ blocked: true });
  });
});
