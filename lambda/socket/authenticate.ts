/**
 * authenticate: {"type":"authenticate","access_token":"...","since":"<event id>"?,"seen":[...]?}
 * Bad token or message -> {"type":"authentication_failed","message"} and the connection is closed.
 * Valid -> the item becomes `authenticated` (sub, filter, token expiry, listen_key, live_from),
 * {"type":"authenticated","sub","filter","expires_at"}, an expiry close check, and with `since` the
 * catch-up (catch-up.ts).
 */
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTIONS_TABLE, listenKeyOf, type ConnectionItem } from '../shared/connections';
import { isConditionFailed } from '../shared/dynamodb';
import { closeConnection, postJson } from '../shared/management';
import { TokenError, type VerifiedListener } from '../shared/tokens';
import { catchUp } from './catch-up';
import { logger, reply, type SocketDeps, type SocketEvent, type SocketResult } from './deps';

/** Most ids a client may list in `seen`. */
export const MAX_SEEN = 1000;

export function parseBody(event: SocketEvent): Record<string, unknown> | undefined {
  try {
    const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : event.body ?? '';
    const v = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

async function refuse(connectionId: string, message: string, deps: SocketDeps): Promise<SocketResult> {
  await postJson(deps.mgmt, connectionId, { type: 'authentication_failed', message });
  await closeConnection(deps.mgmt, connectionId);
  await deps.ddb.send(new DeleteCommand({ TableName: deps.connectionsTable, Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId } }));
  return reply(200);
}

export async function onAuthenticate(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
  const connectionId = event.requestContext.connectionId;
  const body = parseBody(event);
  const { Item } = await deps.ddb.send(new GetCommand({ TableName: deps.connectionsTable, Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId }, ConsistentRead: true }));
  const conn = Item as ConnectionItem | undefined;
  const tenant = conn && deps.tenants().get(conn.tenant);
  if (!conn || !tenant) return refuse(connectionId, 'This connection is not known (it may have been closed): reconnect with ?tenant=<tenant>.', deps);
  if (!body) return refuse(connectionId, 'The message is not a JSON object: send {"type":"authenticate","access_token":"<Auth0 access token>","since":"<event id, optional>"}.', deps);
  const since = body.since;
  if (since !== undefined && since !== null && (typeof since !== 'string' || since.length === 0 || since.length > 512)) {
    return refuse(connectionId, '"since" must be the id of the last event you received (a non-empty string), or left out.', deps);
  }
  const seen = body.seen;
  if (seen !== undefined && (!Array.isArray(seen) || seen.length > MAX_SEEN || !seen.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 512))) {
    return refuse(connectionId, `"seen" must be a list of at most ${MAX_SEEN} event ids you received recently, or left out.`, deps);
  }
  let listener: VerifiedListener;
  try {
    listener = await deps.verify(body.access_token, tenant);
  } catch (e) {
    if (e instanceof TokenError) {
      logger.warn('authentication failed', { connectionId, tenant: tenant.name, error: e.code, reason: e.message });
      return refuse(connectionId, e.message, deps);
    }
    throw e;
  }
  const now = deps.now();
  const liveFrom = new Date(now.getTime() + (since ? deps.seamMs : 0)).toISOString();
  try {
    await deps.ddb.send(new UpdateCommand({
      TableName: deps.connectionsTable,
      Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId },
      ConditionExpression: 'attribute_exists(#id)',
      UpdateExpression: 'SET #state = :state, #sub = :sub, #filter = :filter, #exp = :exp, #lk = :lk, #lf = :lf, #at = :at',
      ExpressionAttributeNames: { '#id': CONNECTIONS_TABLE.partitionKey, '#state': 'state', '#sub': 'sub', '#filter': 'filter', '#exp': 'token_expires_at', '#lk': 'listen_key', '#lf': 'live_from', '#at': 'authenticated_at' },
      ExpressionAttributeValues: {
        ':state': 'authenticated', ':sub': listener.sub, ':filter': listener.filter, ':exp': listener.expiresAt.toISOString(),
        ':lk': listenKeyOf(tenant.name, listener.filter, listener.sub), ':lf': liveFrom, ':at': now.toISOString(),
      },
    }));
  } catch (e) {
    if (isConditionFailed(e)) return reply(200); // disconnected meanwhile
    throw e;
  }
  const expiresAt = listener.expiresAt.toISOString();
  if ((await postJson(deps.mgmt, connectionId, { type: 'authenticated', sub: listener.sub, filter: listener.filter, expires_at: expiresAt })) === 'gone') return reply(200);
  await deps.scheduleCheck({ connection_id: connectionId, check: 'expiry', expires_at: expiresAt }, (listener.expiresAt.getTime() - now.getTime()) / 1000);
  logger.info('authenticated', { connectionId, tenant: tenant.name, filter: listener.filter, since: since ?? undefined });
  if (since) await catchUp(connectionId, { tenant: tenant.name, sub: listener.sub, filter: listener.filter }, since, liveFrom, deps, seen as string[] | undefined);
  return reply(200);
}

