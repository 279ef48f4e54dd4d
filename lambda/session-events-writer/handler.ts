/**
 * Built-in subscriber `session-events`: stores each session event once in the events table
 * (EVENTS_TABLE), in the shape of `toStoredEvent` (lambda/shared/stores.ts): PK `${tenant}#${id}`, GSIs by-tenant and
 * by-user on `cursor`, TTL `expires_at` 30 days. The table's stream (NEW_IMAGE) drives the WebSocket push.
 *
 * PutItem with attribute_not_exists(pk): a duplicate (same tenant and id, e.g. an Auth0 retry or an SQS
 * redelivery) fails the condition; another tenant's event with the same id is a different item, which is a success: nothing is written twice, so nothing is pushed twice.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionFailed } from '../shared/dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isSessionEventType, type CanonicalEvent } from '../shared/event';
import { createLogger } from '../shared/logger';
import { sqsEventHandler, type RecordContext } from '../shared/sqs-events';
import { EVENTS_TABLE, toStoredEvent } from '../shared/stores';

export interface SessionEventsWriterDeps {
  db: DynamoDBDocumentClient;
  table: string;
  now?: () => Date;
}

const logger = createLogger('auth0-events-session-events');

export async function storeSessionEvent(event: CanonicalEvent, deps: SessionEventsWriterDeps, log: RecordContext['logger'] = logger): Promise<'written' | 'duplicate' | 'skipped'> {
  if (!isSessionEventType(event.type)) {
    log.warn('not a session event type: acknowledged without a write (check the subscriber filter)');
    return 'skipped';
  }
  const item = toStoredEvent(event, (deps.now ?? (() => new Date()))());
  try {
    await deps.db.send(new PutCommand({
      TableName: deps.table,
      Item: item,
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': EVENTS_TABLE.partitionKey },
    }));
  } catch (e) {
    if (isConditionFailed(e)) {
      log.info('duplicate session event: already stored, not written again');
      return 'duplicate';
    }
    throw e;
  }
  log.info('session event stored', { cursor: item.cursor });
  return 'written';
}

let defaultDeps: SessionEventsWriterDeps | undefined;
function depsFromEnv(): SessionEventsWriterDeps {
  if (!defaultDeps) {
    const table = process.env.EVENTS_TABLE;
    if (!table) throw new Error('EVENTS_TABLE is not set');
    defaultDeps = { db: DynamoDBDocumentClient.from(new DynamoDBClient({})), table };
  }
  return defaultDeps;
}

export const createHandler = (deps?: SessionEventsWriterDeps) =>
  sqsEventHandler(async (event, { logger: log }) => {
    await storeSessionEvent(event, deps ?? depsFromEnv(), log);
  }, { logger });

export const handler = createHandler();
