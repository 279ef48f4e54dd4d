/**
 * The canonical event: what every accepted Auth0 input becomes on the SNS topic
 * (the contract in docs/contract.md, "Events"). Shared by the ingest Lambda, every
 * subscriber, the push Lambda and the local runtime.
 */

/**
 * Event types derived from Auth0 log codes, Action triggers and Auth0 Event Streams (CloudEvents,
 * lambda/ingest/cloud-event.ts); every other code or CloudEvent type is `log`.
 */
export const EVENT_TYPES = [
  'user_registered',
  'user_updated',
  'password_changed',
  'user_blocked',
  'user_unblocked',
  'logout',
  'user_deleted',
  'refresh_token_revoked',
  'login_succeeded',
  'login_failed',
  // Auth0's brute-force protection (limit_wc, limit_sul, limit_mu): an IP address blocked from logging in
  // to one account or many, not the account; and its release (ublkdu, DELETE /api/v2/user-blocks/{id}).
  // Neither is a session event nor user state (test/log-types.audit.test.ts).
  'login_throttled',
  'login_unthrottled',
  // Auth0 Event Streams organization and group events, named after their CloudEvent types
  // (organization.member.added -> organization_member_added; docs/auth0-setup.md, "Auth0 Event Streams (webhook)").
  'organization_created',
  'organization_updated',
  'organization_deleted',
  'organization_member_added',
  'organization_member_deleted',
  'organization_member_role_assigned',
  'organization_member_role_deleted',
  'organization_connection_added',
  'organization_connection_updated',
  'organization_connection_removed',
  'organization_group_role_assigned',
  'organization_group_role_deleted',
  'group_created',
  'group_updated',
  'group_deleted',
  'group_member_added',
  'group_member_deleted',
  'group_role_assigned',
  'group_role_deleted',
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
export const USER_EVENT_TYPES: readonly EventType[] = ['user_registered', 'user_updated', 'user_blocked', 'user_unblocked', 'user_deleted', 'password_changed'];

export const isSessionEventType = (type: string): boolean => (SESSION_EVENT_TYPES as readonly string[]).includes(type);

/** The front door an event came in by: a Log Stream record, an Action call, or an Event Streams CloudEvent. */
export type EventSource = 'log-stream' | 'action' | 'event-stream';

/** Severity of a log code, as in Auth0's authentication-API webhooks: 0 debug .. 4 critical. */
export type Level = 0 | 1 | 2 | 3 | 4;

/**
 * A type or source this package does not know yet: a newer pipeline may add types and doors, and a
 * subscriber on an older package still receives those events as they came (a tolerant reader,
 * issue 18 item 3). `(string & {})` keeps editor completion for the known names.
 */
export type UnknownName = string & {};

export interface CanonicalEvent {
  /** Auth0 `log_id`, a stable hash for Action calls, or `ce_<CloudEvent id>`: the de-duplication key downstream. */
  id: string;
  tenant: string;
  /** One of EVENT_TYPES, or a type added by a newer pipeline (handle what you know, acknowledge the rest). */
  type: EventType | UnknownName;
  /** One of EVENT_SOURCES, or a front door added by a newer pipeline. */
  source: EventSource | UnknownName;
  /** The Auth0 log type code (`sapi`, `scp`, ...); for Actions, the code of the equivalent log; for Event Streams, the CloudEvent type (`user.created`). */
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
