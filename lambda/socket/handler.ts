/**
 * The WebSocket API's Lambda for $connect, $disconnect, `authenticate` and `continue_catch_up` (ping and $default are
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
 *  continue_catch_up    {"type":"continue_catch_up","after":"<last_id of catch_up_paused>"}: the next
 *                       part of this connection's paused catch-up (continue-catch-up.ts).
 *
 * One Lambda serves the three routes (one file per route beside this one): they share the connections
 * table and clients, and a listener's $connect and authenticate follow each other within a second, so
 * one warm container answers both (one cold start per new listener instead of two; requests and
 * duration cost the same either way). Its role is the union the routes need (lib/session-events-socket.ts).
 *
 * Files: deps.ts (event shapes, dependencies), connect.ts ($connect, $disconnect), authenticate.ts,
 * catch-up.ts (the replay after `since`, in parts), continue-catch-up.ts.
 */
import type { Context } from 'aws-lambda';
import { SOCKET_TIMEOUT_SECONDS } from '../shared/connections';
import { postJson } from '../shared/management';
import { UNKNOWN_MESSAGE_ERROR, type ClientMessageType } from '../shared/protocol';
import { onAuthenticate } from './authenticate';
import { onContinueCatchUp } from './continue-catch-up';
import { onConnect, onDisconnect } from './connect';
import { depsFromEnv, logger, reply, type SocketDeps, type SocketEvent, type SocketResult } from './deps';
import { lazy } from '../shared/lazy';

export type { SocketDeps, SocketEvent, SocketResult } from './deps';

export async function handleSocket(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
  switch (event.requestContext.routeKey as ClientMessageType | '$connect' | '$disconnect' | '$default') {
    case '$connect':
      return onConnect(event, deps);
    case '$disconnect':
      return onDisconnect(event, deps);
    case 'authenticate':
      return onAuthenticate(event, deps);
    case 'continue_catch_up':
      return onContinueCatchUp(event, deps);
    default:
      await postJson(deps.mgmt, event.requestContext.connectionId, UNKNOWN_MESSAGE_ERROR);
      return reply(200);
  }
}

const defaultDeps = lazy(depsFromEnv);

export const handler = async (event: SocketEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SocketResult> => {
  // A catch-up part ends within the time this invocation has left (catch-up.ts).
  const started = Date.now();
  const remainingMs = context?.getRemainingTimeInMillis ? () => context.getRemainingTimeInMillis() : () => started + SOCKET_TIMEOUT_SECONDS * 1000 - Date.now();
  try {
    return await handleSocket(event, { ...defaultDeps(), remainingMs });
  } catch (e) {
    logger.error('socket route failed', {
      route: event.requestContext.routeKey,
      connectionId: event.requestContext.connectionId,
      error: (e as Error).name,
      detail: (e as Error).message,
    });
    return reply(500, 'internal_error', 'The request could not be processed; retry.');
  }
};
