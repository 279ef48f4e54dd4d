/**
 * The closer: consumes the close-check queue (an SQS queue whose messages are delayed).
 *   - `authenticate` checks (sent on $connect, delayed 30 s): a connection still `pending` is sent
 *     {"type":"closing","reason":"not_authenticated","message"} and closed.
 *   - `expiry` checks (sent on authenticate, delayed until the token's exp, in steps of at most
 *     15 minutes, SQS's longest delay): a connection whose token has expired is sent
 *     {"type":"closing","reason":"token_expired","message"} and closed; a check that is early is
 *     sent again with the remaining delay; a check superseded by a newer authenticate is dropped.
 *   - `disconnected` checks (sent by a $disconnect whose removal failed, lambda/socket/connect.ts): the
 *     connection is gone; its item is removed and counted out of the listener limits (a failure is
 *     retried by SQS, then lands in the queue's DLQ).
 *   - a malformed check (not JSON, no connection_id) is a batch item failure too: it ends in the DLQ.
 * Closing = DeleteConnection (API Gateway then runs $disconnect) and deleting the item (counted out of
 * the listener limits once, whichever of the closer and $disconnect deletes it: listener-limits.ts). Meanwhile
 * the push Lambda already skips a connection whose token has expired, so lateness never leaks events.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { AUTHENTICATE_WITHIN_SECONDS, CONNECTIONS_TABLE, type CloseCheck, type ConnectionItem } from '../shared/connections';
import { removeConnection } from '../shared/listener-limits';
import { createLogger } from '../shared/logger';
import { closeConnection, managementClient, postJson } from '../shared/management';
import { closeCheckScheduler, MAX_DELAY_SECONDS, type ScheduleCheck } from '../shared/close-checks';
import { lazy } from '../shared/lazy';
import { documentClient, reuseSigner } from '../shared/sdk';

const logger = createLogger('auth0-events-closer');

export interface CloserDeps {
  ddb: DynamoDBDocumentClient;
  mgmt: ApiGatewayManagementApiClient;
  connectionsTable: string;
  scheduleCheck: ScheduleCheck;
  now: () => Date;
}

export type CheckOutcome = 'closed' | 'kept' | 'rescheduled' | 'absent' | 'superseded' | 'removed';

export async function runCheck(check: CloseCheck, deps: CloserDeps): Promise<CheckOutcome> {
  const { Item } = await deps.ddb.send(
    new GetCommand({ TableName: deps.connectionsTable, Key: { [CONNECTIONS_TABLE.partitionKey]: check.connection_id }, ConsistentRead: true }),
  );
  const conn = Item as ConnectionItem | undefined;
  if (!conn) return 'absent';
  if (check.check === 'disconnected') {
    const removed = await removeConnection(deps.ddb, deps.connectionsTable, conn.connection_id);
    logger.info('disconnected connection removed', { connectionId: conn.connection_id, tenant: conn.tenant });
    return removed ? 'removed' : 'absent';
  }
  const now = deps.now().getTime();
  let reason: 'not_authenticated' | 'token_expired';
  let message: string;
  if (check.check === 'authenticate') {
    if (conn.state === 'authenticated') return 'kept';
    const due = Date.parse(conn.connected_at) + AUTHENTICATE_WITHIN_SECONDS * 1000;
    if (now < due) {
      await deps.scheduleCheck(check, (due - now) / 1000);
      return 'rescheduled';
    }
    reason = 'not_authenticated';
    message = `Not authenticated within ${AUTHENTICATE_WITHIN_SECONDS} s of connecting: send {"type":"authenticate","access_token":"..."} right after connecting.`;
  } else {
    if (!conn.token_expires_at || conn.token_expires_at !== check.expires_at) return 'superseded';
    const due = Date.parse(conn.token_expires_at);
    if (now < due) {
      await deps.scheduleCheck(check, Math.min(MAX_DELAY_SECONDS, (due - now) / 1000));
      return 'rescheduled';
    }
    reason = 'token_expired';
    message = `The access token expired at ${conn.token_expires_at}: reconnect and authenticate with a new token (send "since" to resume).`;
  }
  if ((await postJson(deps.mgmt, conn.connection_id, { type: 'closing', reason, message })) === 'sent') await closeConnection(deps.mgmt, conn.connection_id);
  await removeConnection(deps.ddb, deps.connectionsTable, conn.connection_id);
  logger.info('connection closed', { connectionId: conn.connection_id, tenant: conn.tenant, reason });
  return 'closed';
}

export async function handleChecks(event: SQSEvent, deps: CloserDeps): Promise<SQSBatchResponse> {
  const failures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    let check: CloseCheck;
    try {
      check = JSON.parse(record.body) as CloseCheck;
      if (typeof check.connection_id !== 'string') throw new Error('no connection_id');
    } catch {
      // Only a defect writes one: kept (retried, then the queue's DLQ) for someone to look at, never deleted unseen.
      logger.error('malformed close check: left to the DLQ', { messageId: record.messageId });
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      await runCheck(check, deps);
    } catch (e) {
      logger.error('close check failed', { connectionId: check.connection_id, error: (e as Error).name, detail: (e as Error).message });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

function depsFromEnv(): CloserDeps {
  const queueUrl = process.env.CLOSE_QUEUE_URL;
  const endpoint = process.env.WS_ENDPOINT;
  const table = process.env.CONNECTIONS_TABLE;
  if (!queueUrl || !endpoint || !table) throw new Error('CLOSE_QUEUE_URL, WS_ENDPOINT and CONNECTIONS_TABLE must be set');
  return {
    ddb: documentClient(),
    mgmt: managementClient(endpoint),
    connectionsTable: table,
    scheduleCheck: closeCheckScheduler(reuseSigner(new SQSClient({})), queueUrl),
    now: () => new Date(),
  };
}
const defaultDeps = lazy(depsFromEnv);

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => handleChecks(event, defaultDeps());
