/**
 * Built-in subscriber `session-events`: stores each session event once in the events table
 * (EVENTS_TABLE), in the shape of `toStoredEvent` (lambda/shared/stores.ts): PK `${tenant}#${id}`, GSIs by-tenant and
 * by-user on `cursor`, TTL `expires_at` 30 days. The table's stream (NEW_IMAGE) drives the WebSocket push.
 *
 * PutItem with attribute_not_exists(pk): a duplicate (same tenant and id, e.g. an Auth0 retry or an SQS
 * redelivery) fails the condition; another tenant's event with the same id is a different item, which is a success: nothing is written twice, so nothing is pushed twice.
 *
 * One deletion, one push: a `user_deleted` is stored only if no other deletion of the same tenant and user
 * close to it in time was (two marker items claimed in one transaction before the PutItem; lambda/shared/stores.ts
 * gives the window's guarantees, the markers and why only deletions are folded).
 */
import { isConditionFailed } from '../shared/dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isSessionEventType, type CanonicalEvent } from '../shared/event';
import { createLogger } from '../shared/logger';
import { sqsEventHandler, type RecordContext } from '../shared/sqs-events';
import {
  cursorOf,
  EVENTS_TABLE,
  eventKey,
  FOLDED_REVOCATION_TYPES,
  REVOCATION_WINDOW_MS,
  revocationMarkerKeys,
  toStoredEvent,
  WRITE_BUDGET_MS,
  type StoredEvent,
} from '../shared/stores';
import { lazy } from '../shared/lazy';
import { documentClient } from '../shared/sdk';

export interface SessionEventsWriterDeps {
  db: DynamoDBDocumentClient;
  table: string;
  now?: () => Date;
  /** Longest time from stored_at to PutItem's answer before the cursor is moved forward (ms). Default WRITE_BUDGET_MS. */
  writeBudgetMs?: number;
}

const logger = createLogger('auth0-events-session-events');

export async function storeSessionEvent(
  event: CanonicalEvent,
  deps: SessionEventsWriterDeps,
  log: RecordContext['logger'] = logger,
): Promise<'written' | 'duplicate' | 'folded' | 'skipped'> {
  if (!isSessionEventType(event.type)) {
    log.warn('not a session event type: acknowledged without a write (check the subscriber filter)');
    return 'skipped';
  }
  const now = deps.now ?? (() => new Date());
  const folded = await foldInto(event, deps, now);
  if (folded) {
    log.info('same revocation already stored (same tenant, user and type within the window): not stored or pushed again', { window_ms: REVOCATION_WINDOW_MS });
    return 'folded';
  }
  const item = toStoredEvent(event, now());
  try {
    await deps.db.send(
      new PutCommand({
        TableName: deps.table,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': EVENTS_TABLE.partitionKey },
      }),
    );
  } catch (e) {
    if (isConditionFailed(e)) {
      log.info('duplicate session event: already stored, not written again');
      return 'duplicate';
    }
    throw e;
  }
  const budget = deps.writeBudgetMs ?? WRITE_BUDGET_MS;
  if (now().getTime() - Date.parse(item.stored_at) > budget) await moveForward(item, deps, now, budget, log);
  else log.info('session event stored', { cursor: item.cursor });
  return 'written';
}

/**
 * For a folded type (user_deleted) with a user: claims this event's two window markers (revocationMarkerKeys)
 * in one transaction, each unless another event holds it: true when another does (this event is folded into
 * it: not stored). The same event may claim again (a retry after a crash between the claim and the PutItem
 * stores it then); two claims at once are one transaction each, so one wins.
 */
async function foldInto(event: CanonicalEvent, deps: SessionEventsWriterDeps, now: () => Date): Promise<boolean> {
  if (!FOLDED_REVOCATION_TYPES.includes(event.type) || !event.user_id) return false;
  const keys = revocationMarkerKeys(event.tenant, event.type, event.user_id, Date.parse(event.date));
  try {
    await deps.db.send(
      new TransactWriteCommand({
        TransactItems: keys.map((Key) => ({
          Update: {
            TableName: deps.table,
            Key,
            ConditionExpression: 'attribute_not_exists(#e) OR #e = :id',
            UpdateExpression: 'SET #e = :id, #d = :d, #x = :x',
            ExpressionAttributeNames: { '#e': 'event_id', '#d': 'date', '#x': EVENTS_TABLE.ttlAttribute },
            // Kept a day past the window (TTL deletes lazily; a marker's bucket is in its key, not in the TTL).
            ExpressionAttributeValues: {
              ':id': event.id,
              ':d': event.date,
              ':x': Math.floor(Math.max(now().getTime(), Date.parse(event.date)) / 1000) + 86_400,
            },
          },
        })),
      }),
    );
    return false;
  } catch (e) {
    const reasons = (e as { name?: string; CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    if ((e as Error).name === 'TransactionCanceledException' && reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return true;
    throw e;
  }
}

/** The PutItem answered late: the event takes a cursor of "now", ahead of every REST poller's horizon. */
async function moveForward(item: StoredEvent, deps: SessionEventsWriterDeps, now: () => Date, budget: number, log: RecordContext['logger']): Promise<void> {
  // Only the cursor (the indexes' order) moves: stored_at stays what the push saw in the INSERT
  // image and compares with a listener's live_from (the catch-up seam, lambda/socket/catch-up.ts).
  const cursor = cursorOf(now().toISOString(), item.id);
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: eventKey(item.tenant, item.id),
        ConditionExpression: '#c = :old',
        UpdateExpression: 'SET #c = :c',
        ExpressionAttributeNames: { '#c': EVENTS_TABLE.byTenantIndex.sortKey },
        ExpressionAttributeValues: { ':old': item.cursor, ':c': cursor },
      }),
    );
  } catch (e) {
    if (isConditionFailed(e)) return; // moved by a concurrent delivery of the same event
    throw e;
  }
  // If this move answered after 2 x budget, a poller may have been served the old cursor (see REST_SETTLE_MS).
  const late = now().getTime() - Date.parse(item.stored_at) > 2 * budget;
  log.warn('session event stored late: cursor moved forward', { cursor, moved_from: item.cursor, late_move: late });
}

function depsFromEnv(): SessionEventsWriterDeps {
  const table = process.env.EVENTS_TABLE;
  if (!table) throw new Error('EVENTS_TABLE is not set');
  return { db: documentClient(), table };
}
const defaultDeps = lazy(depsFromEnv);

export const createHandler = (deps?: SessionEventsWriterDeps) =>
  sqsEventHandler(
    async (event, { logger: log }) => {
      await storeSessionEvent(event, deps ?? defaultDeps(), log);
    },
    { logger },
  );

export const handler = createHandler();
