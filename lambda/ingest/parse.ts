/**
 * Parses an Auth0 Log Stream body: JSON Array (`[record, ...]`), JSON Lines (one record a line) or
 * JSON Object (one record), and validates every record. The batch is accepted whole or rejected whole:
 * a 400 names every problem (index or line), and nothing of a rejected batch is published.
 */
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
export const MAX_LOG_ID_LENGTH = 256;
/** Longest accepted identifier field (user_id, session_id, ...); free text lives in other fields. */
export const MAX_FIELD_LENGTH = 4096;
const MAX_PROBLEMS_REPORTED = 20;
/**
 * Deepest nesting accepted in `data` (Auth0 log events nest about 6 levels). Without a bound, a record
 * nested some thousands of levels deep parses but overflows the stack when serialised for SNS: a 500
 * that Auth0 would retry forever (found by the fuzzing in test/ingest.fuzz.test.ts).
 */
export const MAX_DEPTH = 64;

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

interface Located { value: unknown; where: string }

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function jsonProblem(e: unknown): string {
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
    throw new HttpError(400, 'invalid_json', `The body is not JSON: it must be a JSON array, JSON Lines, or a JSON object (it starts with ${JSON.stringify(text.slice(0, 10))}).`);
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
      throw new HttpError(400, 'invalid_json', `Line ${i + 1} is not valid JSON (${jsonProblem(e)}); every line of a JSON Lines body must be one record.`, { line: i + 1 });
    }
  }
  return { format: 'lines', items };
}

/** The problems of one record, empty when it is valid. */
export function recordProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`must be an object {"log_id": "...", "data": {...}}, not ${describe(value)}`];
  const r = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof r.log_id !== 'string' || r.log_id.trim() === '') problems.push(`"log_id" must be a non-empty string${'log_id' in r ? `, not ${describe(r.log_id)}` : ' (missing)'}`);
  else if (r.log_id.length > MAX_LOG_ID_LENGTH) problems.push(`"log_id" must be at most ${MAX_LOG_ID_LENGTH} characters`);
  if (typeof r.data !== 'object' || r.data === null || Array.isArray(r.data)) {
    problems.push(`"data" must be the Auth0 log event object${'data' in r ? `, not ${describe(r.data)}` : ' (missing)'}`);
    return problems;
  }
  const d = r.data as Record<string, unknown>;
  if (typeof d.type !== 'string' || d.type.trim() === '') problems.push(`"data.type" must be the Auth0 log type code (a non-empty string)${'type' in d ? `, not ${describe(d.type)}` : ' (missing)'}`);
  else if (d.type.length > 100) problems.push('"data.type" must be an Auth0 log type code (at most 100 characters)');
  if (d.date !== undefined && (typeof d.date !== 'string' || Number.isNaN(Date.parse(d.date)))) problems.push('"data.date" must be an ISO 8601 date string');
  for (const field of ['user_id', 'session_id', 'client_id', 'connection', 'ip'] as const) {
    const v = d[field];
    if (v !== undefined && v !== null && typeof v !== 'string') problems.push(`"data.${field}" must be a string, not ${describe(v)}`);
    else if (typeof v === 'string' && v.length > MAX_FIELD_LENGTH) problems.push(`"data.${field}" must be at most ${MAX_FIELD_LENGTH} characters`);
  }
  if (d.details !== undefined && d.details !== null && (typeof d.details !== 'object' || Array.isArray(d.details))) problems.push(`"data.details" must be an object, not ${describe(d.details)}`);
  if (depthOf(d) > MAX_DEPTH) problems.push(`"data" nests deeper than ${MAX_DEPTH} levels`);
  return problems;
}

/** Parses and validates a Log Stream body; throws HttpError 400/413 naming what was wrong. */
export function parseLogStreamBody(body: string): { format: BodyFormat; records: LogStreamRecord[] } {
  const { format, items } = splitBody(body);
  if (items.length === 0) throw new HttpError(400, 'empty_body', 'The body holds no records.');
  if (items.length > MAX_RECORDS) {
    throw new HttpError(413, 'too_many_records', `The body holds ${items.length} records; send at most ${MAX_RECORDS} per request.`);
  }
  const problems: { at: string; problem: string }[] = [];
  let count = 0;
  for (const { value, where } of items) {
    for (const problem of recordProblems(value)) {
      count++;
      if (problems.length < MAX_PROBLEMS_REPORTED) problems.push({ at: where, problem });
    }
  }
  if (count > 0) {
    const first = problems[0];
    throw new HttpError(400, 'invalid_record',
      `${count} problem${count === 1 ? '' : 's'} in the batch, nothing was accepted; first: ${first.at}: ${first.problem}.`,
      { problems });
  }
  return { format, records: items.map((i) => i.value as LogStreamRecord) };
}

/** Parses and validates an Action call body (what auth0/actions/*.js send). */
export function parseActionBody(body: string): { occurred_at: string; user: { user_id: string } & Record<string, unknown>; session_id?: string } & Record<string, unknown> {
  const text = body.trim();
  if (text === '') throw new HttpError(400, 'empty_body', 'The body is empty: send {"occurred_at": "<ISO 8601>", "user": {"user_id": "..."}}.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `The body is not valid JSON: ${jsonProblem(e)}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'invalid_body', `The body must be a JSON object, not ${describe(value)}.`);
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  const user = v.user as Record<string, unknown> | undefined;
  if (typeof user !== 'object' || user === null || Array.isArray(user)) problems.push('"user" must be the Auth0 user object');
  else if (typeof user.user_id !== 'string' || user.user_id === '') problems.push('"user.user_id" must be a non-empty string');
  if (typeof v.occurred_at !== 'string' || Number.isNaN(Date.parse(v.occurred_at))) {
    problems.push('"occurred_at" must be an ISO 8601 date, set once per call so that a retried call keeps its id');
  }
  if (v.session_id !== undefined && typeof v.session_id !== 'string') problems.push('"session_id" must be a string');
  if (depthOf(v) > MAX_DEPTH) problems.push(`the body nests deeper than ${MAX_DEPTH} levels`);
  if (problems.length) throw new HttpError(400, 'invalid_body', `${problems.join('; ')}.`, { problems });
  return v as ReturnType<typeof parseActionBody>;
}
