/**
 * The canonical event: what every accepted Auth0 input becomes on the SNS topic
 * (the contract in shared/design.md, "Events"). Shared by the ingest Lambda, every
 * subscriber, the push Lambda and the local runtime.
 */

/** Event types derived from Auth0 log codes and Action triggers; every other code is `log`. */
export const EVENT_TYPES = [
  'user_registered',
  'password_changed',
  'user_blocked',
  'user_unblocked',
  'logout',
  'user_deleted',
  'refresh_token_revoked',
  'login_succeeded',
  'login_failed',
  'log',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Session events: the ones stored in the events table and pushed over the WebSocket. */
export const SESSION_EVENT_TYPES = [
  'password_changed',
  'user_blocked',
  'logout',
  'user_deleted',
  'refresh_token_revoked',
] as const satisfies readonly EventType[];
export type SessionEventType = (typeof SESSION_EVENT_TYPES)[number];

/** The events that change a user's state: what the users subscriber takes. */
export const USER_EVENT_TYPES: readonly EventType[] = ['user_registered', 'user_blocked', 'user_unblocked', 'user_deleted', 'password_changed'];

export const isSessionEventType = (type: string): boolean =>
  (SESSION_EVENT_TYPES as readonly string[]).includes(type);

export type EventSource = 'log-stream' | 'action';

/** Severity of a log code, as in Auth0's authentication-API webhooks: 0 debug .. 4 critical. */
export type Level = 0 | 1 | 2 | 3 | 4;

export interface CanonicalEvent {
  /** Auth0 `log_id`, or a stable hash for Action calls: the de-duplication key downstream. */
  id: string;
  tenant: string;
  type: EventType;
  source: EventSource;
  /** The Auth0 log type code (`sapi`, `scp`, ...); for Actions, the code of the equivalent log. */
  log_type: string;
  level: Level;
  user_id?: string;
  session_id?: string;
  /** ISO 8601: when it happened at Auth0. */
  date: string;
  /** ISO 8601: when the ingest Lambda accepted it. */
  received_at: string;
  /** The original Auth0 log event or Action payload (trimmed when too large for SNS, see `truncated`). */
  data: Record<string, unknown>;
  /** Present and true when `data` was trimmed to fit SNS's 256 KB message limit. */
  truncated?: boolean;
}

/** SNS message attribute names, used by subscription filter policies. */
export const MESSAGE_ATTRIBUTES = ['tenant', 'type', 'log_type', 'level', 'source'] as const;
export type MessageAttributeName = (typeof MESSAGE_ATTRIBUTES)[number];

/** The SNS message attributes of an event (`level` is a Number so that filters can use ranges). */
export function messageAttributes(event: CanonicalEvent): Record<MessageAttributeName, { DataType: 'String' | 'Number'; StringValue: string }> {
  return {
    tenant: { DataType: 'String', StringValue: event.tenant },
    type: { DataType: 'String', StringValue: event.type },
    log_type: { DataType: 'String', StringValue: event.log_type },
    level: { DataType: 'Number', StringValue: String(event.level) },
    source: { DataType: 'String', StringValue: event.source },
  };
}
