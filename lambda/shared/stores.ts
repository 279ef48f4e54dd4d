/**
 * DynamoDB key design shared by the CDK tables, the writers, the push Lambda, the REST query
 * endpoints and the local runtime (one definition, so they cannot disagree).
 */
import type { CanonicalEvent, SessionEventType } from './event';
import type { SessionEvent } from './protocol';

/**
 * Session events: one item per tenant and event id, kept 30 days.
 *
 * Key: `pk` = `${tenant}#${id}` (eventKeyOf). Event ids come from each tenant (Auth0 log ids, caller
 * chosen Action/Event Stream ids), so a bare id could be sent by another tenant first and pre-empt
 * ours (issue 10, item 2); tenant names cannot contain '#' (TENANT_NAME_PATTERN), so the key is
 * unambiguous. One attribute rather than PK tenant + SK id: writes and GetItems spread over the whole
 * key space (a busy tenant is not one hot partition key), and "a tenant's events in order" is the
 * by-tenant index's job anyway.
 */
export const EVENTS_TABLE = {
  partitionKey: 'pk',
  /** "Events of tenant T after cursor C", newest last. */
  byTenantIndex: { name: 'by-tenant', partitionKey: 'tenant', sortKey: 'cursor' },
  /** "Events of user U in tenant T after cursor C": partition `${tenant}#${user_id}`. */
  byUserIndex: { name: 'by-user', partitionKey: 'tenant_user', sortKey: 'cursor' },
  ttlAttribute: 'expires_at',
  retentionDays: 30,
} as const;

/**
 * REST polling's settle horizon (issue 10, item 7). A cursor is taken from the writer's clock before
 * its PutItem, and the by-tenant/by-user indexes are eventually consistent, so an event can become
 * readable after events with later cursors. GET /{tenant}/events therefore returns only events whose
 * cursor is at least REST_SETTLE_MS old, and the writer makes sure that every event is readable on the
 * indexes before its cursor is that old:
 *   - its PutItem must answer within WRITE_BUDGET_MS of stored_at; if it answers later, the writer
 *     moves the cursor (not stored_at) forward to "now" (conditional UpdateItem; the push Lambda
 *     ignores MODIFY), so the event appears ahead of every poller's horizon instead of behind it;
 *   - that move must answer within 2 x WRITE_BUDGET_MS of the first stored_at too (the writer logs
 *     `late_move: true` when it does not: then a poller may have been served the old cursor, and can
 *     get that event twice, or, resuming with `since` = that event, skip the events of those seconds);
 *   - GSI propagation: AWS states that writes "propagate to a GSI within 1 second"
 *     (https://repost.aws/knowledge-center/dynamodb-missing-table-items-gsi); we allow 3 s.
 * So REST_SETTLE_MS = 2 x WRITE_BUDGET_MS + GSI_PROPAGATION_ALLOWANCE_MS = 5 s: polls see events 5 s
 * late, and in exchange nothing is skipped and nothing repeated. Clocks: Lambda hosts' clocks (Amazon
 * Time Sync) agree to well under a millisecond, far below these margins.
 */
export const WRITE_BUDGET_MS = 1000;
export const GSI_PROPAGATION_ALLOWANCE_MS = 3000;
export const REST_SETTLE_MS = 2 * WRITE_BUDGET_MS + GSI_PROPAGATION_ALLOWANCE_MS;

/**
 * The exclusive upper bound of the settled cursors at `now` (epoch ms): events stored at least
 * `settleMs` before it (their cursors sort below it). Every event whose cursor is below it is readable
 * on the indexes (see REST_SETTLE_MS), so a reader that stops there steps past nothing unreadable. Used
 * by REST polling and by the WebSocket catch-up (lambda/socket/catch-up.ts).
 */
export const settledBefore = (now: number, settleMs: number = REST_SETTLE_MS): string => `${new Date(now - settleMs + 1).toISOString()}#`;

/**
 * One deletion, one push (issue 18, item 4c). A user deleted with Log Streams and Event Streams on
 * reaches the session-events writer up to three times under different ids (`sdu`, `sapi` DELETE,
 * `ce_<id>` user.deleted). The writer stores (so pushes) one revocation of a FOLDED type per tenant,
 * user and time window; the topic still carries every input. Windows: two grids of buckets
 * REVOCATION_WINDOW_MS long, the second shifted by half of it; an event claims its bucket in both
 * grids, and is folded when another event holds either. So two revocations less than half the window
 * apart (2.5 min) are always one push, two at least the window apart (5 min) are always two, and in
 * between they may be one. Dates are Auth0's (when it happened), so delivery lag does not matter: one
 * deletion's records are dated within a second of each other.
 * Only `user_deleted` is folded: a second logout, refresh token revocation, block or password change
 * minutes later is a new revocation (a password changed back by its owner after an attacker changed it
 * must move the cut-off forward), and each of those has one door anyway (password changes may come by
 * up to three: `scp`, the Action, `sapi`; they stay one push each rather than risk losing the later one).
 * A user deleted, registered again and deleted again within 5 minutes gets one push for both
 * deletions (its second life had at most those minutes).
 *
 * A marker is an events-table item keyed `~revocation#<grid>#<bucket>#<tenant>#<type>#<user_id>` (no
 * event key has it: tenant names start with a letter or digit), without `id`, `tenant`, `cursor` or `tenant_user`:
 * it is in no index (no catch-up or REST poll sees it), the push's event source filter passes only
 * INSERTs of items with an `id` (lib/session-events-socket.ts), and the push skips anything else
 * (isEventImage).
 */
