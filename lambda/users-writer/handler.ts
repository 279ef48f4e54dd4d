/**
 * Built-in subscriber `users`: keeps one item per tenant and user in the users table (USERS_TABLE),
 * key (tenant, user_id).
 *
 * Idempotent and order-safe. Each group of attributes (groups.ts) remembers the event that last wrote
 * it as a marker `<ordering date ISO 8601>#<event id>` (dates normalised, so markers sort by time, then
 * id). A conditional UpdateItem writes a group only when the event's marker is newer than the group's
 * (for created_at: older, the earliest registration wins), so a registration newer than a deletion
 * brings the user back (a social user_id reused after the user was deleted), and an older one never
 * undoes a newer block or deletion.
 * The ordering date is the event's date, or for an Event Streams user event the user's own
 * `updated_at` (Auth0: "check the timestamp of the incoming webhook data against the timestamp of the
 * data in your system", https://auth0.com/docs/deploy-monitor/events/events-best-practices), but never
 * more than MAX_CLOCK_SKEW_MS after the time ingest received it: a forged or skewed far-future date
 * cannot freeze a user's state, and is not stored either (the capped date is). One rule for every
 * front door, so a Log Stream block and an Event Streams update order by time whichever arrives first.
 * `updated_at` moves forward only, on its own marker (updated_event). A duplicate has the same marker
 * (no change); an older event has a smaller one (no rollback). A failed condition is success; any
 * other error fails only that record (retried, then the DLQ).
 * Requests: an event newer than all it touches (the usual case) is one UpdateItem for every group and
 * updated_at, on all their conditions; when that is refused, nothing was written and each group is
 * written on its own condition (see applyUserEvent).
 */
import { isConditionFailed } from '../shared/dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CanonicalEvent } from '../shared/event';
import { createLogger } from '../shared/logger';
import { sqsEventHandler, type RecordContext } from '../shared/sqs-events';
import { USERS_TABLE } from '../shared/stores';
import { groupUpdates, LAST_DELETION_MARKER, markerOf, orderingDate, userChangedAt, type GroupUpdate } from './groups';
import { lazy } from '../shared/lazy';
import { documentClient } from '../shared/sdk';

export { PROFILE_FIELDS, profileOf, registrationFields } from './profile';
export { MAX_CLOCK_SKEW_MS, groupUpdates, markerOf, orderingDate, userChangedAt, type GroupUpdate } from './groups';

export interface UsersWriterDeps {
  db: DynamoDBDocumentClient;
  table: string;
}

const logger = createLogger('auth0-events-users');

/** One group's part of an UpdateItem: its SET and REMOVE clauses and its condition, with placeholders prefixed `p`. */
interface GroupExpression {
  names: Record<string, string>;
  values: Record<string, unknown>;
  assignments: string[];
  removals: string[];
  condition: string;
}

/** The UpdateItem parts of one group: SET (and REMOVE) its attributes and marker if the marker is absent or older (`earliest`: see below). */
function groupExpression(event: CanonicalEvent, { marker: markerAttr, set, remove = [], at, earliest }: GroupUpdate, p: string): GroupExpression {
  const m = `#${p}m`;
  const names: Record<string, string> = { [m]: markerAttr };
  const values: Record<string, unknown> = { [`:${p}m`]: markerOf(event, at) };
  const assignments = [`${m} = :${p}m`];
  Object.entries(set).forEach(([k, v], i) => {
    names[`#${p}a${i}`] = k;
    values[`:${p}a${i}`] = v;
    assignments.push(`#${p}a${i} = :${p}a${i}`);
  });
  const removals = remove.map((k, i) => {
    names[`#${p}r${i}`] = k;
    return `#${p}r${i}`;
  });
  if (!earliest) return { names, values, assignments, removals, condition: `attribute_not_exists(${m}) OR ${m} < :${p}m` };
  // created_at: the earliest registration of the user's current life. A registration newer than the last deletion
  // replaces one older than it (a new life); within a life the earlier wins; one older than the last deletion never
  // replaces one newer than it (a redelivered first registration never rolls created_at back, issue 18 item 4b).
  // Items whose deletion was written before last_deletion_event existed: `deleted` and `deleted_event` tell it.
  Object.assign(names, { '#deleted': 'deleted', '#deletedEvent': 'deleted_event', '#lastDeletion': LAST_DELETION_MARKER });
  values[':true'] = true;
  const v = `:${p}m`;
  return {
    names,
    values,
    assignments,
    removals,
    condition:
      `attribute_not_exists(${m}) OR (${m} < #lastDeletion AND ${v} > #lastDeletion) OR (${m} > ${v} AND NOT (${v} < #lastDeletion AND ${m} > #lastDeletion))` +
      ` OR (attribute_not_exists(#lastDeletion) AND #deleted = :true AND #deletedEvent < ${v})`,
  };
}

