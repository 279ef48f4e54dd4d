/**
 * GET /{tenant}/events?limit=100&since=ID and GET /{tenant}/listeners, behind the token authorizer
 * (token-authorizer.ts), which passes `sub`, `filter`, `tenant` and the token's `exp` as authorizer
 * context. API Gateway may answer from its authorizer cache after the token expired: a token whose `exp`
 * has passed is refused here (401 token_expired), so caching never extends a token's life.
 *   events: with `since`, the `limit` events stored after that event; without, the `limit` most
 *     recent ones; newest last either way. `next` is the id to pass as `since` for the following page
 *     (the last event's id, or `since` itself when there is nothing new). `self` callers see only
 *     their own events.
 *     Settle horizon: only events whose cursor is at least REST_SETTLE_MS (5 s) old are listed, so a
 *     poller never moves past an event that is not readable yet (lambda/shared/stores.ts explains why
 *     that bound holds): polling with `since` = `next` misses nothing and gets nothing twice.
 *   listeners: needs listen:events (filter `*`): the tenant's authenticated connections.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { partitionItems } from '../shared/dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { CONNECTIONS_TABLE, type ConnectionItem, type ListenFilter } from '../shared/connections';
import { error, json } from '../shared/http';
import { createLogger } from '../shared/logger';
import { pushedEvent, REST_SETTLE_MS, settledBefore, type StoredEvent } from '../shared/stores';
import { configuredTenants } from '../shared/tenants';
import { SCOPE_ALL } from '../shared/tokens';
import { eventsAfter, visibleEvent, type Viewer } from '../shared/history';
import { lazy } from '../shared/lazy';
import { documentClient } from '../shared/sdk';

const logger = createLogger('auth0-events-query');

export const MAX_LIMIT = 1000;

export interface QueryDeps {
  ddb: DynamoDBDocumentClient;
  eventsTable: string;
  connectionsTable: string;
  /** The settle horizon (ms). Default REST_SETTLE_MS. */
  settleMs?: number;
  now?: () => Date;
}

async function listEvents(event: APIGatewayProxyEvent, viewer: Viewer, deps: QueryDeps): Promise<APIGatewayProxyResult> {
  const rawLimit = event.queryStringParameters?.limit;
  const limit = rawLimit === undefined ? 100 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    return error(400, 'bad_request', `limit must be a whole number from 1 to ${MAX_LIMIT}, got ${JSON.stringify(String(rawLimit).slice(0, 20))}.`);
  const since = event.queryStringParameters?.since;
  const events: StoredEvent[] = [];
  // The settle horizon: events stored at or before now - settle are readable. Cursors are
  // `${ISO time}#${id}`, so "stored at or before h" is "cursor < `${h + 1 ms}#`".
  const before = settledBefore((deps.now?.() ?? new Date()).getTime(), deps.settleMs ?? REST_SETTLE_MS);
  if (since !== undefined) {
    const start = since === '' ? undefined : await visibleEvent(deps.ddb, deps.eventsTable, viewer, since);
    if (!start)
      return error(
        400,
        'unknown_since',
        `since ${JSON.stringify(since.slice(0, 100))} is not a stored event you may see (unknown, or older than 30 days): leave since out to get the most recent events.`,
      );
    for await (const e of eventsAfter(deps.ddb, deps.eventsTable, viewer, start.cursor, { pageSize: limit, before })) {
      events.push(e);
      if (events.length >= limit) break;
    }
  } else {
    for await (const e of eventsAfter(deps.ddb, deps.eventsTable, viewer, undefined, { pageSize: limit, descending: true, before })) {
      events.push(e);
      if (events.length >= limit) break;
    }
    events.reverse();
  }
  const next = events.length ? events[events.length - 1].id : (since ?? null);
  return json(200, { events: events.map(pushedEvent), next });
}

async function listListeners(tenant: string, deps: QueryDeps): Promise<APIGatewayProxyResult> {
  const listeners: { connected_at: string; sub: string; filter: ListenFilter }[] = [];
  for await (const item of partitionItems<ConnectionItem>(deps.ddb, deps.connectionsTable, CONNECTIONS_TABLE.byTenantIndex, tenant)) {
    if (item.state === 'authenticated' && item.sub && item.filter) listeners.push({ connected_at: item.connected_at, sub: item.sub, filter: item.filter });
  }
  return json(200, { count: listeners.length, listeners });
}

export async function handleQuery(event: APIGatewayProxyEvent, deps: QueryDeps): Promise<APIGatewayProxyResult> {
  const name = event.pathParameters?.tenant ?? '';
  const tenant = configuredTenants().get(name);
  if (!tenant)
    return error(
      404,
      'unknown_tenant',
      `Tenant ${JSON.stringify(name.slice(0, 100))} is not served by this deployment; check the URL's tenant segment (e.g. acme or acme@eu).`,
    );
  const ctx = (event.requestContext?.authorizer ?? {}) as Record<string, string | undefined>;
  if (ctx.error) return error(403, 'insufficient_scope', ctx.error);
  const filter = ctx.filter as ListenFilter | undefined;
  const sub = ctx.sub;
  if (!sub || (filter !== '*' && filter !== 'self') || ctx.tenant !== tenant.name)
    return error(401, 'unauthorized', 'Send an Auth0 access token of this tenant for the events API: Authorization: Bearer <token>.');
  const exp = Number(ctx.exp);
  if (!Number.isFinite(exp) || exp * 1000 <= (deps.now?.() ?? new Date()).getTime()) {
    return error(401, 'token_expired', 'The access token has expired: get a new one from Auth0 and send it as Authorization: Bearer <token>.');
  }
  if (event.resource?.endsWith('/listeners')) {
    if (filter !== '*') return error(403, 'insufficient_scope', `Listing listeners needs the ${SCOPE_ALL} scope; this token has only listen:events:self.`);
    return listListeners(tenant.name, deps);
  }
  return listEvents(event, { tenant: tenant.name, sub, filter }, deps);
}

function depsFromEnv(): QueryDeps {
  return {
    ddb: documentClient(),
    eventsTable: process.env.EVENTS_TABLE ?? '',
    connectionsTable: process.env.CONNECTIONS_TABLE ?? '',
  };
}
const defaultDeps = lazy(depsFromEnv);

export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    return await handleQuery(event, defaultDeps());
  } catch (e) {
    logger.error('query failed', { path: event.resource, error: (e as Error).name, detail: (e as Error).message });
    return error(500, 'internal_error', 'The request could not be processed; retry later.');
  }
};
