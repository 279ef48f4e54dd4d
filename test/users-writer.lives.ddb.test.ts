/**
 * Issue 18, item 4b: a user_id can have several lives (a social user_id reused after a deletion). An
 * event of an older life, dated before the last deletion, never changes the item, in whatever order it
 * is redelivered. Against DynamoDB Local; expected items written by hand.
 */
import './support/quiet-logs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { createHandler } from '../lambda/users-writer/handler';
import { usersWriterOnDynamoDb } from './support/dynamodb';
import { canonicalEvent, sqsEvent } from './support/events';

const w = usersWriterOnDynamoDb('users-lives');
const handle: ReturnType<typeof createHandler> = (...args) => w.handle(...args);
const getUser = async (userId: string) =>
  (await w.clients.doc.send(new GetCommand({ TableName: w.table, Key: { tenant: 'acme', user_id: userId }, ConsistentRead: true }))).Item;
const at = (hour: number) => `2025-03-01T${String(hour).padStart(2, '0')}:00:00.000Z`;
const registration = (user_id: string, hour: number, email: string, id?: string) =>
  canonicalEvent({ ...(id ? { id } : {}), type: 'user_registered', log_type: 'ss', user_id, date: at(hour), data: { user_name: email } });

test('register (T0), delete (T1), register (T2), then the T0 registration redelivered: created_at stays T2', async () => {
  const user = 'google-oauth2|two-lives';
  const t0 = registration(user, 0, 'first@example.com', 'ev-reg-t0');
  await handle(sqsEvent(t0));
  await handle(sqsEvent(canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: user, date: at(1) })));
  await handle(sqsEvent(registration(user, 2, 'again@example.com')));
  const second = await getUser(user);
  expect(second).toMatchObject({ created_at: at(2), email: 'again@example.com', deleted: false, last_deleted_at: at(1) });
  await handle(sqsEvent(t0));
  expect(await getUser(user)).toEqual(second);
});

test('no registration, block or deletion of the older life changes the new one, and the last deletion is kept across lives', async () => {
  const user = 'google-oauth2|old-life-events';
  await handle(sqsEvent(registration(user, 0, 'first@example.com')));
  await handle(sqsEvent(canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: user, date: at(3) })));
  await handle(sqsEvent(registration(user, 4, 'again@example.com')));
  const alive = await getUser(user);
  expect(alive).toMatchObject({ created_at: at(4), deleted: false, blocked: false, last_deleted_at: at(3) });
  // Arriving late, all dated in the first life (before the 03:00 deletion). (A first-life password change
  // would still set last_password_change when none is newer: "the latest password change of this user_id".)
  await handle(sqsEvent(canonicalEvent({ type: 'user_blocked', user_id: user, date: at(1) }), registration(user, 1, 'old@example.com')));
  expect(await getUser(user)).toEqual(alive);
  // The second life ends too: the last deletion moves forward, and a third life starts after it.
  await handle(sqsEvent(canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: user, date: at(6) })));
  await handle(sqsEvent(registration(user, 8, 'third@example.com')));
  expect(await getUser(user)).toMatchObject({ created_at: at(8), email: 'third@example.com', deleted: false, last_deleted_at: at(6) });
  // The first deletion redelivered: older than the last, it changes nothing.
  const third = await getUser(user);
  await handle(sqsEvent(canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: user, date: at(3) })));
  expect(await getUser(user)).toEqual(third);
});

test('events of the new life still apply after a deletion (a block, a password change)', async () => {
  const user = 'google-oauth2|new-life';
  await handle(sqsEvent(registration(user, 0, 'first@example.com')));
  await handle(sqsEvent(canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: user, date: at(1) })));
  await handle(sqsEvent(registration(user, 2, 'again@example.com')));
  await handle(
    sqsEvent(
      canonicalEvent({ type: 'user_blocked', user_id: user, date: at(3) }),
      canonicalEvent({ type: 'password_changed', log_type: 'scp', user_id: user, date: at(4) }),
    ),
  );
  expect(await getUser(user)).toMatchObject({ created_at: at(2), blocked: true, blocked_at: at(3), last_password_change: at(4), deleted: false });
});

test('a deletion that arrives first: the registrations of the life it ended still give created_at (the earliest)', async () => {
  const user = 'auth0|deleted-first';
  await handle(sqsEvent(canonicalEvent({ type: 'user_deleted', log_type: 'sdu', user_id: user, date: at(5) })));
  await handle(sqsEvent(registration(user, 2, 'late@example.com')));
  await handle(sqsEvent(registration(user, 1, 'earlier@example.com')));
  expect(await getUser(user)).toMatchObject({ created_at: at(1), deleted: true, deleted_at: at(5), last_deleted_at: at(5) });
});
