/**
 * A later `authenticate` on an authenticated connection (issue 19.1): a token refresh, never a
 * second replay. A connection's identity (tenant, sub, filter) is fixed by its first authenticate:
 *   - a valid token of the same sub with the same filter moves the token expiry (token_expires_at,
 *     the expiry close check) and nothing else: `since` and `seen` are ignored, the seam and the
 *     listener key stay;
 *   - another sub: refused (the connection is closed), it belongs to its first user;
 *   - a refresh that comes after the connection's token expired: refused too. From its expiry the
 *     push skipped the connection (lambda/push/handler.ts), so reviving it in place would leave those
 *     events undelivered with no word (the closer's check for the old expiry is superseded by the new
 *     one); reconnecting with `since` replays them;
 *   - the same sub with other permissions (`self` -> `*`, or `*` -> `self`): refused too. Keeping
 *     `*` on a token that now grants only `self` would outlive the permission; widening to `*` in
 *     place would start events of other users with no replay of what came before. Reconnecting
 *     (with `since`) gives the new permissions their own replay and counts them in the limits.
 * An invalid token is refused before this is reached (authenticate.ts).
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTIONS_TABLE, type ConnectionItem } from '../shared/connections';
import { isConditionFailed } from '../shared/dynamodb';
import type { VerifiedListener } from '../shared/tokens';
import type { SocketDeps } from './deps';

export type Refresh = { outcome: 'refreshed' } | { outcome: 'refused'; message: string } | { outcome: 'gone' };

export async function refreshToken(conn: ConnectionItem, listener: VerifiedListener, deps: SocketDeps): Promise<Refresh> {
  if (listener.sub !== conn.sub) {
    return {
      outcome: 'refused',
      message:
        'This connection is authenticated as another user: a later authenticate may only refresh the token of the same user (sub). Open a new connection to listen as another user.',
    };
  }
  if (listener.filter !== conn.filter) {
    return {
      outcome: 'refused',
      message: `The token's permissions give filter "${listener.filter}" but this connection listens with "${conn.filter}": permissions do not change on an open connection. Reconnect with the new token (send "since" to resume).`,
    };
  }
  const now = deps.now().toISOString();
  const expired = (): Refresh => ({
    outcome: 'refused',
    message: `The token of this connection expired at ${conn.token_expires_at}, before this refresh: events since then were not delivered on it. Reconnect and authenticate with the new token and "since" (the last event you received) to get them.`,
  });
  if (conn.token_expires_at && conn.token_expires_at <= now) return expired();
  try {
    await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.connectionsTable,
        Key: { [CONNECTIONS_TABLE.partitionKey]: conn.connection_id },
        ConditionExpression: '#state = :authenticated AND #sub = :sub AND #filter = :filter AND #exp > :now',
        UpdateExpression: 'SET #exp = :exp, #at = :at',
        ExpressionAttributeNames: { '#state': 'state', '#sub': 'sub', '#filter': 'filter', '#exp': 'token_expires_at', '#at': 'refreshed_at' },
        ExpressionAttributeValues: {
          ':authenticated': 'authenticated',
          ':sub': listener.sub,
          ':filter': listener.filter,
          ':exp': listener.expiresAt.toISOString(),
          ':at': now,
          ':now': now,
        },
      }),
    );
  } catch (e) {
    // Disconnected meanwhile (sub and filter never change), or its token expired since it was read.
    if (isConditionFailed(e)) return conn.token_expires_at && conn.token_expires_at <= deps.now().toISOString() ? expired() : { outcome: 'gone' };
    throw e;
  }
  return { outcome: 'refreshed' };
}
