/**
 * The WebSocket protocol, typed once (docs/contract.md, "WebSocket"): every message a client sends
 * (`ClientMessage`) and every message the server sends (`ServerMessage`), as discriminated unions on
 * `type`, and the session event they carry (`SessionEvent`, also what GET /{tenant}/events lists).
 * The socket and push handlers, the closer, the local runtime and the client SDK (client/) use these
 * types; docs/schema/websocket.schema.json is the same protocol as a JSON Schema, and
 * test/protocol-contract.test.ts keeps the types, the schema and the contract's table in step.
 *
 * Browser-safe: a type-only import of ./event and constants only, so the client's bundle does not grow
 * (it imports the types only).
 */
import type { SessionEventType } from './event';

/** A session event as the WebSocket pushes it (and as the events table's REST listing answers it). */
export interface SessionEvent {
  id: string;
  type: SessionEventType;
  tenant: string;
  user_id?: string;
  session_id?: string;
  /** ISO 8601: when it happened at Auth0. */
  date: string;
  /** The Auth0 log type code (`slo`, `sapi`, ...), or the CloudEvent type for Event Streams. */
  log_type: string;
}

// ---- client -> server (API Gateway routes on `$request.body.type`)

/** Authenticates the connection, or refreshes its token (same `sub` and filter: no replay). */
export interface AuthenticateMessage {
  type: 'authenticate';
  access_token: string;
  /** Replay the stored events after this event id (first `authenticate` of a connection only). */
  since?: string;
  /** Ids received recently (at most 1,000): the replay starts 10 s before `since` and skips them. */
  seen?: string[];
}
/** The next part of a paused catch-up: `after` is the `last_id` of the `catch_up_paused` message. */
export interface ContinueCatchUpMessage {
  type: 'continue_catch_up';
  after: string;
}
/** Keep-alive, answered by API Gateway itself with `pong`. */
export interface PingMessage {
  type: 'ping';
}
export type ClientMessage = AuthenticateMessage | ContinueCatchUpMessage | PingMessage;

/** Every client message type (the WebSocket API's routes besides `$connect`, `$disconnect`, `$default`). */
export const CLIENT_MESSAGE_TYPES = ['authenticate', 'continue_catch_up', 'ping'] as const satisfies readonly ClientMessage['type'][];
export type ClientMessageType = (typeof CLIENT_MESSAGE_TYPES)[number];

// ---- server -> client

/** What a listener sees: `*` every session event of the tenant, `self` only events whose `user_id` is its `sub`. */
export const LISTENER_FILTERS = ['*', 'self'] as const;
export type ListenFilter = (typeof LISTENER_FILTERS)[number];
export const CATCH_UP_PAUSE_REASONS = ['time_budget', 'size_cap'] as const;
export const CLOSING_REASONS = ['not_authenticated', 'token_expired', 'missed_events'] as const;
export const ERROR_CODES = ['unknown_message', 'unknown_since', 'no_catch_up_pending'] as const;

export interface AuthenticatedMessage {
  type: 'authenticated';
  sub: string;
  filter: ListenFilter;
  /** ISO 8601: when the token (and so the connection, unless refreshed) expires. */
  expires_at: string;
}
/** Then the connection is closed. `message` says what was wrong (an invalid token, a listener limit). */
export interface AuthenticationFailedMessage {
  type: 'authentication_failed';
  message: string;
}
/** One event; `replay: true` in a catch-up. */
export interface EventMessage {
  type: 'event';
  event: SessionEvent;
  replay?: true;
}
/** Many events in one message (at most 32 KB of UTF-8 JSON): same meaning as that many `event` messages. */
export interface EventsMessage {
  type: 'events';
  events: SessionEvent[];
  replay?: true;
}
/** A part of the catch-up ended: answer `continue_catch_up` with `last_id`. */
export interface CatchUpPausedMessage {
  type: 'catch_up_paused';
  /** Events sent so far, all parts. */
  count: number;
  /** The last event sent, else `since`. */
  last_id: string;
  reason: (typeof CATCH_UP_PAUSE_REASONS)[number];
}
/** The end of a catch-up (always sent when `authenticate` had `since`). */
export interface CaughtUpMessage {
  type: 'caught_up';
  count: number;
  last_id?: string;
}
/** API Gateway's answer to `ping`. */
export interface PongMessage {
  type: 'pong';
}
/** Then the connection is closed; with `missed_events`, resume from `resume_from` (when given). */
export interface ClosingMessage {
  type: 'closing';
  reason: (typeof CLOSING_REASONS)[number];
  message: string;
  resume_from?: string;
}
export interface ErrorMessage {
  type: 'error';
  error: (typeof ERROR_CODES)[number];
  message: string;
}
/** The answer to a message of no known type (API Gateway's `$default` mock route; the local runtime answers the same). */
export const UNKNOWN_MESSAGE_ERROR: ErrorMessage = {
  type: 'error',
  error: 'unknown_message',
  message:
    'Unknown message type. Known types: {"type":"authenticate","access_token":"<Auth0 access token>","since":"<event id, optional>"}, {"type":"continue_catch_up","after":"<last_id of catch_up_paused>"} and {"type":"ping"}.',
};
export type ServerMessage =
  | AuthenticatedMessage
  | AuthenticationFailedMessage
  | EventMessage
  | EventsMessage
  | CatchUpPausedMessage
  | CaughtUpMessage
  | PongMessage
  | ClosingMessage
  | ErrorMessage;

/** Every server message type. */
export const SERVER_MESSAGE_TYPES = [
  'authenticated',
  'authentication_failed',
  'event',
  'events',
  'catch_up_paused',
  'caught_up',
  'pong',
  'closing',
  'error',
] as const satisfies readonly ServerMessage['type'][];
export type ServerMessageType = (typeof SERVER_MESSAGE_TYPES)[number];

// Both lists name every member of their union (a type added to a union and not to its list fails to compile).
type Missing<All, Listed> = Exclude<All, Listed>;
const clientTypesComplete: Missing<ClientMessage['type'], ClientMessageType> extends never ? true : false = true;
const serverTypesComplete: Missing<ServerMessage['type'], ServerMessageType> extends never ? true : false = true;
void clientTypesComplete;
void serverTypesComplete;