/**
 * One conditional UpdateItem of the groups: every group's SET and REMOVE, on the condition that each
 * group's own condition holds. Returns false when the condition failed (then nothing was written).
 * The largest (a whole profile's registration, 6 groups and updated_at) is under 1 KB of expressions; AWS allows 4 KB.
 */
async function conditionalSet(deps: UsersWriterDeps, event: CanonicalEvent, groups: GroupUpdate[]): Promise<boolean> {
  const parts = groups.map((g, i) => groupExpression(event, g, `g${i}`));
  const assignments = parts.flatMap((x) => x.assignments);
  const removals = parts.flatMap((x) => x.removals);
  const update = `SET ${assignments.join(', ')}${removals.length ? ` REMOVE ${removals.join(', ')}` : ''}`;
  const condition = parts.length === 1 ? parts[0].condition : parts.map((x) => `(${x.condition})`).join(' AND ');
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: { [USERS_TABLE.partitionKey]: event.tenant, [USERS_TABLE.sortKey]: event.user_id },
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: Object.assign({}, ...parts.map((x) => x.names)),
        ExpressionAttributeValues: Object.assign({}, ...parts.map((x) => x.values)),
      }),
    );
    return true;
  } catch (e) {
    if (isConditionFailed(e)) return false;
    throw e;
  }
}

/** Applies one event to the users table (see the file comment). */
export async function applyUserEvent(
  event: CanonicalEvent,
  deps: UsersWriterDeps,
  log: RecordContext['logger'] = logger,
): Promise<'written' | 'unchanged' | 'skipped'> {
  const updates = groupUpdates(event);
  if (updates.length === 0) {
    log.warn('event type is not a user event: acknowledged without a write (check the subscriber filter)');
    return 'skipped';
  }
  if (!event.user_id) {
    log.warn('user event without user_id: acknowledged without a write');
    return 'skipped';
  }
  const changedAt = orderingDate(event, userChangedAt(event));
  const updated: GroupUpdate = { marker: 'updated_event', set: { updated_at: changedAt }, at: changedAt };
  // The usual case, an event newer than everything stored: one UpdateItem writes every group and updated_at.
  // Equivalent to the writes one by one below: the groups' attributes and markers are disjoint, and no
  // group's condition reads what a group before it writes (created_at's condition reads `deleted`,
  // deleted_event and last_deletion_event: a registration writes the first two only after it, in `alive`),
  // so each condition sees the same values as it would one by one. If any fails, nothing is written and
  // the groups are written one by one.
  if (await conditionalSet(deps, event, [...updates, updated])) {
    log.info('user updated');
    return 'written';
  }
  // A duplicate, an older event or a partly newer one: each group on its own condition.
  let written = false;
  for (const update of updates) if (await conditionalSet(deps, event, [update])) written = true;
  // Always attempted, also after a failed condition: a retry after a crash half-way completes it.
  await conditionalSet(deps, event, [updated]);
  log.info(written ? 'user updated' : 'user unchanged: duplicate or older than the stored state');
  return written ? 'written' : 'unchanged';
}

function depsFromEnv(): UsersWriterDeps {
  const table = process.env.USERS_TABLE;
  if (!table) throw new Error('USERS_TABLE is not set');
  return { db: documentClient(), table };
}
const defaultDeps = lazy(depsFromEnv);

/** The handler with explicit dependencies (tests, local runtime). */
export const createHandler = (deps?: UsersWriterDeps) =>
  sqsEventHandler(
    async (event, { logger: log }) => {
      await applyUserEvent(event, deps ?? defaultDeps(), log);
    },
    { logger },
  );

export const handler = createHandler();
