/**
 * The push Lambda, on the events table's stream (INSERT records only, filtered at the event source).
 * For the new session events of a stream batch: the tenant's `*` listeners and the `self` listeners
 * whose sub is the event's user_id (index by-listener, each partition read once per batch). The first
 * page of every partition is read before the first send (a page holds up to 1 MB: thousands of
 * listeners, so almost every partition ends there, and a failed read retries the record without having
 * sent it to anyone); a larger partition's later pages are read one page ahead while the pool sends
 * (a failure there retries the record, and the listeners read before it may get it twice: the
 * contract's at-least-once, clients drop duplicates by id). Each listener gets its events of the batch in order in one frame: {"type":"event","event":{...}}
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
import { partitionPagesAhead } from '../shared/dynamodb';
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

/**
 * One partition of the by-listener index that a batch reaches (the tenant's `*` listeners, or one
 * user's `self` listeners): its listeners may see `events` (indexes into the batch, in order). Each
 * connection is in one partition only, so a listener's events of the batch are its partition's.
 */
interface Partition {
  filter: ListenFilter;
  events: number[];
  /** Its pages, each read as soon as the one before arrived (queryPagesAhead). */
  pages: AsyncGenerator<Listener[]>;
  /** The first page's read, started with every other partition's at once. */
  first: Promise<IteratorResult<Listener[]>>;
}

/** The partitions the events reach, in the order of their first event; every first page's read starts at once. */
function partitionsOf(events: StoredEvent[], deps: PushDeps): Partition[] {
  const byKey = new Map<string, Partition>();
  const reach = (key: string, filter: ListenFilter, i: number) => {
    let p = byKey.get(key);
    if (!p) {
      const pages = partitionPagesAhead<Listener>(deps.ddb, deps.connectionsTable, CONNECTIONS_TABLE.byListenerIndex, key, deps.listenerPageSize);
      const first = pages.next();
      first.catch(() => undefined); // awaited in readFirstPages; settled there before anything else is done
      byKey.set(key, (p = { filter, events: [], pages, first }));
    }
    p.events.push(i);
  };
  events.forEach((e, i) => {
    reach(listenKeyOf(e.tenant, '*', ''), '*', i);
    if (e.user_id) reach(listenKeyOf(e.tenant, 'self', e.user_id), 'self', i);
  });
  return [...byKey.values()];
}

/** A partition whose first page was read: its listeners so far and, when it has more pages, the rest to read. */
interface ReadPartition {
  filter: ListenFilter;
  events: number[];
  listeners: Listener[];
  pages: AsyncGenerator<Listener[]>;
  more: boolean;
}

/**
 * Every partition's first page (where almost every partition ends: a page holds up to 1 MB), all read
 * at once. `failedAt` is the first event that reaches a partition whose first page could not be read
 * (events.length when none): nothing from it on is sent, so its retry sends nothing twice.
 */
async function readFirstPages(events: StoredEvent[], deps: PushDeps): Promise<{ partitions: ReadPartition[]; failedAt: number; error?: unknown }> {
  const partitions = partitionsOf(events, deps);
  const firsts = await Promise.allSettled(partitions.map((p) => p.first));
  let failedAt = events.length;
  let error: unknown;
  const read: ReadPartition[] = [];
  partitions.forEach((p, k) => {
    const first = firsts[k];
    if (first.status === 'rejected') {
      if (p.events[0] < failedAt) [failedAt, error] = [p.events[0], first.reason];
    } else read.push({ filter: p.filter, events: p.events, listeners: first.value.value ?? [], pages: p.pages, more: !first.value.done });
  });
  // Only the events before the failure are sent: a partition keeps those, and one left with none is not read on.
  const kept: ReadPartition[] = [];
  for (const p of read) {
    p.events = p.events.filter((i) => i < failedAt);
    if (p.events.length) kept.push(p);
    else void p.pages.return(undefined);
  }
  return { partitions: kept, failedAt, error };
}

/**
 * Sends stored events (one stream batch, in order) to every listener that may see them: each listener
 * gets its events in order, in one frame ({"type":"event"} for one event, {"type":"events"} for
 * several, packed up to 32 KB a frame). Send errors are per listener. Throws when listeners cannot be
 * read: when a first page fails nothing is sent; when a later page of a large partition fails, the
 * listeners read before it have been sent to (the record's retry may send them the events again).
 */
