/**
 * The WebSocket API's Lambda for $connect, $disconnect and `authenticate` (ping and $default are
 * answered by API Gateway itself, see lib/session-events-socket.ts).
 *
 *  $connect ?tenant=T   unknown or missing tenant -> 404/400 (the handshake is refused). Otherwise a
 *                       `pending` connection item and a close check in 30 s (SQS delay queue).
 *  $disconnect          deletes the connection item.
 *  authenticate         {"type":"authenticate","access_token":"...","since":"<event id>"?}
 *                       bad token -> {"type":"authentication_failed","message"} and the connection is
 *                       closed. Valid -> the item becomes `authenticated` (sub, filter, token expiry,
 *                       listen_key, live_from), {"type":"authenticated","sub","filter","expires_at"},
 *                       an expiry close check, and with `since` the catch-up (see catchUp).
 *
 * Catch-up seam (no duplicates, nothing lost): the connection is marked live with
 * live_from = now + SEAM_MS. The push Lambda sends only events stored strictly after live_from;
 * catch-up sends only events stored at or before it: every event is on exactly one side. Catch-up
 * sends the events after `since` at once, waits until live_from + SETTLE_MS (so that events stored
 * just before the seam are readable), then sends the rest up to the seam, and ends with
 * {"type":"caught_up","count","last_id"}. Catch-up events carry "replay": true, so that a client can
 * hold live events until `caught_up` and deliver strictly in order (the client in client/ does).
 *
 * Resume with `seen`: live pushes come in stream order, which can differ a little from stored
 * (cursor) order when writers run concurrently, so the last id a client received is not always the
 * newest by cursor. A client that also sends `seen` (the ids it received recently) gets a replay that
 * starts CATCH_UP_LOOKBACK_MS (default 10 s) before the `since` event and skips every id in `seen`:
 * nothing it missed is left out, nothing it has is sent again.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { closeCheckScheduler, type ScheduleCheck } from '../shared/close-checks';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { AUTHENTICATE_WITHIN_SECONDS, CONNECTIONS_TABLE, listenKeyOf, MAX_CONNECTION_SECONDS, type ConnectionItem } from '../shared/connections';
import { isConditionFailed } from '../shared/dynamodb';
import { createLogger } from '../shared/logger';
import { cursorOf, pushedEvent } from '../shared/stores';
import { configuredTenants, type Tenant } from '../shared/tenants';
import { TokenError, verifyListenerToken, type VerifiedListener } from '../shared/tokens';
import { eventsAfter, visibleEvent, type Viewer } from '../shared/history';
import { closeConnection, managementClient, postJson } from '../shared/management';

const logger = createLogger('auth0-events-socket');

/** The parts of API Gateway's WebSocket proxy event this handler reads. */
export interface SocketEvent {
  requestContext: { routeKey: string; connectionId: string; eventType?: string };
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}
export interface SocketResult {
  statusCode: number;
  body?: string;
}

export interface SocketDeps {
  ddb: DynamoDBDocumentClient;
  mgmt: ApiGatewayManagementApiClient;
  connectionsTable: string;
  eventsTable: string;
  tenants: () => Map<string, Tenant>;
  verify: (token: unknown, tenant: Tenant) => Promise<VerifiedListener>;
  /** Schedules a close check `delaySeconds` from now (SQS delay queue in AWS). */
  scheduleCheck: ScheduleCheck;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** How far after authentication the catch-up seam lies (ms). Default 1000. */
  seamMs: number;
  /** How long after the seam catch-up reads the last events before it (ms). Default 1000. */
  settleMs: number;
  /** Most events one catch-up sends; more -> an error message pointing at GET /{tenant}/events. */
  catchUpMax: number;
  /** With `seen`, how far before the `since` event the replay starts (ms). Default 10000. */
  lookbackMs?: number;
}

/** Most ids a client may list in `seen`. */
export const MAX_SEEN = 1000;

