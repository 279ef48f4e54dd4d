/**
 * authenticate: {"type":"authenticate","access_token":"...","since":"<event id>"?,"seen":[...]?}
 * Bad token or message -> {"type":"authentication_failed","message"} and the connection is closed.
 * First valid one -> the item becomes `authenticated` (sub, filter, token expiry, listen_key,
 * live_from) and is counted in the listener limits, in one transaction that only a pending item
 * passes (lambda/shared/listener-limits.ts): over a limit -> authentication_failed naming it, and
 * closed. Then {"type":"authenticated","sub","filter","expires_at"}, an expiry close check, and with
 * `since` the catch-up (catch-up.ts): at most one replay per connection, also when two authenticates
 * race. A later one (or the loser of such a race) is a token refresh (refresh.ts): no replay.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTIONS_TABLE, listenKeyOf, type ConnectionItem } from '../shared/connections';
import { claimListener, DEFAULT_LISTENER_LIMITS, removeConnection } from '../shared/listener-limits';
import { closeConnection, postJson } from '../shared/management';
import { TokenError, type VerifiedListener } from '../shared/tokens';
import { catchUp, MAX_SEEN } from './catch-up';
import { logger, reply, type SocketDeps, type SocketEvent, type SocketResult } from './deps';
import { refreshToken } from './refresh';

export { MAX_SEEN } from './catch-up';

/** An event id as the contract takes one from a client: a non-empty string of at most 512 characters, counted as its JSON Schema counts them (code points, not UTF-16 units). */
export const isEventId = (id: unknown): id is string => typeof id === 'string' && id.length > 0 && (id.length <= 512 || [...id].length <= 512);

export function parseBody(event: SocketEvent): Record<string, unknown> | undefined {
  try {
    const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
    const v = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

async function refuse(connectionId: string, message: string, deps: SocketDeps): Promise<SocketResult> {
  await postJson(deps.mgmt, connectionId, { type: 'authentication_failed', message });
  await closeConnection(deps.mgmt, connectionId);
  await removeConnection(deps.ddb, deps.connectionsTable, connectionId);
  return reply(200);
}

const readConnection = async (connectionId: string, deps: SocketDeps): Promise<ConnectionItem | undefined> =>
  (await deps.ddb.send(new GetCommand({ TableName: deps.connectionsTable, Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId }, ConsistentRead: true })))
    .Item as ConnectionItem | undefined;

/** A later authenticate on an authenticated connection: refresh the token expiry, no replay (refresh.ts). */
async function onRefresh(conn: ConnectionItem, listener: VerifiedListener, tenant: string, deps: SocketDeps): Promise<SocketResult> {
  const connectionId = conn.connection_id;
  const refresh = await refreshToken(conn, listener, deps);
  if (refresh.outcome === 'gone') return reply(200);
  if (refresh.outcome === 'refused') {
    logger.warn('refresh refused', { connectionId, tenant, filter: listener.filter, reason: refresh.message });
    return refuse(connectionId, refresh.message, deps);
  }
  const expiresAt = listener.expiresAt.toISOString();
  if ((await postJson(deps.mgmt, connectionId, { type: 'authenticated', sub: listener.sub, filter: listener.filter, expires_at: expiresAt })) === 'gone')
    return reply(200);
  // A check per new expiry only: the same token sent again must not queue another check (each one
  // re-queues itself every 15 minutes until it is due or superseded: lambda/closer/handler.ts).
  if (expiresAt !== conn.token_expires_at)
    await deps.scheduleCheck(
      { connection_id: connectionId, check: 'expiry', expires_at: expiresAt },
      (listener.expiresAt.getTime() - deps.now().getTime()) / 1000,
    );
  logger.info('token refreshed', { connectionId, tenant, filter: listener.filter });
  return reply(200);
}

export async function onAuthenticate(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
  const connectionId = event.requestContext.connectionId;
  const body = parseBody(event);
  const conn = await readConnection(connectionId, deps);
  const tenant = conn && deps.tenants().get(conn.tenant);
  if (!conn || !tenant) return refuse(connectionId, 'This connection is not known (it may have been closed): reconnect with ?tenant=<tenant>.', deps);
  if (!body)
    return refuse(
      connectionId,
      'The message is not a JSON object: send {"type":"authenticate","access_token":"<Auth0 access token>","since":"<event id, optional>"}.',
      deps,
    );
  const since = body.since;
  if (since !== undefined && since !== null && !isEventId(since)) {
    return refuse(connectionId, '"since" must be the id of the last event you received (a non-empty string), or left out.', deps);
  }
  const seen = body.seen;
  if (seen !== undefined && (!Array.isArray(seen) || seen.length > MAX_SEEN || !seen.every(isEventId))) {
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
  if (conn.state === 'authenticated') return onRefresh(conn, listener, tenant.name, deps);
  const now = deps.now();
  const liveFrom = new Date(now.getTime() + (since ? deps.seamMs : 0)).toISOString();
  const claim = await claimListener(deps.ddb, deps.connectionsTable, {
    connectionId,
    tenant: tenant.name,
    sub: listener.sub,
    limits: deps.listenerLimits ?? DEFAULT_LISTENER_LIMITS,
    now,
    attributes: {
      state: 'authenticated',
      sub: listener.sub,
      filter: listener.filter,
      token_expires_at: listener.expiresAt.toISOString(),
      listen_key: listenKeyOf(tenant.name, listener.filter, listener.sub),
      live_from: liveFrom,
      authenticated_at: now.toISOString(),
    },
  });
  if (claim.result === 'not_pending') {
    // Another authenticate of this connection got in first (it may replay; this one may not), or it is gone.
    const current = await readConnection(connectionId, deps);
    return current?.state === 'authenticated' ? onRefresh(current, listener, tenant.name, deps) : reply(200);
  }
  if (claim.result === 'limit') {
    logger.warn('listener limit reached', { connectionId, tenant: tenant.name, limit: claim.limit, value: claim.value });
    return refuse(connectionId, claim.message, deps);
  }
  const expiresAt = listener.expiresAt.toISOString();
  if ((await postJson(deps.mgmt, connectionId, { type: 'authenticated', sub: listener.sub, filter: listener.filter, expires_at: expiresAt })) === 'gone')
    return reply(200);
  await deps.scheduleCheck({ connection_id: connectionId, check: 'expiry', expires_at: expiresAt }, (listener.expiresAt.getTime() - now.getTime()) / 1000);
  logger.info('authenticated', { connectionId, tenant: tenant.name, filter: listener.filter, since: since ?? undefined });
  if (since)
    await catchUp(connectionId, { tenant: tenant.name, sub: listener.sub, filter: listener.filter }, since, liveFrom, deps, seen as string[] | undefined);
  return reply(200);
}
