/**
 * Parses an Auth0 Log Stream body: JSON Array (`[record, ...]`), JSON Lines (one record a line) or
 * JSON Object (one record), and validates every record. The batch is accepted whole or rejected whole:
 * a 400 names every problem (index or line), and nothing of a rejected batch is published.
 */
import type { CanonicalEvent } from '../shared/event';
import { canonicalDate, canonicalEventProblems, codeProblem, DATE_RULE, identifierProblem, LIMITS } from '../shared/event-rules';
import { HttpError } from '../shared/http';

export interface LogStreamRecord {
  log_id: string;
  data: Auth0Log;
}

/** The fields of an Auth0 log event that the pipeline reads; everything else is kept as is. */
export interface Auth0Log extends Record<string, unknown> {
  type: string;
  date?: string;
  user_id?: string;
  session_id?: string;
  details?: Record<string, unknown>;
}

export const MAX_RECORDS = 10_000;
/** Longest accepted identifier field kept only in `data` (client_id, connection, ip); the limits of the fields subscribers read are in LIMITS. */
export const MAX_FIELD_LENGTH = LIMITS.fieldChars;
const MAX_PROBLEMS_REPORTED = 20;
/**
 * Deepest nesting accepted in `data` (Auth0 log events nest about 6 levels). Without a bound, a record
 * nested some thousands of levels deep parses but overflows the stack when serialised for SNS: a 500
 * that Auth0 would retry forever (found by the fuzzing in test/ingest.fuzz.test.ts).
 */
export const MAX_DEPTH = LIMITS.depth;

/** Nesting depth of a parsed JSON value (iterative: no recursion on untrusted input); stops past `limit`. */
export function depthOf(value: unknown, limit = MAX_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > max) max = d + 1;
    if (max > limit) return max;
    for (const child of Object.values(v as Record<string, unknown>)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

export type BodyFormat = 'array' | 'lines' | 'object';

interface Located {
  value: unknown;
  where: string;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function jsonProblem(e: unknown): string {
  return e instanceof Error ? e.message.slice(0, 160) : 'invalid JSON';
}

/** Splits the body into located values; a framing error (not JSON at all) is a 400. */
export function splitBody(body: string): { format: BodyFormat; items: Located[] } {
  const text = body.replace(/^\uFEFF/, '').trim();
  if (text === '') throw new HttpError(400, 'empty_body', 'The body is empty: send a JSON array of Log Stream records, JSON Lines, or one JSON object.');
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new HttpError(400, 'invalid_json', `The body starts as a JSON array but is not valid JSON: ${jsonProblem(e)}.`);
    }
    if (!Array.isArray(parsed)) throw new HttpError(400, 'invalid_json', 'The body is not a JSON array.');
    return { format: 'array', items: parsed.map((value, i) => ({ value, where: `index ${i}` })) };
  }
  if (!text.startsWith('{')) {
    throw new HttpError(
      400,
      'invalid_json',
      `The body is not JSON: it must be a JSON array, JSON Lines, or a JSON object (it starts with ${JSON.stringify(text.slice(0, 10))}).`,
    );
  }
  try {
    return { format: 'object', items: [{ value: JSON.parse(text), where: 'the body' }] };
  } catch {
    // Not one object: JSON Lines.
  }
  const items: Located[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      items.push({ value: JSON.parse(line), where: `line ${i + 1}` });
    } catch (e) {
      throw new HttpError(400, 'invalid_json', `Line ${i + 1} is not valid JSON (${jsonProblem(e)}); every line of a JSON Lines body must be one record.`, {
        line: i + 1,
      });
    }
  }
  return { format: 'lines', items };
}

/** Prefixes of the other doors' canonical ids (cloud-event.ts CLOUD_EVENT_ID_PREFIX, classify.ts Action ids): a log_id taking one would collide with that event in dedupe. */
export const RESERVED_ID_PREFIXES = ['ce_', 'act_'] as const;

