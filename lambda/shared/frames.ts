/**
 * Many events in one WebSocket frame (the protocol's `{"type":"events","events":[...]}`, same meaning
 * as that many `{"type":"event","event":...}` messages in that order). API Gateway frames are at most
 * 32 KB and messages are billed per 32 KB unit, so events are packed, in order, until the next one
 * would take the frame past 32 KB of UTF-8 JSON. An event that is larger on its own goes alone in
 * its frame (API Gateway takes messages up to 128 KB; pushed events are a few hundred bytes).
 */
import type { pushedEvent } from './stores';

/** The event as the WebSocket sends it (lambda/shared/stores.ts `pushedEvent`). */
export type PushedEvent = ReturnType<typeof pushedEvent>;

/** API Gateway's WebSocket frame size, and its billing unit. */
export const MAX_FRAME_BYTES = 32 * 1024;

/** The frames (JSON strings, each at most MAX_FRAME_BYTES of UTF-8 unless one event is larger) that carry `events` in order. */
export function packFrames(events: PushedEvent[], opts: { replay?: boolean } = {}): string[] {
  const head = `{"type":"events",${opts.replay ? '"replay":true,' : ''}"events":[`;
  const tail = ']}';
  const frames: string[] = [];
  let parts: string[] = [];
  let bytes = head.length + tail.length;
  for (const e of events) {
    const json = JSON.stringify(e);
    const size = Buffer.byteLength(json);
    const added = size + (parts.length ? 1 : 0);
    if (parts.length && bytes + added > MAX_FRAME_BYTES) {
      frames.push(head + parts.join(',') + tail);
      parts = [];
      bytes = head.length + tail.length;
    }
    bytes += size + (parts.length ? 1 : 0);
    parts.push(json);
  }
  if (parts.length) frames.push(head + parts.join(',') + tail);
  return frames;
}
