/**
 * The local page's picture of the flow: how many events each stage has seen since the runtime
 * started, front doors -> topic -> subscribers -> stored -> pushed (GET /local/state, field `flow`).
 *
 *   doors        events each front door accepted (put on the topic before it answered 2xx)
 *   topic        messages on the topic (an unfiltered tap queue reads every one)
 *   subscribers  per subscriber: SQS messages its handler finished (delivered), each once: a message
 *                received again after its visibility timeout ran out is not a new delivery (same SQS
 *                message id), a duplicate publish is; and attempts that failed (failed)
 *   stored       per table: `events` new items (INSERTs on the events table's stream, so a duplicate id
 *                counts once), `users` messages the users writer finished (a write; an older update is
 *                a no-op write and still counts)
 *   pushed       `event` messages the WebSocket gateway sent to listeners (live and catch-up)
 *
 * Wiring a front door takes one call in local/pipeline.ts, see LocalPipeline.frontDoorAccepted and
 * LocalPipeline.countedDoor.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';

export interface FlowCounts {
  doors: Record<string, number>;
  topic: number;
  subscribers: Record<string, { delivered: number; failed: number }>;
  stored: Record<string, number>;
  pushed: number;
}

/** Message ids remembered per subscriber: redeliveries come within visibility timeouts (seconds), not 10,000 messages later. */
const MAX_REMEMBERED = 10_000;

export class FlowCounter {
  private readonly counts: FlowCounts;
  /** Per subscriber, the SQS message ids already counted as delivered (the most recent MAX_REMEMBERED). */
  private readonly done = new Map<string, Set<string>>();

  /** `stores`: the tables shown with 0 until their first write. */
  constructor(opts: { stores?: readonly string[] } = {}) {
    this.counts = { doors: {}, topic: 0, subscribers: {}, stored: Object.fromEntries((opts.stores ?? []).map((s) => [s, 0])), pushed: 0 };
  }

  /** Declares a door (shown with 0 until it accepts an event). */
  declareDoor(door: string): void {
    this.counts.doors[door] ??= 0;
  }

  /** Declares a subscriber (shown with 0 until it is delivered to). */
  declareSubscriber(subscriber: string): void {
    this.counts.subscribers[subscriber] ??= { delivered: 0, failed: 0 };
  }

  door(door: string, n: number): void {
    this.counts.doors[door] = (this.counts.doors[door] ?? 0) + n;
  }

  topic(n = 1): void {
    this.counts.topic += n;
  }

  /** Counts a batch's outcome; returns how many messages were delivered for the first time. */
  delivered(subscriber: string, records: readonly { messageId: string; ok: boolean }[]): number {
    const s = (this.counts.subscribers[subscriber] ??= { delivered: 0, failed: 0 });
    let seen = this.done.get(subscriber);
    if (!seen) this.done.set(subscriber, (seen = new Set()));
    let fresh = 0;
    for (const r of records) {
      if (!r.ok) s.failed++;
      else if (!seen.has(r.messageId)) {
        seen.add(r.messageId);
        if (seen.size > MAX_REMEMBERED) seen.delete(seen.values().next().value!);
        fresh++;
      }
    }
    s.delivered += fresh;
    return fresh;
  }

  stored(table: string, n: number): void {
    this.counts.stored[table] = (this.counts.stored[table] ?? 0) + n;
  }

  pushed(n = 1): void {
    this.counts.pushed += n;
  }

  /** A copy: the caller may keep or change it. */
  snapshot(): FlowCounts {
    return structuredClone(this.counts);
  }
}

/**
 * What an ingest-shaped answer says was accepted: nothing unless 2xx; then the Log Stream's
 * `{"published":N}` (N events), or `{"id":"..."}` (one event, its id).
 */
export function acceptedBy(result: APIGatewayProxyResult | undefined): { count: number; ids: string[] } {
  if (!result || result.statusCode < 200 || result.statusCode >= 300) return { count: 0, ids: [] };
  let body: unknown;
  try {
    body = JSON.parse(result.body ?? '');
  } catch {
    return { count: 0, ids: [] };
  }
  const b = (body ?? {}) as { published?: unknown; id?: unknown };
  if (typeof b.published === 'number' && Number.isInteger(b.published) && b.published >= 0) return { count: b.published, ids: [] };
  if (typeof b.id === 'string' && b.id) return { count: 1, ids: [b.id] };
  return { count: 0, ids: [] };
}