export async function pushEvents(events: StoredEvent[], deps: PushDeps): Promise<PushStats> {
  const { partitions, failedAt, error } = await readFirstPages(events, deps);
  if (failedAt < events.length) throw error;
  const { stats, failure } = await deliver(events, partitions, deps);
  if (failure) throw failure.error;
  return stats;
}

/** One event: pushEvents([event]). */
export const pushEvent = (event: StoredEvent, deps: PushDeps): Promise<PushStats> => pushEvents([event], deps);

interface Recipient {
  listener: Listener;
  /** Indexes into the batch's events, in order. */
  events: number[];
}

/** A later page of a partition that could not be read: `at` is the partition's first event. */
interface PageFailure {
  at: number;
  error: unknown;
}

/**
 * The recipients of the partitions' listeners, first pages first, then the later pages of the large
 * partitions as they arrive (so the sender pool is busy while they are read). A listener skips the
 * events stored at or before its live_from, and all of them when its token has expired. A later page
 * that cannot be read ends that partition: recorded in `failures`, the others go on.
 */
async function* recipientsOf(
  events: StoredEvent[],
  partitions: ReadPartition[],
  stats: PushStats,
  now: string,
  failures: PageFailure[],
): AsyncGenerator<Recipient> {
  // A connection is in one partition (its listen_key never changes); one found again (a stale index
  // entry) is sent to once: the tenant's `*` partition comes first and holds all its events of the batch.
  const seen = new Set<string>();
  function* of(p: ReadPartition, listeners: Listener[]): Generator<Recipient> {
    for (const listener of listeners) {
      stats.listeners += p.events.length;
      if (seen.has(listener.connection_id)) continue;
      seen.add(listener.connection_id);
      listener.filter = p.filter;
      if (listener.token_expires_at && listener.token_expires_at <= now) {
        stats.skipped += p.events.length;
        continue;
      }
      const live = listener.live_from ? p.events.filter((i) => events[i].stored_at > listener.live_from!) : p.events;
      stats.skipped += p.events.length - live.length;
      if (live.length) yield { listener, events: live };
    }
  }
  for (const p of partitions) yield* of(p, p.listeners);
  for (const p of partitions) {
    if (!p.more) continue;
    try {
      for await (const page of p.pages) yield* of(p, page);
    } catch (error) {
      failures.push({ at: p.events[0], error });
    }
  }
}

/**
 * Sends the events to the partitions' listeners, at most deps.concurrency requests in flight.
 * `failure`: the earliest partition whose later page could not be read (its listeners read before it
 * were sent to; the events from its first on are to be retried).
 */
async function deliver(events: StoredEvent[], partitions: ReadPartition[], deps: PushDeps): Promise<{ stats: PushStats; failure?: PageFailure }> {
  const stats: PushStats = { listeners: 0, sent: 0, frames: 0, gone: 0, failed: 0, skipped: 0, unclosed: 0 };
  const now = deps.now().toISOString();
  const failures: PageFailure[] = [];
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
  await mapWithConcurrency(recipientsOf(events, partitions, stats, now, failures), deps.concurrency, async ({ listener, events: indexes }) => {
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
  const failure = failures.reduce<PageFailure | undefined>((a, f) => (!a || f.at < a.at ? f : a), undefined);
  return { stats, failure };
}

/**
 * Processes a stream batch: reads the first page of every listener partition its records reach, then
 * sends every record before the first whose listeners could not be read (grouped per listener; the
 * later pages of a large partition are read while the first are sent), and reports the first record
 * not fully sent as the batch item failure (Lambda retries from it: nothing from it on was sent when a
 * first page failed; when a later page failed, the listeners read before it may get it twice).
 */
export async function handlePushBatch(batch: DynamoDBStreamEvent, deps: PushDeps): Promise<DynamoDBBatchResponse> {
  // An events-table item that is not an event (a revocation window's marker, stores.ts) is never pushed.
  const inserts = batch.Records.filter((r) => r.eventName === 'INSERT' && r.dynamodb?.NewImage)
    .map((record) => ({ record, event: unmarshall(record.dynamodb!.NewImage as Record<string, AttributeValue>) as StoredEvent }))
    .filter(({ event }) => isEventItem(event as unknown as Record<string, unknown>));
  const records = inserts.map((i) => i.record);
  const events = inserts.map((i) => i.event);
  const read = await readFirstPages(events, deps);
  let { failedAt, error } = read;
  const sending = events.slice(0, failedAt);
  if (sending.length) {
    const { stats, failure } = await deliver(sending, read.partitions, deps);
    if (failure) [failedAt, error] = [failure.at, failure.error];
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
