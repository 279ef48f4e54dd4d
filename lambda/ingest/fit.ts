/**
 * Fits a canonical event into one SNS message: SNS's limit is 256 KiB (262,144 bytes) for the body and
 * every part of the message attributes together
 * (https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html). Whatever the record's
 * shape (40,000 keys, a 300 KB key name, long strings at any depth), the result fits.
 */
import { messageAttributes, type CanonicalEvent } from '../shared/event';

/** SNS's limit for one message and for one PublishBatch call (body and attributes). */
export const SNS_MAX_BYTES = 262_144;

export const attributeBytes = (attrs: Record<string, { DataType: string; StringValue: string }>): number =>
  Object.entries(attrs).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.DataType) + Buffer.byteLength(v.StringValue), 0);

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * The message text of an event: its JSON, with U+FFFE and U+FFFF escaped (`\\ufffe`), which JSON
 * allows and SNS requires: a message may hold only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 * #x10000-#x10FFFF (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). JSON.stringify
 * already escapes control characters and unpaired surrogates.
 */
export const toMessage = (value: unknown): string => JSON.stringify(value).replace(/[\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** Room kept for the note of dropped fields, and how much of each dropped name it shows. */
const NOTE_BYTES = 8 * 1024;
const NOTE_NAME_CHARS = 100;

/** The note of what was dropped: how many fields, and the first names (cut short) that fit in NOTE_BYTES. */
function droppedNote(dropped: string[]): { truncated_fields: string[]; truncated_fields_count: number } {
  const names: string[] = [];
  let used = 64;
  for (const k of dropped) {
    const name = k.length > NOTE_NAME_CHARS ? `${k.slice(0, NOTE_NAME_CHARS).replace(/[\ud800-\udbff]$/, '')}…` : k;
    const size = bytes(toMessage(name)) + 1;
    if (used + size > NOTE_BYTES) break;
    names.push(name);
    used += size;
  }
  return { truncated_fields: names, truncated_fields_count: dropped.length };
}

/**
 * Fits an event into one SNS message (body and attributes within `limit`). When too large, `data`
 * keeps its smallest top-level fields that fit, plus a note of the others (`truncated_fields`, the
 * first names, and `truncated_fields_count`), and `truncated` is set. If even that does not fit, `data`
 * is only the note (a stub: the event's id, type, user, session and date are top-level fields, bounded
 * by LIMITS, so the stub always fits). Classification happened on the full record, before this.
 */
export function fitEvent(event: CanonicalEvent, limit = SNS_MAX_BYTES): { message: string; event: CanonicalEvent } {
  const budget = limit - attributeBytes(messageAttributes(event));
  const message = toMessage(event);
  if (bytes(message) <= budget) return { message, event };
  const skeleton: CanonicalEvent = { ...event, data: {}, truncated: true };
  // Each field costs at most its own `{"k":v}` (the braces pay for the comma that joins it).
  let room = budget - bytes(toMessage(skeleton)) - NOTE_BYTES;
  const fields = Object.entries(event.data)
    .map(([k, v]) => ({ k, v, bytes: bytes(toMessage({ [k]: v })) }))
    .sort((a, b) => a.bytes - b.bytes);
  const data: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const f of fields) {
    if (f.bytes <= room) {
      data[f.k] = f.v;
      room -= f.bytes;
    } else dropped.push(f.k);
  }
  const trimmed: CanonicalEvent = { ...skeleton, data: { ...data, ...droppedNote(dropped) } };
  const out = toMessage(trimmed);
  if (bytes(out) <= budget) return { message: out, event: trimmed };
  const stub: CanonicalEvent = { ...skeleton, data: droppedNote(Object.keys(event.data)) };
  return { message: toMessage(stub), event: stub };
}
