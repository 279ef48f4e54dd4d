/**
 * WebSocket connections table key design, shared by the CDK construct, the socket, push, closer and
 * query handlers and the tests (one definition, so they cannot disagree).
 *
 * One item per open connection, keyed by the API Gateway connection id. It is written `pending` on
 * $connect and becomes `authenticated` (with sub, filter, token expiry, listen_key and live_from)
 * after a valid `authenticate`. Only authenticated items carry `listen_key`, so the `by-listener`
 * index is sparse: unauthenticated connections can never be found by the push Lambda.
 * A connection becomes `authenticated` once: a later `authenticate` only refreshes its token
 * expiry (same sub and filter; lambda/socket/refresh.ts). The same table holds the listener-limit
 * counters (keys `limit#...`, lambda/shared/listener-limits.ts), which are in neither index.
 */
import type { ListenFilter } from './protocol';

export const CONNECTIONS_TABLE = {
  partitionKey: 'connection_id',
  /**
   * "Who listens to events of tenant T": partition `T#*` (filter `*`) or `T#self#<sub>` (filter
   * `self`): the push Lambda queries the first and, when the event has a user, the second.
   */
  byListenerIndex: {
    name: 'by-listener',
    partitionKey: 'listen_key',
    sortKey: 'connection_id',
    include: ['live_from', 'token_expires_at'],
  },
  /** A tenant's connections, oldest first (GET /{tenant}/listeners). */
  byTenantIndex: {
    name: 'by-tenant',
    partitionKey: 'tenant',
    sortKey: 'connected_at',
    include: ['sub', 'filter', 'state'],
  },
  ttlAttribute: 'expires_at',
} as const;

/** API Gateway closes every WebSocket connection after 2 hours; items left behind expire after that. */
export const MAX_CONNECTION_SECONDS = 2 * 3600;
/** A connection that has not authenticated within this time is closed (contract). */
export const AUTHENTICATE_WITHIN_SECONDS = 30;

/** `*` or `self` (the protocol's `authenticated.filter`). */
export type { ListenFilter };

/** Listener limits (enforced by lambda/shared/listener-limits.ts; set by lib/config.ts `listenerLimits`). */
export interface ListenerLimits {
  /** Most live (authenticated) connections of one user (`sub`) in one tenant. */
  perSub: number;
  /** Most live (authenticated) connections of one tenant. */
  perTenant: number;
}

/**
 * 10 per user: a user's browser tabs and devices, with room to spare. 1,000 per tenant: every
 * event of a tenant is one API Gateway message per `*` listener, and each open connection bills
 * connection minutes, so the ceiling bounds what one tenant can make the shared push and stage do
 * (1,000 listeners all month: 43.2 million connection minutes, about $11) while the other tenants
 * keep theirs; a deployment where every signed-in browser listens raises it to its users online.
 */
export const DEFAULT_LISTENER_LIMITS: ListenerLimits = { perSub: 10, perTenant: 1000 };

export interface ConnectionItem {
  connection_id: string;
  tenant: string;
  state: 'pending' | 'authenticated';
  /** ISO 8601. */
  connected_at: string;
  /** Epoch seconds (DynamoDB TTL): a backstop for items whose $disconnect never arrived. */
  expires_at: number;
  sub?: string;
  filter?: ListenFilter;
  /** ISO 8601: the access token's `exp`. Push skips the connection from then on; the closer closes it. */
  token_expires_at?: string;
  /** Present only when authenticated (see `listenKeyOf`). */
  listen_key?: string;
  /** ISO 8601: the catch-up seam. Push sends only events stored strictly after it. */
  live_from?: string;
  authenticated_at?: string;
  /** Present while a catch-up is paused between parts (lambda/socket/catch-up.ts). */
  catch_up?: CatchUpPosition;
  /** ISO 8601: the last refresh (a later `authenticate` with a new token of the same sub and filter). */
  refreshed_at?: string;
  /** The listener-limit window this connection is counted in (lambda/shared/listener-limits.ts); set with `authenticated`. */
  limit_window?: number;
}

/** Where a paused catch-up stands: what `continue_catch_up` resumes from (lambda/socket/catch-up.ts). */
export interface CatchUpPosition {
  /** The `since` the replay started from. */
  since: string;
  /** The `after` a continue_catch_up must carry: the id of the last event sent (else `since`). */
  after: string;
  /** The index cursor of the last event sent (the replay reads after it). */
  cursor: string;
  /** Events sent so far, all parts. */
  count: number;
  /** 1: before the settle wait; 2: after it (the last pass up to the seam). */
  phase: 1 | 2;
  /** Digests of the ids never to send (`since` and the client's `seen`). */
  skip: string[];
}

/**
 * The socket function's timeout (lib/session-events-socket.ts), which is API Gateway's 29 s
 * integration timeout: a catch-up part ends well before it (lambda/socket/catch-up.ts).
 */
export const SOCKET_TIMEOUT_SECONDS = 29;

export const listenKeyOf = (tenant: string, filter: ListenFilter, sub: string): string => (filter === '*' ? `${tenant}#*` : `${tenant}#self#${sub}`);

/** The message the close-check queue carries (see lambda/closer/handler.ts). */
export interface CloseCheck {
  connection_id: string;
  /**
   * `authenticate`: close when still pending. `expiry`: close when the token of `expires_at` has expired.
   * `disconnected`: the connection is gone but its $disconnect could not remove its item (and count it
   * out of the listener limits): remove it.
   */
  check: 'authenticate' | 'expiry' | 'disconnected';
  /** For `expiry`: the token expiry this check was scheduled for (a newer authenticate supersedes it). */
  expires_at?: string;
}
