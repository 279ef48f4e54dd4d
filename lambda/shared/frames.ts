/**
 * Many events in one WebSocket message (protocol: docs/realtime.md, "Frames"):
 *
 *   {"type":"events","events":[<event>, <event>, ...]}          live
 *   {"type":"events","events":[...],"replay":true}              catch-up
 *
 * Same meaning as that many {"type":"event","event":...} messages in that order. API Gateway carries a
 * WebSocket message in frames of 32 KB and bills messages in 32 KB units, so a message is packed until
 * the next event would take it past MAX_FRAME_BYTES of UTF-8 JSON. An event that alone is larger (it
 * never is: a session event is a few hundred bytes) is sent in a message of its own, still far under
 * API Gateway's 128 KB message limit.
 */
import type { EventsMessage } from './protocol';

/** Largest `events` message, in bytes of UTF-8 JSON (API Gateway's WebSocket frame size). */
export const MAX_FRAME_BYTES = 32 * 1024;

export interface PackOptions {
  /** Catch-up frames carry `"replay":true`. */
  replay?: boolean;
  /** Default MAX_FRAME_BYTES. */
  maxBytes?: number;
}

/** A packed message and the tags of the events in it (in order). */
export interface Frame<T> {
  data: string;
  /** How many events the message holds. */
  count: number;
  /** The tag given with the last event of the message. */
  last: T;
}

/** `{"type":"events","events":[`, cut from an `events` message of the protocol so that the two cannot differ. */
const HEAD = JSON.stringify({ type: 'events', events: [] } satisfies EventsMessage).slice(0, -2);

/**
 * Packs events one by one: `add` answers the message completed by this event when it does not fit
 * (send that one first; the event starts the next message); `flush` ends the message being packed.
 * Each event carries a tag (its cursor, id, ...) so the sender knows where a sent message ended.
 */
export class FramePacker<T = undefined> {
  private readonly tail: string;
  private readonly max: number;
  private parts: string[] = [];
  private bytes = 0;
  private last?: T;

  constructor(opts: PackOptions = {}) {
    this.tail = opts.replay ? '],"replay":true}' : ']}';
    this.max = opts.maxBytes ?? MAX_FRAME_BYTES;
  }

  /** Events in the message being packed. */
  get pending(): number {
    return this.parts.length;
  }

  add(event: unknown, tag?: T): Frame<T> | undefined {
    const json = JSON.stringify(event);
    const size = Buffer.byteLength(json, 'utf8');
    let done: Frame<T> | undefined;
    // HEAD and tail are ASCII; one comma between events.
    if (this.parts.length && HEAD.length + this.tail.length + this.bytes + this.parts.length + size > this.max) done = this.flush();
    this.parts.push(json);
    this.bytes += size;
    this.last = tag as T;
    return done;
  }

  flush(): Frame<T> | undefined {
    if (!this.parts.length) return undefined;
    const frame: Frame<T> = { data: HEAD + this.parts.join(',') + this.tail, count: this.parts.length, last: this.last as T };
    this.parts = [];
    this.bytes = 0;
    this.last = undefined;
    return frame;
  }
}

/** The events as `events` messages of at most 32 KB each (one message per event that alone is larger), in order. */
export function packFrames(events: readonly unknown[], opts: { replay?: boolean } = {}): string[] {
  const packer = new FramePacker(opts);
  const out: string[] = [];
  for (const e of events) {
    const done = packer.add(e);
    if (done) out.push(done.data);
  }
  const rest = packer.flush();
  if (rest) out.push(rest.data);
  return out;
}
