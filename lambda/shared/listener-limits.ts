/**
 * Live listener limits (issue 19.1): at most `perSub` authenticated connections per tenant and user
 * (`sub`), and at most `perTenant` per tenant. Shared by the socket (counts a connection in on its
 * first authenticate) and by every path that removes a connection item ($disconnect, a refused
 * authenticate, the closer, the push on 410 Gone), which counts it out.
 *
 * Design: counter items in the connections table, one per (tenant, window) and per (tenant, sub,
 * window), where a window is MAX_CONNECTION_SECONDS (2 h) of the clock. A connection is counted in
 * the window of its first authenticate and counted out when its item is removed. API Gateway closes
 * every connection within 2 h of connecting, so a connection counted in window w-2 or earlier
 * cannot be open any more: the live count is the current window's counter plus the previous one's.
 * A connection that vanished without being counted out (a lost $disconnect, an item removed by TTL)
 * therefore stops counting after at most two windows, with no sweeper.
 *
 * Race safety: the first authenticate is one DynamoDB transaction that moves the connection item
 * from `pending` to `authenticated` (so two authenticates on one connection cannot both do it: only
 * the winner may replay), increments both current counters only while they stay under the limit
 * less the previous window's count, and checks that the previous counters did not grow meanwhile.
 * Either all of it happens or none.
 *
 * Cost: a first authenticate adds two strongly consistent GetItems (the previous windows, 1 read
 * unit together) and makes its one write a transaction of five items (three updates and two
 * condition checks: about 10 write units instead of 1); a refresh adds nothing; a removal is a strongly
 * consistent GetItem and a transaction of the deletion and the two decrements (about 6 write units
 * instead of 1 + 2), so that a failed decrement cannot leave a deleted connection counted. On demand,
 * about $7 per million first authenticates.
 *
 * Counter keys (`connection_id` = `limit#tenant#<window>#<tenant>` and
 * `limit#sub#<window>#<tenant>#<sha-256 of sub, base64url>`) cannot be connection ids (API Gateway's
 * have no `#`), and the items carry only `n` and `expires_at` (TTL), never `tenant`, `listen_key` or
 * `connected_at`: they stay out of both indexes, so no push, listing or closer ever sees them.
 */
import { createHash } from 'node:crypto';
import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CONNECTIONS_TABLE, MAX_CONNECTION_SECONDS, type ConnectionItem, type ListenerLimits } from './connections';

export { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from './connections';

/** The window of a counter, in seconds: a connection counted in window w is closed by the end of window w + 1. */
export const LIMIT_WINDOW_SECONDS = MAX_CONNECTION_SECONDS;

/** The counter keys of a tenant and of one of its users, for the window that holds `at`. */
export function counterKeys(tenant: string, sub: string, window: number): { tenant: string; sub: string } {
  const subHash = createHash('sha256').update(sub).digest('base64url');
  return { tenant: `limit#tenant#${window}#${tenant}`, sub: `limit#sub#${window}#${tenant}#${subHash}` };
}

export const windowOf = (at: Date): number => Math.floor(at.getTime() / 1000 / LIMIT_WINDOW_SECONDS);

export type Claim =
  | { result: 'claimed' }
  /** The connection is no longer pending (another authenticate authenticated it) or is gone. */
  | { result: 'not_pending' }
  | { result: 'limit'; limit: 'perSub' | 'perTenant'; value: number; message: string };

/** What the socket sets on the connection item when it becomes authenticated (attribute -> value). */
export type AuthenticatedAttributes = Pick<ConnectionItem, 'state' | 'sub' | 'filter' | 'token_expires_at' | 'listen_key' | 'live_from' | 'authenticated_at'>;

const TRIES = 4;

function limitMessage(limit: 'perSub' | 'perTenant', value: number, tenant: string): string {
  return limit === 'perSub'
    ? `Too many connections: at most ${value} live connections per user are allowed on tenant ${tenant} (listener limit perSub = ${value}); close another of yours and retry.`
    : `Too many connections: at most ${value} live connections per tenant are allowed on tenant ${tenant} (listener limit perTenant = ${value}); retry later or ask the operator to raise it.`;
}

async function count(ddb: DynamoDBDocumentClient, table: string, key: string): Promise<number> {
  const { Item } = await ddb.send(
    new GetCommand({ TableName: table, Key: { [CONNECTIONS_TABLE.partitionKey]: key }, ConsistentRead: true, ProjectionExpression: 'n' }),
  );
  return typeof Item?.n === 'number' ? Item.n : 0;
}

interface Cancellation {
  name?: string;
  CancellationReasons?: { Code?: string }[];
}

/**
 * Makes a pending connection authenticated and counts it in, atomically, when its user and its
 * tenant are under their limits (see the top of this file). `attributes` are set on the item.
 */
export async function claimListener(
  ddb: DynamoDBDocumentClient,
  table: string,
  args: {
    connectionId: string;
    tenant: string;
    sub: string;
    attributes: AuthenticatedAttributes;
    limits: ListenerLimits;
    now: Date;
  },
): Promise<Claim> {
  const { connectionId, tenant, sub, limits } = args;
  const window = windowOf(args.now);
  const current = counterKeys(tenant, sub, window);
  const previous = counterKeys(tenant, sub, window - 1);
  // A counter item is useless once its window and the next are over: DynamoDB TTL removes it.
  const ttl = (window + 3) * LIMIT_WINDOW_SECONDS;
  for (let attempt = 1; ; attempt++) {
    const [prevSub, prevTenant] = await Promise.all([count(ddb, table, previous.sub), count(ddb, table, previous.tenant)]);
    const subRoom = limits.perSub - prevSub;
    const tenantRoom = limits.perTenant - prevTenant;
    const full = subRoom <= 0 ? 'perSub' : tenantRoom <= 0 ? 'perTenant' : undefined;
    if (full) {
      // Full already: refuse, unless another authenticate of this connection got in first (then this one is a refresh).
      const { Item } = await ddb.send(new GetCommand({ TableName: table, Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId }, ConsistentRead: true }));
      if (Item?.state !== 'pending') return { result: 'not_pending' };
      return { result: 'limit', limit: full, value: limits[full], message: limitMessage(full, limits[full], tenant) };
    }
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':window': window };
    const sets = Object.entries(args.attributes).map(([k, v], i) => {
      names[`#a${i}`] = k;
      values[`:a${i}`] = v;
      return `#a${i} = :a${i}`;
    });
    const increment = (key: string, room: number) => ({
      Update: {
        TableName: table,
        Key: { [CONNECTIONS_TABLE.partitionKey]: key },
        UpdateExpression: 'ADD #n :one SET #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(#n) OR #n < :room',
        ExpressionAttributeNames: { '#n': 'n', '#ttl': CONNECTIONS_TABLE.ttlAttribute },
        ExpressionAttributeValues: { ':one': 1, ':ttl': ttl, ':room': room },
      },
    });
    const unchanged = (key: string, seen: number) => ({
      ConditionCheck: {
        TableName: table,
        Key: { [CONNECTIONS_TABLE.partitionKey]: key },
        ConditionExpression: 'attribute_not_exists(#n) OR #n <= :seen',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':seen': seen },
      },
    });
    try {
      await ddb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId },
                ConditionExpression: 'attribute_exists(#id) AND #state = :pending',
                UpdateExpression: `SET ${sets.join(', ')}, #window = :window`,
                ExpressionAttributeNames: { ...names, '#id': CONNECTIONS_TABLE.partitionKey, '#state': 'state', '#window': 'limit_window' },
                ExpressionAttributeValues: { ...values, ':pending': 'pending' },
              },
            },
            increment(current.sub, subRoom),
            increment(current.tenant, tenantRoom),
            unchanged(previous.sub, prevSub),
            unchanged(previous.tenant, prevTenant),
          ],
        }),
      );
      return { result: 'claimed' };
    } catch (e) {
      const err = e as Cancellation;
      if (err.name !== 'TransactionCanceledException' && err.name !== 'TransactionConflictException') throw e;
      const codes = (err.CancellationReasons ?? []).map((r) => r.Code);
      const failed = (i: number) => codes[i] === 'ConditionalCheckFailed';
      if (failed(0)) return { result: 'not_pending' };
      // A previous window grew (a clock at the window's edge) or a concurrent transaction: read again.
      const retry = failed(3) || failed(4) || codes.includes('TransactionConflict') || err.name === 'TransactionConflictException' || codes.length === 0;
      if (!retry && failed(1)) return { result: 'limit', limit: 'perSub', value: limits.perSub, message: limitMessage('perSub', limits.perSub, tenant) };
      if (!retry && failed(2))
        return { result: 'limit', limit: 'perTenant', value: limits.perTenant, message: limitMessage('perTenant', limits.perTenant, tenant) };
      if (attempt >= TRIES) throw e;
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * attempt));
    }
  }
}