export const REVOCATION_WINDOW_MS = 5 * 60_000;
export const FOLDED_REVOCATION_TYPES: readonly string[] = ['user_deleted'];
/** The two window markers of a revocation of `type` dated `at` (epoch ms): its bucket in each grid. */
export const revocationMarkerKeys = (tenant: string, type: string, userId: string, at: number): Record<string, string>[] =>
  [0, REVOCATION_WINDOW_MS / 2].map((shift, grid) => ({
    [EVENTS_TABLE.partitionKey]: `~revocation#${grid}#${Math.floor((at + shift) / REVOCATION_WINDOW_MS)}#${tenant}#${type}#${userId}`,
  }));
/** Whether an events-table item (a stream NewImage, unmarshalled) is a stored event, not a marker. */
export const isEventItem = (item: Record<string, unknown> | undefined): boolean => typeof item?.id === 'string' && typeof item?.tenant === 'string';

/** Users: one item per tenant and user. */
export const USERS_TABLE = { partitionKey: 'tenant', sortKey: 'user_id' } as const;

/** The log poller's checkpoints and run lease: one item per tenant (lambda/ingest/poller/checkpoint.ts). */
export const CHECKPOINT_TABLE = { partitionKey: 'tenant' } as const;

/** What the events table stores of a session event (and what the WebSocket pushes, see `pushedEvent`). */
export interface StoredEvent {
  /** Table key: `${tenant}#${id}` (eventKeyOf). */
  pk: string;
  id: string;
  tenant: string;
  type: string;
  user_id?: string;
  session_id?: string;
  date: string;
  log_type: string;
  source: string;
  level: number;
  received_at: string;
  /** When the writer stored it (ISO 8601). */
  stored_at: string;
  /**
   * Sort key of the indexes: `${stored_at}#${id}`, so "after cursor" means "stored after"; a write that
   * answered late gets a later time here (never in stored_at), see REST_SETTLE_MS.
   */
  cursor: string;
  /** `${tenant}#${user_id}` when the event has a user. */
  tenant_user?: string;
  /** Epoch seconds: DynamoDB TTL removes the item after this. */
  expires_at: number;
}

/** The events table key of event `id` of `tenant` (tenant names contain no '#'). */
export const eventKeyOf = (tenant: string, id: string): string => `${tenant}#${id}`;
/** The `Key` of a GetItem/UpdateItem on the events table. */
export const eventKey = (tenant: string, id: string): Record<string, string> => ({ [EVENTS_TABLE.partitionKey]: eventKeyOf(tenant, id) });
export const cursorOf = (storedAt: string, id: string): string => `${storedAt}#${id}`;
export const tenantUserOf = (tenant: string, userId: string): string => `${tenant}#${userId}`;

export function toStoredEvent(event: CanonicalEvent, storedAt: Date): StoredEvent {
  const stored_at = storedAt.toISOString();
  return {
    pk: eventKeyOf(event.tenant, event.id),
    id: event.id,
    tenant: event.tenant,
    type: event.type,
    ...(event.user_id ? { user_id: event.user_id, tenant_user: tenantUserOf(event.tenant, event.user_id) } : {}),
    ...(event.session_id ? { session_id: event.session_id } : {}),
    date: event.date,
    log_type: event.log_type,
    source: event.source,
    level: event.level,
    received_at: event.received_at,
    stored_at,
    cursor: cursorOf(stored_at, event.id),
    expires_at: Math.floor(storedAt.getTime() / 1000) + EVENTS_TABLE.retentionDays * 86_400,
  };
}

/** The event as the WebSocket sends it: `{"type":"event","event":{...}}` (contract, "WebSocket"; lambda/shared/protocol.ts). */
export function pushedEvent(e: Pick<StoredEvent, 'id' | 'type' | 'tenant' | 'user_id' | 'session_id' | 'date' | 'log_type'>): SessionEvent {
  // The events table holds session events only (the writer stores nothing else: isSessionEventType).
  return { id: e.id, type: e.type as SessionEventType, tenant: e.tenant, user_id: e.user_id, session_id: e.session_id, date: e.date, log_type: e.log_type };
}
