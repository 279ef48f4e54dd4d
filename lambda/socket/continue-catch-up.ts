/**
 * continue_catch_up: {"type":"continue_catch_up","after":"<last_id of the catch_up_paused message>"}.
 * Runs the next part of this connection's paused catch-up (catch-up.ts) only when one is pending on
 * this connection, `after` is exactly its position, and the listener's token has not expired. The
 * position is claimed (removed) in the same conditional write, so a repeated or concurrent message
 * cannot replay a part twice. It never starts a new replay. Otherwise
 * {"type":"error","error":"no_catch_up_pending","message"}.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTIONS_TABLE, type ConnectionItem } from '../shared/connections';
import { isConditionFailed } from '../shared/dynamodb';
import { postJson } from '../shared/management';
import { isEventId, parseBody } from './authenticate';
import { catchUpPart } from './catch-up';
import { reply, type SocketDeps, type SocketEvent, type SocketResult } from './deps';

export async function onContinueCatchUp(event: SocketEvent, deps: SocketDeps): Promise<SocketResult> {
  const connectionId = event.requestContext.connectionId;
  const after = parseBody(event)?.after;
  const refuse = async (why: string) => {
    await postJson(deps.mgmt, connectionId, {
      type: 'error',
      error: 'no_catch_up_pending',
      message: `${why} Send {"type":"continue_catch_up","after":"<last_id>"} once, with the last_id of the catch_up_paused message this connection received.`,
    });
    return reply(200);
  };
  if (!isEventId(after)) return refuse('"after" must be the last_id of a catch_up_paused message (a non-empty string).');
  let item: ConnectionItem;
  try {
    const out = await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.connectionsTable,
        Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId },
        ConditionExpression: '#cu.#after = :after AND #state = :authenticated AND #exp > :now',
        UpdateExpression: 'REMOVE #cu',
        ExpressionAttributeNames: { '#cu': 'catch_up', '#after': 'after', '#state': 'state', '#exp': 'token_expires_at' },
        ExpressionAttributeValues: { ':after': after, ':authenticated': 'authenticated', ':now': deps.now().toISOString() },
        ReturnValues: 'ALL_OLD',
      }),
    );
    item = out.Attributes as ConnectionItem;
  } catch (e) {
    if (isConditionFailed(e))
      return refuse(
        `No catch-up of this connection is paused at ${JSON.stringify(after.slice(0, 100))} (none is pending, it was continued already, or the token expired).`,
      );
    throw e;
  }
  await catchUpPart(connectionId, { tenant: item.tenant, sub: item.sub!, filter: item.filter! }, item.live_from!, item.catch_up!, deps);
  return reply(200);
}
