/** The socket Lambda's event and result shapes, its dependencies (injectable for tests) and the shared reply. */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SOCKET_TIMEOUT_SECONDS } from '../shared/connections';
import { closeCheckScheduler, type ScheduleCheck } from '../shared/close-checks';
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../shared/listener-limits';
import { createLogger } from '../shared/logger';
import { REST_SETTLE_MS } from '../shared/stores';
import { managementClient } from '../shared/management';
import { configuredTenants, type Tenant } from '../shared/tenants';
import { verifyListenerToken, type VerifiedListener } from '../shared/tokens';
import { documentClient, reuseSigner } from '../shared/sdk';

export const logger = createLogger('auth0-events-socket');

/**
 * The catch-up's settle time (ms): REST_SETTLE_MS (5 s = 2 x WRITE_BUDGET_MS + GSI allowance,
 * lambda/shared/stores.ts), the bound within which a stored event is readable on the index at its
 * final cursor. Every catch-up's end waits that long after the seam (docs/realtime.md, "Catch-up and
 * the seam rule").
 */
export const DEFAULT_SETTLE_MS = REST_SETTLE_MS;

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
  /**
   * How long after its cursor an event is surely readable on the events index (ms): the catch-up's
   * first phase reads only cursors at least this old, its last phase reads at the seam + this. Default
   * DEFAULT_SETTLE_MS.
   */
  settleMs: number;
  /** Most events one part of a catch-up (one invocation) sends; more -> `catch_up_paused` "size_cap". Default 5000. */
  catchUpPartMax: number;
  /** Milliseconds left in this invocation (the Lambda context's getRemainingTimeInMillis; handler.ts passes it). */
  remainingMs: () => number;
  /** Kept back from remainingMs for the last message, the position write and `catch_up_paused` (ms). Default 5000. */
  budgetMarginMs?: number;
  /** Events read per query during catch-up. Default 500. */
  pageSize?: number;
  /** With `seen`, how far before the `since` event the replay starts (ms). Default 10000. */
  lookbackMs?: number;
  /** Live listeners per user and per tenant (env LISTENERS_PER_SUB, LISTENERS_PER_TENANT). Default DEFAULT_LISTENER_LIMITS. */
  listenerLimits?: ListenerLimits;
}

/** From the environment (WS_ENDPOINT, CONNECTIONS_TABLE, EVENTS_TABLE, CLOSE_QUEUE_URL and the tuning variables). */
export function depsFromEnv(): SocketDeps {
  return {
    ddb: documentClient({ marshallOptions: { removeUndefinedValues: true } }),
    mgmt: managementClient(env('WS_ENDPOINT')),
    connectionsTable: env('CONNECTIONS_TABLE'),
    eventsTable: env('EVENTS_TABLE'),
    tenants: configuredTenants,
    verify: (token, tenant) => verifyListenerToken(token, tenant),
    scheduleCheck: closeCheckScheduler(reuseSigner(new SQSClient({})), process.env.CLOSE_QUEUE_URL),
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    seamMs: Number(process.env.SEAM_MS ?? 1000),
    settleMs: Number(process.env.SETTLE_MS ?? DEFAULT_SETTLE_MS),
    catchUpPartMax: Number(process.env.CATCH_UP_PART_MAX ?? 5000),
    // Replaced in every invocation by handler.ts (the Lambda context's remaining time).
    remainingMs: () => SOCKET_TIMEOUT_SECONDS * 1000,
    budgetMarginMs: Number(process.env.CATCH_UP_BUDGET_MARGIN_MS ?? 5000),
    lookbackMs: Number(process.env.CATCH_UP_LOOKBACK_MS ?? 10_000),
    listenerLimits: {
      perSub: positive('LISTENERS_PER_SUB', DEFAULT_LISTENER_LIMITS.perSub),
      perTenant: positive('LISTENERS_PER_TENANT', DEFAULT_LISTENER_LIMITS.perTenant),
    },
  };
}

/** A whole number > 0 from the environment, or the default when unset; anything else stops the handler (a deploy bug, not a client's). */
function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(raw)}`);
  return n;
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

export const reply = (statusCode: number, error?: string, message?: string): SocketResult =>
  error ? { statusCode, body: JSON.stringify({ error, message }) } : { statusCode };
