/**
 * $connect ?tenant=T: unknown or missing tenant -> 404/400 (the handshake is refused). Otherwise a
 * `pending` connection item and a close check in AUTHENTICATE_WITHIN_SECONDS (SQS delay queue).
 * $disconnect: deletes the connection item and counts it out of the listener limits (one transaction,
 * lambda/shared/listener-limits.ts). API Gateway does not retry $disconnect: when that fails (throttled
 * after the SDK's retries) the item stays, still counted, and a `disconnected` check on the close-check
 * queue makes the closer remove it DISCONNECT_RETRY_SECONDS later (retried there, then its DLQ).
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { AUTHENTICATE_WITHIN_SECONDS, MAX_CONNECTION_SECONDS, type ConnectionItem } from '../shared/connections';
import { removeConnection } from '../shared/listener-limits';
import { logger, reply, type SocketDeps, type SocketEvent, type SocketResult } from './deps';

/** How long after a failed $disconnect removal the closer tries it (s): past a short throttling. */
export const DISCONNECT_RETRY_SECONDS = 5;

export async function onConnect(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
  const connectionId = event.requestContext.connectionId;
  const name = event.queryStringParameters?.tenant;
  if (!name) return reply(400, 'missing_tenant', 'Connect with ?tenant=<tenant> (e.g. ?tenant=acme or ?tenant=acme@eu).');
  const tenant = deps.tenants().get(name);
  if (!tenant)
    return reply(
      404,
      'unknown_tenant',
      `Tenant ${JSON.stringify(name.slice(0, 100))} is not served by this deployment; check ?tenant= (e.g. acme or acme@eu).`,
    );
  const now = deps.now();
  const item: ConnectionItem = {
    connection_id: connectionId,
    tenant: tenant.name,
    state: 'pending',
    connected_at: now.toISOString(),
    expires_at: Math.floor(now.getTime() / 1000) + MAX_CONNECTION_SECONDS + 600,
  };
  await deps.ddb.send(new PutCommand({ TableName: deps.connectionsTable, Item: item }));
  // Without the check the connection could stay open unauthenticated: refuse it when it cannot be scheduled.
  await deps.scheduleCheck({ connection_id: connectionId, check: 'authenticate' }, AUTHENTICATE_WITHIN_SECONDS);
  logger.info('connected', { connectionId, tenant: tenant.name });
  return reply(200);
}

export async function onDisconnect(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
  const connectionId = event.requestContext.connectionId;
  try {
    await removeConnection(deps.ddb, deps.connectionsTable, connectionId);
  } catch (e) {
    logger.warn('disconnect: the item could not be removed, the closer will', { connectionId, error: (e as Error).name, detail: (e as Error).message });
    await deps.scheduleCheck({ connection_id: connectionId, check: 'disconnected' }, DISCONNECT_RETRY_SECONDS);
    return reply(200);
  }
  logger.info('disconnected', { connectionId });
  return reply(200);
}