/**
 * Deletes a connection item and counts it out of the listener limits, in one transaction: the item's
 * deletion (only while it is still as read: counted in its window, or not counted at all) and the
 * decrement of both counters it was counted in. Either both happen or neither: a decrement that fails
 * (throttled after the SDK's retries) leaves the item there, still counted, and the call throws, so
 * the caller can try again later ($disconnect hands it to the closer: lambda/socket/connect.ts); a
 * deletion never happens without its count-out. Exactly one of two removers racing ($disconnect and the
 * closer, or the push on 410) succeeds, so a connection is counted out once. A counter at zero or
 * already removed by TTL (its window long over) is left alone. Returns whether the item was there.
 */
export async function removeConnection(ddb: DynamoDBDocumentClient, table: string, connectionId: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const { Item } = await ddb.send(new GetCommand({ TableName: table, Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId }, ConsistentRead: true }));
    if (!Item) return false;
    const item = Item as Partial<ConnectionItem> & { limit_window?: number };
    const counted = typeof item.limit_window === 'number' && item.tenant && item.sub;
    const keys = counted ? counterKeys(item.tenant!, item.sub!, item.limit_window!) : undefined;
    let counters = keys ? [keys.sub, keys.tenant] : [];
    const remove = {
      Delete: {
        TableName: table,
        Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId },
        ConditionExpression: counted ? 'attribute_exists(#id) AND #window = :window' : 'attribute_exists(#id) AND attribute_not_exists(#window)',
        ExpressionAttributeNames: { '#id': CONNECTIONS_TABLE.partitionKey, '#window': 'limit_window' },
        ...(counted ? { ExpressionAttributeValues: { ':window': item.limit_window } } : {}),
      },
    };
    const decrement = (key: string) => ({
      Update: {
        TableName: table,
        Key: { [CONNECTIONS_TABLE.partitionKey]: key },
        UpdateExpression: 'ADD #n :minus',
        // Never below zero, and never re-create a counter that TTL already removed.
        ConditionExpression: '#n > :zero',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':minus': -1, ':zero': 0 },
      },
    });
    for (;;) {
      try {
        await ddb.send(new TransactWriteCommand({ TransactItems: [remove, ...counters.map(decrement)] }));
        return true;
      } catch (e) {
        const err = e as Cancellation;
        if (err.name !== 'TransactionCanceledException' && err.name !== 'TransactionConflictException') throw e;
        const codes = (err.CancellationReasons ?? []).map((r) => r.Code);
        // The item went (another remover) or changed (authenticated meanwhile: it changes once): read again,
        // a few times (an item that never matches what was read, e.g. a malformed limit_window, would loop forever).
        if (codes[0] === 'ConditionalCheckFailed') {
          if (attempt >= TRIES) throw e;
          break;
        }
        const zero = counters.filter((_, i) => codes[i + 1] === 'ConditionalCheckFailed');
        if (zero.length) {
          // Nothing to count out of a counter at zero or gone: delete with the others.
          counters = counters.filter((k) => !zero.includes(k));
          continue;
        }
        // A concurrent transaction on a counter (an authenticate of the same tenant): read again, a few times.
        if (attempt >= TRIES) throw e;
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * attempt));
  }
}
