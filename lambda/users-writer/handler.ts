/**
 * Built-in subscriber `users`: keeps one item per tenant and user in the users table (USERS_TABLE),
 * key (tenant, user_id).
 *
 * Idempotent and order-safe. Each group of attributes remembers the event that last wrote it as a
 * marker `<ordering date ISO 8601>#<event id>` (dates normalised, so markers sort by time, then id).
 * A conditional UpdateItem writes a group only when the event's marker is newer than the group's:
 *   user_registered           created_at                           (registered_event)
 *                             the profile (below)                  (profile_event)
 *                             blocked (false unless the profile says) (blocked_event)
 *                             deleted = false, no deleted_at       (deleted_event)
 *   user_updated              the profile (below)                  (profile_event)
 *                             blocked, when the profile has it     (blocked_event)
 *                             deleted = false, no deleted_at       (deleted_event)
 *   user_blocked/_unblocked   blocked, blocked_at                  (blocked_event)
 *   user_deleted              deleted, deleted_at                  (deleted_event)
 *   password_changed          last_password_change                 (password_event)
 * so a registration newer than a deletion brings the user back (a social user_id reused after the
 * user was deleted), and an older one never undoes a newer block or deletion.
 * The profile: from an Auth0 Event Streams user object (`data.data.object`, the whole profile: the
 * PROFILE_FIELDS it lacks are removed), or from an Action or `ss` log (email and username only, set).
 * The ordering date is the event's date, or for an Event Streams user event the user's own
 * `updated_at` (Auth0: "check the timestamp of the incoming webhook data against the timestamp of the
 * data in your system", https://auth0.com/docs/deploy-monitor/events/events-best-practices), but never
 * more than MAX_CLOCK_SKEW_MS after the time ingest received it: a forged or skewed far-future date
 * cannot freeze a user's state. One rule for every front door, so a Log Stream block and an Event
 * Streams update order by time whichever arrives first.
 * A second conditional UpdateItem moves `updated_at` forward only (updated_event). A duplicate has
 * the same marker (no change); an older event has a smaller one (no rollback). A failed condition is
 * success; any other error fails only that record (retried, then the DLQ).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionFailed } from '../shared/dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CanonicalEvent } from '../shared/event';
import { createLogger } from '../shared/logger';
import { sqsEventHandler, type RecordContext } from '../shared/sqs-events';
import { USERS_TABLE } from '../shared/stores';
import { PROFILE_FIELDS, profileOf, type Profile } from './profile';

export { PROFILE_FIELDS, profileOf, registrationFields } from './profile';

export interface UsersWriterDeps {
  db: DynamoDBDocumentClient;
  table: string;
}

const logger = createLogger('auth0-events-users');

/** How far an event's date may be ahead of its receive time and still count as is for ordering. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** The date that orders an event: its date (or `at`, a date the event carries), capped at received_at + MAX_CLOCK_SKEW_MS. */
export const orderingDate = (event: Pick<CanonicalEvent, 'date' | 'received_at'>, at = event.date): string =>
  new Date(Math.min(Date.parse(at), Date.parse(event.received_at) + MAX_CLOCK_SKEW_MS)).toISOString();

/** `<ordering date ISO>#<id>`: markers compare as strings in event time order. */
export const markerOf = (event: CanonicalEvent, at?: string): string => `${orderingDate(event, at)}#${event.id}`;

/** One attribute group's write; `at` is the date that orders it when not the event's date. */
interface GroupUpdate { marker: string; set: Record<string, unknown>; remove?: string[]; at?: string }

/** The profile group: a whole profile removes what it lacks, a partial one only sets. */
const profileGroup = (p: Profile, at: string | undefined): GroupUpdate => ({
  marker: 'profile_event', set: p.fields, ...(p.full ? { remove: Object.keys(PROFILE_FIELDS).filter((k) => !(k in p.fields)) } : {}), ...(at ? { at } : {}),
});

/** When the user changed: its own updated_at for an Event Streams user.created/updated, else the event's date (a deletion's `time`). */
export const userChangedAt = (event: CanonicalEvent): string =>
  ((event.type === 'user_registered' || event.type === 'user_updated') ? profileOf(event).updated_at : undefined) ?? new Date(event.date).toISOString();