/** The problems of one record, empty when it is valid. */
export function recordProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [`must be an object {"log_id": "...", "data": {...}}, not ${describe(value)}`];
  const r = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof r.log_id !== 'string' || r.log_id.trim() === '')
    problems.push(`"log_id" must be a non-empty string${'log_id' in r ? `, not ${describe(r.log_id)}` : ' (missing)'}`);
  else {
    const problem = identifierProblem(r.log_id, LIMITS.idBytes);
    if (problem) problems.push(`"log_id" ${problem}`);
    const reserved = RESERVED_ID_PREFIXES.find((p) => (r.log_id as string).startsWith(p));
    if (reserved)
      problems.push(
        `"log_id" must not start with "${reserved}" (the canonical ids of ${reserved === 'ce_' ? 'Event Streams CloudEvents' : 'Actions'}; Auth0 log_ids never do)`,
      );
  }
  if (typeof r.data !== 'object' || r.data === null || Array.isArray(r.data)) {
    problems.push(`"data" must be the Auth0 log event object${'data' in r ? `, not ${describe(r.data)}` : ' (missing)'}`);
    return problems;
  }
  const d = r.data as Record<string, unknown>;
  if (typeof d.type !== 'string' || d.type.trim() === '')
    problems.push(`"data.type" must be the Auth0 log type code (a non-empty string)${'type' in d ? `, not ${describe(d.type)}` : ' (missing)'}`);
  else {
    const problem = codeProblem(d.type, LIMITS.logTypeBytes);
    if (problem) problems.push(`"data.type" must be an Auth0 log type code: it ${problem}`);
  }
  if (d.date !== undefined && canonicalDate(d.date) === undefined)
    problems.push(`"data.date" must be ${DATE_RULE}, not ${JSON.stringify(d.date)?.slice(0, 40)}`);
  for (const [field, max] of [
    ['user_id', LIMITS.userIdBytes],
    ['session_id', LIMITS.sessionIdBytes],
  ] as const) {
    const v = d[field];
    if (v === undefined || v === null || v === '') continue;
    const problem = typeof v === 'string' ? identifierProblem(v, max) : `must be a string, not ${describe(v)}`;
    if (problem) problems.push(`"data.${field}" ${problem}`);
  }
  for (const field of ['client_id', 'connection', 'ip'] as const) {
    const v = d[field];
    if (v !== undefined && v !== null && typeof v !== 'string') problems.push(`"data.${field}" must be a string, not ${describe(v)}`);
    else if (typeof v === 'string' && v.length > MAX_FIELD_LENGTH) problems.push(`"data.${field}" must be at most ${MAX_FIELD_LENGTH} characters`);
  }
  if (d.details !== undefined && d.details !== null && (typeof d.details !== 'object' || Array.isArray(d.details)))
    problems.push(`"data.details" must be an object, not ${describe(d.details)}`);
  if (depthOf(d) > MAX_DEPTH) problems.push(`"data" nests deeper than ${MAX_DEPTH} levels`);
  return problems;
}

/** Where a field of the canonical event comes from, for error messages. */
const EVENT_FIELD_SOURCES: Record<string, string> = {
  user_id: 'data.user_id, or the user in a Management API request path',
  session_id: 'data.session_id or data.details.session_id',
  date: 'data.date',
};

/**
 * The problems of a classified event, checked with the subscribers' own validator
 * (lambda/shared/event-rules.ts), so that nothing is accepted that a subscriber would refuse.
 */
export function eventProblems(event: CanonicalEvent): string[] {
  return canonicalEventProblems(event as unknown as Record<string, unknown>).map(
    ([field, problem]) => `the event's ${field}${EVENT_FIELD_SOURCES[field] ? ` (from ${EVENT_FIELD_SOURCES[field]})` : ''} ${problem}`,
  );
}

/**
 * Parses, validates and classifies a Log Stream body (`toEvent` classifies one valid record); throws
 * HttpError 400/413 naming what was wrong. Every returned event passes the subscribers' validator.
 */
export function parseLogStreamBody(
  body: string,
  toEvent: (record: LogStreamRecord) => CanonicalEvent,
): { format: BodyFormat; records: LogStreamRecord[]; events: CanonicalEvent[] } {
  const { format, items } = splitBody(body);
  if (items.length === 0) throw new HttpError(400, 'empty_body', 'The body holds no records.');
  if (items.length > MAX_RECORDS) {
    throw new HttpError(413, 'too_many_records', `The body holds ${items.length} records; send at most ${MAX_RECORDS} per request.`);
  }
  const problems: { at: string; problem: string }[] = [];
  const events: CanonicalEvent[] = [];
  let count = 0;
  for (const { value, where } of items) {
    let found = recordProblems(value);
    if (found.length === 0) {
      const event = toEvent(value as LogStreamRecord);
      found = eventProblems(event);
      events.push(event);
    }
    for (const problem of found) {
      count++;
      if (problems.length < MAX_PROBLEMS_REPORTED) problems.push({ at: where, problem });
    }
  }
  if (count > 0) {
    const first = problems[0];
    throw new HttpError(
      400,
      'invalid_record',
      `${count} problem${count === 1 ? '' : 's'} in the batch, nothing was accepted; first: ${first.at}: ${first.problem}.`,
      { problems },
    );
  }
  return { format, records: items.map((i) => i.value as LogStreamRecord), events };
}
