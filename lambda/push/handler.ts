/**
 * The push Lambda, on the events table's stream (INSERT records only, filtered at the event source).
 * For the new session events of a stream batch: the tenant's `*` listeners and the `self` listeners
 * whose sub is the event's user_id (index by-listener, paginated, each partition read once per batch,
 * all read before the first send, so a failed read retries the record without having sent it to
 * anyone). Each listener gets its events of the batch in order in one frame: {"type":"event","event":{...}}
 * for one, {"type":"events","events":[...]} for several (packed up to 32 KB, lambda/shared/frames.ts),
 * with at most POST_CONCURRENCY requests in flight.
 *   - A listener is skipped when the event was stored at or before its `live_from` (catch-up sends
 *     those, see lambda/socket/catch-up.ts) or when its token has expired (the closer closes it).
 *   - 410 GoneException: that connection's item is deleted (conditionally on that id, nothing else).
 *   - Requests go through a lean SigV4 sender (signed-poster.ts, on undici: ~0.07 ms CPU per request
 *     instead of the SDK's ~0.8 ms), with as many keep-alive connections as the concurrency.
 *   - Any other send error is retried (429, 5xx, network: 3 attempts), then counted (EMF metric
 *     PushSendFailed, alarmed) and the listener is told `closing` / `missed_events` and closed, so that
 *     it resumes with `since` (missed.ts): one bad listener never makes the whole fan-out repeat for
 *     everyone, and none misses an event silently.
 *   - A failure to read listeners fails the record: the records before it are sent, and the handler
 *     reports it as the batch item failure, so Lambda retries from that record (bisecting, bounded
 *     retries, then the on-failure destination).
 *
 * Files: deps.ts (the dependencies and how they are built), missed.ts (closing a listener that missed an event).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { partitionItems } from '../shared/dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mapWithConcurrency } from '../shared/concurrency';
import { CONNECTIONS_TABLE, listenKeyOf, type ListenFilter } from '../shared/connections';
import { packFrames } from '../shared/frames';
import { removeConnection } from '../shared/listener-limits';
import { createLogger } from '../shared/logger';
import { isEventItem, pushedEvent, type StoredEvent } from '../shared/stores';
import { encodeMessage } from '../shared/management';
import { emf, METRIC_PUSH_SEND_FAILED } from '../shared/metrics';
import { closeMissed, type MissedListener } from './missed';
import { depsFromEnv, type PushDeps } from './deps';
import { lazy } from '../shared/lazy';

const logger = createLogger('auth0-events-push');
const encoder = new TextEncoder();

export { DEFAULT_POST_CONCURRENCY, type PushDeps } from './deps';

export interface PushStats {
  /** Listener-event pairs considered (a listener counts once for each event it may see). */
  listeners: number;
  /** Events delivered (listener-event pairs). */
  sent: number;
  /** Messages (frames) posted: one per listener and batch, or more when its events pass 32 KB. */
  frames: number;
  /** Listeners found gone (410): their items are deleted. */
  gone: number;
  /** Listeners a send failed to (they are closed and told where to resume). */
  failed: number;
  /** Listener-event pairs skipped (at or before live_from, or the token expired). */
  skipped: number;
  /** Listeners that missed an event and could not be closed. */
  unclosed: number;
}

interface Listener extends MissedListener {
  live_from?: string;
  token_expires_at?: string;
}

/** Every listener of one partition of the by-listener index, page by page. */
async function listenersOf(deps: PushDeps, listenKey: string, filter: ListenFilter): Promise<Listener[]> {
  const out: Listener[] = [];
  for await (const l of partitionItems<Listener>(deps.ddb, deps.connectionsTable, CONNECTIONS_TABLE.byListenerIndex, listenKey)) {
    l.filter = filter;
    out.push(l);
  }
  return out;
}

/**
 * The listeners who may see each event, in order: the tenant's `*` listeners, then the user's `self`
 * listeners, each partition read once per batch. Stops at the first event whose listeners cannot be
 * read: `failedAt` is its index (events.length when every read succeeded).
 */