function defaultDeps(): SocketDeps {
  return {
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
    mgmt: managementClient(env('WS_ENDPOINT')),
    connectionsTable: env('CONNECTIONS_TABLE'),
    eventsTable: env('EVENTS_TABLE'),
    tenants: configuredTenants,
    verify: (token, tenant) => verifyListenerToken(token, tenant),
    scheduleCheck: closeCheckScheduler(new SQSClient({}), process.env.CLOSE_QUEUE_URL),
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    seamMs: Number(process.env.SEAM_MS ?? 1000),
    settleMs: Number(process.env.SETTLE_MS ?? 1000),
    catchUpMax: Number(process.env.CATCH_UP_MAX ?? 2000),
    lookbackMs: Number(process.env.CATCH_UP_LOOKBACK_MS ?? 10_000),
  };
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const reply = (statusCode: number, error?: string, message?: string): SocketResult =>
  error ? { statusCode, body: JSON.stringify({ error, message }) } : { statusCode };

async function onConnect(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
  const connectionId = event.requestContext.connectionId;
  const name = event.queryStringParameters?.tenant;
  if (!name) return reply(400, 'missing_tenant', 'Connect with ?tenant=<tenant> (e.g. ?tenant=acme or ?tenant=acme@eu).');
  const tenant = deps.tenants().get(name);
  if (!tenant) return reply(404, 'unknown_tenant', `Tenant ${JSON.stringify(name.slice(0, 100))} is not served by this deployment; check ?tenant= (e.g. acme or acme@eu).`);
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

async function onDisconnect(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
  await deps.ddb.send(new DeleteCommand({ TableName: deps.connectionsTable, Key: { [CONNECTIONS_TABLE.partitionKey]: event.requestContext.connectionId } }));
  logger.info('disconnected', { connectionId: event.requestContext.connectionId });
  return reply(200);
}

function parseBody(event: SocketEvent): Record<string, unknown> | undefined {
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

async function onAuthenticate(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
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

/**
 * Sends the viewer every event stored after the `since` event and at or before `liveFrom`, in
 * stored order, each once; then `caught_up`. With `seen`, from `lookbackMs` before the `since`
 * event, skipping the ids in `seen` (see the top of this file). Returns the number of events sent.
 */
export async function catchUp(connectionId: string, viewer: Viewer, since: string, liveFrom: string, deps: SocketDeps, seen?: readonly string[]): Promise<number> {
  const start = await visibleEvent(deps.ddb, deps.eventsTable, viewer, since);
  if (!start) {
    await postJson(deps.mgmt, connectionId, {
      type: 'error', error: 'unknown_since',
      message: `Event ${JSON.stringify(since.slice(0, 100))} is not a stored event you may see (unknown, or older than 30 days): nothing was replayed; GET /${viewer.tenant}/events lists what is stored.`,
    });
    await postJson(deps.mgmt, connectionId, { type: 'caught_up', count: 0 });
    return 0;
  }
  const skip = new Set([since, ...(seen ?? [])]);
  let cursor = seen ? cursorOf(new Date(Date.parse(start.stored_at) - (deps.lookbackMs ?? 10_000)).toISOString(), '') : start.cursor;
  let lastId: string | undefined;
  let count = 0;
  /** Sends events after `cursor` stored at or before the seam; false when the connection is gone or the cap is reached. */
  const pass = async (): Promise<boolean> => {
    for await (const e of eventsAfter(deps.ddb, deps.eventsTable, viewer, cursor)) {
      // Stored after the seam: the push sends it. Not the end of the replay: an event stored before the
      // seam can sort after it when its late write moved its cursor (REST_SETTLE_MS, lambda/shared/stores.ts).
      if (e.stored_at > liveFrom) continue;
      if (count >= deps.catchUpMax) {
        await postJson(deps.mgmt, connectionId, {
          type: 'error', error: 'catch_up_truncated',
          message: `More than ${deps.catchUpMax} events to replay: the first ${deps.catchUpMax} were sent; fetch the rest with GET /${viewer.tenant}/events?since=${lastId ?? since}.`,
        });
        return false;
      }
      cursor = e.cursor;
      if (skip.has(e.id)) continue;
      if ((await postJson(deps.mgmt, connectionId, { type: 'event', replay: true, event: pushedEvent(e) })) === 'gone') return false;
      lastId = e.id;
      count++;
    }
    return true;
  };
  if (await pass()) {
    const wait = Date.parse(liveFrom) + deps.settleMs - deps.now().getTime();
    if (wait > 0) await deps.sleep(wait);
    await pass();
  }
  await postJson(deps.mgmt, connectionId, { type: 'caught_up', count, ...(lastId ? { last_id: lastId } : {}) });
  logger.info('caught up', { connectionId, tenant: viewer.tenant, count });
  return count;
}

export async function handleSocket(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
  switch (event.requestContext.routeKey) {
    case '$connect':
      return onConnect(event, deps);
    case '$disconnect':
      return onDisconnect(event, deps);
    case 'authenticate':
      return onAuthenticate(event, deps);
    default:
      await postJson(deps.mgmt, event.requestContext.connectionId, { type: 'error', error: 'unknown_message', message: 'Unknown message type: send {"type":"authenticate",...} or {"type":"ping"}.' });
      return reply(200);
  }
}

let deps: SocketDeps | undefined;
export const handler = async (event: SocketEvent): Promise<SocketResult> => {
  deps ??= defaultDeps();
  try {
    return await handleSocket(event, deps);
  } catch (e) {
    logger.error('socket route failed', { route: event.requestContext.routeKey, connectionId: event.requestContext.connectionId, error: (e as Error).name, detail: (e as Error).message });
    return reply(500, 'internal_error', 'The request could not be processed; retry.');
  }
};

