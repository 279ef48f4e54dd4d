/**
 * The push Lambda, on the events table's stream (INSERT records only, filtered at the event source).
 * For each new session event: the tenant's `*` listeners and the `self` listeners whose sub is the
 * event's user_id (index by-listener, paginated, all read before the first send, so a failed read
 * retries the record without having sent it to anyone), sent {"type":"event","event":{...}} with at
 * most POST_CONCURRENCY requests in flight.
 *   - A listener is skipped when the event was stored at or before its `live_from` (catch-up sends
 *     those, see lambda/socket/catch-up.ts) or when its token has expired (the closer closes it).
 *   - 410 GoneException: that connection's item is deleted (conditionally on that id, nothing else).
 *   - Requests go through a lean SigV4 sender (signed-poster.ts: ~0.1 ms CPU per request instead of
 *     the SDK's ~0.8 ms), with as many keep-alive sockets as the concurrency.
 *   - Any other send error is retried (429, 5xx, network: 3 attempts), then counted (EMF metric
 *     PushSendFailed, alarmed) and the listener is told `closing` / `missed_events` and closed, so that
 *     it resumes with `since` (missed.ts): one bad listener never makes the whole fan-out repeat for
 *     everyone, and none misses an event silently.
 *   - A failure to read listeners fails the record: the handler reports it as the batch item
 *     failure, so Lambda retries from that record (bisecting, bounded retries, then the on-failure
 *     destination).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { partitionItems } from '../shared/dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mapWithConcurrency } from '../shared/concurrency';
import { CONNECTIONS_TABLE, listenKeyOf } from '../shared/connections';
import { removeConnection } from '../shared/listener-limits';
import { createLogger } from '../shared/logger';
import { isEventItem, pushedEvent, type StoredEvent } from '../shared/stores';
import { closeConnection, encodeMessage, managementClient } from '../shared/management';
import { emf, METRIC_PUSH_SEND_FAILED } from '../shared/metrics';
import { closeMissed, type MissedListener } from './missed';
import { signedPoster, type Post } from '../shared/signed-poster';

const logger = createLogger('auth0-events-push');

export const DEFAULT_POST_CONCURRENCY = 50;

export interface PushDeps {
  ddb: DynamoDBDocumentClient;
  /** Sends bytes to one connection (signed-poster.ts in AWS). */
  post: Post;
  /** Closes one connection (DeleteConnection). */
  close: (connectionId: string) => Promise<void>;
  connectionsTable: string;
  /** The events table: the event before a missed one is where its listener resumes. */
  eventsTable: string;
  concurrency: number;
  now: () => Date;
}

export interface PushStats {
  listeners: number;
  sent: number;
  gone: number;
  failed: number;
  skipped: number;
  /** Listeners that missed the event and could not be closed. */
  unclosed: number;
}

interface Listener {
  connection_id: string;
  live_from?: string;
  token_expires_at?: string;
}

/** Every listener of one partition of the by-listener index, page by page. */
function listenersOf(deps: PushDeps, listenKey: string): AsyncGenerator<Listener> {
  return partitionItems<Listener>(deps.ddb, deps.connectionsTable, CONNECTIONS_TABLE.byListenerIndex, listenKey);
}

/** The listeners who may see `event`: the tenant's `*` listeners, then the user's `self` listeners. */
export async function* listenersFor(deps: PushDeps, event: Pick<StoredEvent, 'tenant' | 'user_id'>): AsyncGenerator<Listener & MissedListener> {
  for await (const l of listenersOf(deps, listenKeyOf(event.tenant, '*', ''))) yield { ...l, filter: '*' };
  if (event.user_id) for await (const l of listenersOf(deps, listenKeyOf(event.tenant, 'self', event.user_id))) yield { ...l, filter: 'self' };
}

/**
 * Sends one stored event to every listener that may see it. The listeners are read in full before
 * the first send: a read that fails (and makes Lambda retry the record) then fails before anyone got
 * the event, so a retry never sends it twice to the same listener. Send errors are per listener.
 */
export async function pushEvent(event: StoredEvent, deps: PushDeps): Promise<PushStats> {
  const stats: PushStats = { listeners: 0, sent: 0, gone: 0, failed: 0, skipped: 0, unclosed: 0 };
  const message = encodeMessage({ type: 'event', event: pushedEvent(event) });
  const listeners: (Listener & MissedListener)[] = [];
  const missed: MissedListener[] = [];
  for await (const listener of listenersFor(deps, event)) listeners.push(listener);
  const now = deps.now().toISOString();
  await mapWithConcurrency(listeners, deps.concurrency, async (listener) => {
    stats.listeners++;
    if ((listener.live_from && event.stored_at <= listener.live_from) || (listener.token_expires_at && listener.token_expires_at <= now)) {
      stats.skipped++;
      return;
    }
    try {
      if ((await deps.post(listener.connection_id, message)) === 'sent') {
        stats.sent++;
        return;
      }
      stats.gone++;
      // Gone: forget exactly that connection (and count it out of the listener limits).
      await removeConnection(deps.ddb, deps.connectionsTable, listener.connection_id);
    } catch (e) {
      stats.failed++;
      missed.push(listener);
      logger.warn('send failed: the listener is closed so that it resumes', { event_id: event.id, connectionId: listener.connection_id, error: (e as Error).name, detail: (e as Error).message });
    }
  });
  if (missed.length) {
    stats.unclosed = await closeMissed(event, missed, deps, logger);
    logger.warn('listeners missed an event', { event_id: event.id, failed: stats.failed, unclosed: stats.unclosed, ...emf({ [METRIC_PUSH_SEND_FAILED]: stats.failed }, { tenant: event.tenant }, [['tenant'], []]) });
  }
  return stats;
}

/** Processes a stream batch in order; the first record that fails (and the rest) are retried. */
export async function handlePushBatch(batch: DynamoDBStreamEvent, deps: PushDeps): Promise<DynamoDBBatchResponse> {
  for (const record of batch.Records) {
    if (record.eventName !== 'INSERT' || !record.dynamodb?.NewImage) continue;
    const event = unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>) as StoredEvent;
    // An events-table item that is not an event (a revocation window's marker, stores.ts) is never pushed.
    if (!isEventItem(event as unknown as Record<string, unknown>)) continue;
    try {
      const stats = await pushEvent(event, deps);
      logger.info('event pushed', { event_id: event.id, tenant: event.tenant, type: event.type, ...stats });
    } catch (e) {
      logger.error('push failed', { event_id: event.id, error: (e as Error).name, detail: (e as Error).message });
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb.SequenceNumber ?? '' }] };
    }
  }
  return { batchItemFailures: [] };
}

let deps: PushDeps | undefined;
export const handler = async (batch: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  if (!deps) {
    const concurrency = Number(process.env.POST_CONCURRENCY ?? DEFAULT_POST_CONCURRENCY);
    const endpoint = process.env.WS_ENDPOINT;
    const table = process.env.CONNECTIONS_TABLE;
    const eventsTable = process.env.EVENTS_TABLE;
    if (!endpoint || !table || !eventsTable) throw new Error('WS_ENDPOINT, CONNECTIONS_TABLE and EVENTS_TABLE must be set');
    const mgmt = managementClient(endpoint);
    deps = {
      ddb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      post: signedPoster({ endpoint, region: process.env.AWS_REGION ?? '', maxSockets: concurrency }),
      close: (id) => closeConnection(mgmt, id),
      connectionsTable: table,
      eventsTable,
      concurrency,
      now: () => new Date(),
    };
  }
  return handlePushBatch(batch, deps);
};