async function listenersOfEvents(events: StoredEvent[], deps: PushDeps): Promise<{ lists: Listener[][]; failedAt: number; error?: unknown }> {
  const partitions = new Map<string, Promise<Listener[]>>();
  const partition = (key: string, filter: ListenFilter) => {
    let p = partitions.get(key);
    if (!p) partitions.set(key, (p = listenersOf(deps, key, filter)));
    return p;
  };
  // Every partition's read starts at once (at most two per event); they are awaited in event order, so
  // the first event whose listeners cannot be read is the failure point whatever order the reads end in.
  const reads = events.map((e) => {
    const all = partition(listenKeyOf(e.tenant, '*', ''), '*');
    const own = e.user_id ? partition(listenKeyOf(e.tenant, 'self', e.user_id), 'self') : undefined;
    return Promise.all([all, own]);
  });
  for (const r of reads) r.catch(() => undefined); // awaited below, in order; later failures are not unhandled
  const lists: Listener[][] = [];
  for (let i = 0; i < events.length; i++) {
    try {
      const [all, own] = await reads[i];
      lists.push(own ? all.concat(own) : all);
    } catch (error) {
      return { lists, failedAt: i, error };
    }
  }
  return { lists, failedAt: events.length };
}

/**
 * Sends stored events (one stream batch, in order) to every listener that may see them: each listener
 * gets its events in order, in one frame ({"type":"event"} for one event, {"type":"events"} for
 * several, packed up to 32 KB a frame). Every listener is read before the first send, so a retried
 * batch never sends an event twice to one listener. Send errors are per listener. Throws when
 * listeners cannot be read (nothing is sent then); handlePushBatch sends what comes before.
 */
export async function pushEvents(events: StoredEvent[], deps: PushDeps): Promise<PushStats> {
  const { lists, failedAt, error } = await listenersOfEvents(events, deps);
  if (failedAt < events.length) throw error;
  return deliver(events, lists, deps);
}

/** One event: pushEvents([event]). */
export const pushEvent = (event: StoredEvent, deps: PushDeps): Promise<PushStats> => pushEvents([event], deps);

interface Recipient {
  listener: Listener;
  /** Indexes into the batch's events, in order. */
  events: number[];
}

