/**
 * Classification: an Auth0 log event or Action call becomes one canonical event, with its `type`
 * from the log type catalogue and the contract's rules for Management API operations (`sapi`).
 */
import { createHash } from 'node:crypto';
import type { CanonicalEvent, EventType } from '../shared/event';
import { canonicalDate } from '../shared/event-rules';
import { logTypeInfo } from '../shared/log-types';
import type { ActionBody } from './action-body';
import type { Auth0Log, LogStreamRecord } from './parse';

const USER_PATH = /^\/api\/v2\/users\/([^/?#]+)\/?(?:[?#].*)?$/;
const USER_BLOCKS_PATH = /^\/api\/v2\/user-blocks\/([^/?#]+)\/?(?:[?#].*)?$/;

interface ApiOperation {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

function apiOperation(log: Auth0Log): ApiOperation | undefined {
  const request = (log.details as { request?: Record<string, unknown> } | undefined)?.request;
  if (!request || typeof request.method !== 'string' || typeof request.path !== 'string') return undefined;
  const body = typeof request.body === 'object' && request.body !== null && !Array.isArray(request.body) ? (request.body as Record<string, unknown>) : {};
  return { method: request.method.toLowerCase(), path: request.path, body };
}

function decodeUserId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The user and type of a successful Management API operation (`sapi`), from its method, path and
 * body: PATCH /api/v2/users/{id} with `blocked` true/false, or `password`; DELETE /api/v2/users/{id};
 * DELETE /api/v2/user-blocks/{id} (`login_unthrottled`: Auth0 "Remove all Brute-force Protection blocks
 * ... does not unblock users that were blocked by a tenant administrator", so never `user_unblocked`).
 * Any other operation on a user keeps type `log` but still names the user.
 */
export function classifyApiOperation(op: ApiOperation): { type?: EventType; user_id: string } | undefined {
  const user = USER_PATH.exec(op.path);
  if (user) {
    const user_id = decodeUserId(user[1]);
    if (op.method === 'delete') return { type: 'user_deleted', user_id };
    if (op.method === 'patch') {
      if (op.body.blocked === true) return { type: 'user_blocked', user_id };
      if (op.body.blocked === false) return { type: 'user_unblocked', user_id };
      if (typeof op.body.password === 'string') return { type: 'password_changed', user_id };
    }
    return { user_id };
  }
  const blocks = USER_BLOCKS_PATH.exec(op.path);
  if (blocks) return { ...(op.method === 'delete' ? { type: 'login_unthrottled' as const } : {}), user_id: decodeUserId(blocks[1]) };
  return undefined;
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The canonical event of one Log Stream record. */
export function classifyLogRecord(record: LogStreamRecord, tenant: string, receivedAt: string): CanonicalEvent {
  const log = record.data;
  const info = logTypeInfo(log.type);
  let type: EventType = info.type ?? 'log';
  let userId = nonEmpty(log.user_id);
  const op = log.type === 'sapi' ? apiOperation(log) : undefined;
  const derived = op && classifyApiOperation(op);
  if (derived) {
    type = derived.type ?? type;
    userId = derived.user_id;
  }
  const details = log.details as Record<string, unknown> | undefined;
  const sessionId = nonEmpty(log.session_id) ?? nonEmpty(details?.session_id);
  return {
    id: record.log_id,
    tenant,
    type,
    source: 'log-stream',
    log_type: log.type,
    level: info.level,
    ...(userId ? { user_id: userId } : {}),
    ...(sessionId ? { session_id: sessionId } : {}),
    // The parser has checked the date; canonical (UTC, milliseconds) so that every subscriber reads it alike.
    date: (log.date !== undefined && canonicalDate(log.date)) || receivedAt,
    received_at: receivedAt,
    data: log,
  };
}

/** The Actions this pipeline accepts, with the event type and the equivalent log code of each. */
export const ACTION_TRIGGERS: Readonly<Record<string, { type: EventType; log_type: string }>> = {
  'post-user-registration': { type: 'user_registered', log_type: 'ss' },
  'post-change-password': { type: 'password_changed', log_type: 'scp' },
  'post-login': { type: 'login_succeeded', log_type: 's' },
};

/** How an Action call is identified, in order of preference (docs/contract.md, "REST API", Action bodies). */
export type ActionIdentity = 'registration' | 'idempotency-key' | 'occurred_at' | 'received_at';

/**
 * A stable id for an Action call, so that a retried call is written once:
 * - a registration (post-user-registration) without `occurred_at`: its tenant, trigger and user (a
 *   user registers once);
 * - else the caller's `Idempotency-Key` header, when sent, per tenant, trigger and user (a key reused
 *   for another user gives another id, so neither call is dropped as the other's duplicate);
 * - else tenant, trigger, user, `occurred_at` and session (what the shipped Actions send; these ids
 *   are unchanged from earlier releases);
 * - else the same with the receive time instead of `occurred_at`: a retry gets another id, so it
 *   may be a duplicate.
 * Parts are joined with newlines, which no validated identifier contains, and each scheme has its
 * own shape, so two schemes never give one id.
 */
export function actionEventId(
  tenant: string,
  trigger: string,
  body: ActionBody,
  receivedAt: string,
  idempotencyKey?: string,
): { id: string; identity: ActionIdentity } {
  let identity: ActionIdentity;
  let parts: string[];
  if (body.occurred_at === undefined && trigger === 'post-user-registration') {
    identity = 'registration';
    parts = ['registration', tenant, trigger, body.user.user_id];
  } else if (idempotencyKey !== undefined) {
    identity = 'idempotency-key';
    parts = ['idempotency-key', tenant, trigger, body.user.user_id, idempotencyKey];
  } else {
    identity = body.occurred_at !== undefined ? 'occurred_at' : 'received_at';
    parts = [tenant, trigger, body.user.user_id, canonicalDate(body.occurred_at) ?? receivedAt, body.session_id ?? ''];
  }
  return { id: `act_${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 40)}`, identity };
}

export function classifyAction(trigger: string, body: ActionBody, tenant: string, receivedAt: string, idempotencyKey?: string): CanonicalEvent {
  const t = ACTION_TRIGGERS[trigger];
  return {
    id: actionEventId(tenant, trigger, body, receivedAt, idempotencyKey).id,
    tenant,
    type: t.type,
    source: 'action',
    log_type: t.log_type,
    level: logTypeInfo(t.log_type).level,
    user_id: body.user.user_id,
    ...(body.session_id ? { session_id: body.session_id } : {}),
    date: canonicalDate(body.occurred_at) ?? receivedAt,
    received_at: receivedAt,
    data: { trigger, ...body },
  };
}