/** The attribute groups an event writes (see the file comment); empty when the event is not about a user's state. */
export function groupUpdates(event: CanonicalEvent): GroupUpdate[] {
  const date = new Date(event.date).toISOString();
  switch (event.type) {
    case 'user_registered':
    case 'user_updated': {
      const p = profileOf(event);
      const at = p.updated_at;
      const profile = profileGroup(p, at);
      const alive: GroupUpdate = { marker: 'deleted_event', set: { deleted: false }, remove: ['deleted_at'], ...(at ? { at } : {}) };
      if (event.type === 'user_updated') return [profile, alive, ...(p.blocked !== undefined ? [{ marker: 'blocked_event', set: { blocked: p.blocked }, ...(at ? { at } : {}) }] : [])];
      // The profile first: a new user's item appears with its email (a reader polling for the item sees it whole sooner).
      return [
        profile,
        { marker: 'registered_event', set: { created_at: p.created_at ?? date } },
        alive,
        { marker: 'blocked_event', set: { blocked: p.blocked ?? false }, ...(at ? { at } : {}) },
      ];
    }
    case 'user_blocked':
    case 'user_unblocked':
      return [{ marker: 'blocked_event', set: { blocked: event.type === 'user_blocked', blocked_at: date } }];
    case 'user_deleted':
      return [{ marker: 'deleted_event', set: { deleted: true, deleted_at: date } }];
    case 'password_changed':
      return [{ marker: 'password_event', set: { last_password_change: date } }];
    default:
      return [];
  }
}

/** SET (and REMOVE) the attributes and the marker if the marker attribute is absent or older. Returns false when the condition failed. */
async function conditionalSet(deps: UsersWriterDeps, event: CanonicalEvent, { marker: markerAttr, set, remove = [], at }: GroupUpdate): Promise<boolean> {
  const names: Record<string, string> = { '#m': markerAttr };
  const values: Record<string, unknown> = { ':m': markerOf(event, at) };
  const assignments = ['#m = :m'];
  Object.entries(set).forEach(([k, v], i) => {
    names[`#a${i}`] = k;
    values[`:a${i}`] = v;
    assignments.push(`#a${i} = :a${i}`);
  });
  remove.forEach((k, i) => { names[`#r${i}`] = k; });
  try {
    await deps.db.send(new UpdateCommand({
      TableName: deps.table,
      Key: { [USERS_TABLE.partitionKey]: event.tenant, [USERS_TABLE.sortKey]: event.user_id },
      UpdateExpression: `SET ${assignments.join(', ')}${remove.length ? ` REMOVE ${remove.map((_, i) => `#r${i}`).join(', ')}` : ''}`,
      ConditionExpression: 'attribute_not_exists(#m) OR #m < :m',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }));
    return true;
  } catch (e) {
    if (isConditionFailed(e)) return false;
    throw e;
  }
}

/** Applies one event to the users table (see the file comment). */
export async function applyUserEvent(event: CanonicalEvent, deps: UsersWriterDeps, log: RecordContext['logger'] = logger): Promise<'written' | 'unchanged' | 'skipped'> {
  const updates = groupUpdates(event);
  if (updates.length === 0) {
    log.warn('event type is not a user event: acknowledged without a write (check the subscriber filter)');
    return 'skipped';
  }
  if (!event.user_id) {
    log.warn('user event without user_id: acknowledged without a write');
    return 'skipped';
  }
  let written = false;
  for (const update of updates) if (await conditionalSet(deps, event, update)) written = true;
  // Always attempted, also after a failed condition: a retry after a crash between the two writes completes it.
  const changedAt = userChangedAt(event);
  await conditionalSet(deps, event, { marker: 'updated_event', set: { updated_at: changedAt }, at: changedAt });
  log.info(written ? 'user updated' : 'user unchanged: duplicate or older than the stored state');
  return written ? 'written' : 'unchanged';
}

let defaultDeps: UsersWriterDeps | undefined;
function depsFromEnv(): UsersWriterDeps {
  if (!defaultDeps) {
    const table = process.env.USERS_TABLE;
    if (!table) throw new Error('USERS_TABLE is not set');
    defaultDeps = { db: DynamoDBDocumentClient.from(new DynamoDBClient({})), table };
  }
  return defaultDeps;
}

/** The handler with explicit dependencies (tests, local runtime). */
export const createHandler = (deps?: UsersWriterDeps) =>
  sqsEventHandler(async (event, { logger: log }) => {
    await applyUserEvent(event, deps ?? depsFromEnv(), log);
  }, { logger });

export const handler = createHandler();