async function deliver(events: StoredEvent[], lists: Listener[][], deps: PushDeps): Promise<PushStats> {
  const stats: PushStats = { listeners: 0, sent: 0, frames: 0, gone: 0, failed: 0, skipped: 0, unclosed: 0 };
  const now = deps.now().toISOString();
  const recipients = new Map<string, Recipient>();
  for (let i = 0; i < lists.length; i++) {
    const event = events[i];
    for (const listener of lists[i]) {
      stats.listeners++;
      if ((listener.live_from && event.stored_at <= listener.live_from) || (listener.token_expires_at && listener.token_expires_at <= now)) {
        stats.skipped++;
        continue;
      }
      const r = recipients.get(listener.connection_id);
      if (!r) recipients.set(listener.connection_id, { listener, events: [i] });
      else if (r.events[r.events.length - 1] !== i) r.events.push(i);
    }
  }
  // Encoded once per distinct list of events (one event, many listeners: one buffer, one payload hash).
  const pushed = events.map(pushedEvent);
  const encoded = new Map<string, { data: Uint8Array; first: number; count: number }[]>();
  const framesOf = (indexes: number[]) => {
    const key = indexes.join(',');
    let frames = encoded.get(key);
    if (!frames) {
      if (indexes.length === 1) frames = [{ data: encodeMessage({ type: 'event', event: pushed[indexes[0]] }), first: indexes[0], count: 1 }];
      else {
        let at = 0;
        frames = packFrames(indexes.map((i) => pushed[i])).map((json) => {
          const count = (JSON.parse(json) as { events: unknown[] }).events.length;
          const frame = { data: encoder.encode(json), first: indexes[at], count };
          at += count;
          return frame;
        });
      }
      encoded.set(key, frames);
    }
    return frames;
  };
  const missed: { listener: Listener; event: StoredEvent }[] = [];
  await mapWithConcurrency([...recipients.values()], deps.concurrency, async ({ listener, events: indexes }) => {
    let current = indexes[0];
    try {
      for (const frame of framesOf(indexes)) {
        current = frame.first;
        if ((await deps.post(listener.connection_id, frame.data)) === 'sent') {
          stats.frames++;
          stats.sent += frame.count;
          continue;
        }
        stats.gone++;
        // Gone: forget exactly that connection (and count it out of the listener limits).
        await removeConnection(deps.ddb, deps.connectionsTable, listener.connection_id);
        return;
      }
    } catch (e) {
      stats.failed++;
      missed.push({ listener, event: events[current] });
      logger.warn('send failed: the listener is closed so that it resumes', {
        event_id: events[current].id,
        connectionId: listener.connection_id,
        error: (e as Error).name,
        detail: (e as Error).message,
      });
    }
  });
  if (missed.length) {
    // Each listener resumes from the event before the earliest one it missed.
    const byEvent = new Map<StoredEvent, MissedListener[]>();
    for (const m of missed) byEvent.set(m.event, [...(byEvent.get(m.event) ?? []), m.listener]);
    for (const [event, listeners] of byEvent) stats.unclosed += await closeMissed(event, listeners, deps, logger);
    const failedByTenant = new Map<string, number>();
    for (const m of missed) failedByTenant.set(m.event.tenant, (failedByTenant.get(m.event.tenant) ?? 0) + 1);
    for (const [tenant, failed] of failedByTenant) {
      logger.warn('listeners missed an event', {
        event_ids: [...new Set(missed.filter((m) => m.event.tenant === tenant).map((m) => m.event.id))],
        failed,
        unclosed: stats.unclosed,
        ...emf({ [METRIC_PUSH_SEND_FAILED]: failed }, { tenant }, [['tenant'], []]),
      });
    }
  }
  return stats;
}

/**
 * Processes a stream batch: reads the listeners of each record in order, then sends every record
 * before the first whose listeners could not be read (grouped per listener), and reports that record
 * as the batch item failure (Lambda retries from it; nothing from it on was sent, so nothing is sent twice).
 */
export async function handlePushBatch(batch: DynamoDBStreamEvent, deps: PushDeps): Promise<DynamoDBBatchResponse> {
  // An events-table item that is not an event (a revocation window's marker, stores.ts) is never pushed.
  const inserts = batch.Records.filter((r) => r.eventName === 'INSERT' && r.dynamodb?.NewImage)
    .map((record) => ({ record, event: unmarshall(record.dynamodb!.NewImage as Record<string, AttributeValue>) as StoredEvent }))
    .filter(({ event }) => isEventItem(event as unknown as Record<string, unknown>));
  const records = inserts.map((i) => i.record);
  const events = inserts.map((i) => i.event);
  const { lists, failedAt, error } = await listenersOfEvents(events, deps);
  const sending = events.slice(0, failedAt);
  if (sending.length) {
    const stats = await deliver(sending, lists, deps);
    logger.info('events pushed', {
      events: sending.length,
      event_ids: sending.map((e) => e.id),
      tenants: [...new Set(sending.map((e) => e.tenant))],
      ...stats,
    });
  }
  if (failedAt < events.length) {
    logger.error('push failed: listeners could not be read', { event_id: events[failedAt].id, error: (error as Error).name, detail: (error as Error).message });
    return { batchItemFailures: [{ itemIdentifier: records[failedAt].dynamodb?.SequenceNumber ?? '' }] };
  }
  return { batchItemFailures: [] };
}

const defaultDeps = lazy(depsFromEnv);

export const handler = async (batch: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => handlePushBatch(batch, defaultDeps());
