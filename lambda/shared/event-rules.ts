/**
 * One set of limits and one validator for canonical events, used by the ingest (what it accepts) and
 * by every subscriber's parser (`parseCanonicalEvent`), so that whatever the ingest accepts, every
 * built-in subscriber can process: nothing accepted with a 2xx ends in a DLQ for its shape.
 *
 * Where the limits come from:
 * - DynamoDB keys are at most 2,048 bytes (partition) and 1,024 bytes (sort), in UTF-8
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html). The users
 *   table's sort key is `user_id`; the events table's sort keys are `cursor` = `<stored_at>#<id>`,
 *   and its by-user partition key is `<tenant>#<user_id>`. 512 bytes for ids leaves room for both,
 *   and for a tenant prefix on stored ids.
 * - SNS message bodies and string attribute values may hold only #x9 | #xA | #xD | #x20-#xD7FF |
 *   #xE000-#xFFFD | #x10000-#x10FFFF (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html):
 *   `log_type` and `tenant` are attributes, so they are printable ASCII; identifiers hold no control
 *   characters, no U+FFFE/U+FFFF and no unpaired surrogates (which UTF-8 cannot encode).
 */
import { EVENT_TYPES, type EventSource } from './event';

export const LIMITS = {
  /** Event id (Auth0 `log_id`, or the Action id), UTF-8 bytes. */
  idBytes: 512,
  tenantBytes: 100,
  /** Auth0 log type code (`data.type`), printable ASCII; the longest Auth0 code has 33 characters. */
  logTypeBytes: 64,
  userIdBytes: 512,
  sessionIdBytes: 512,
  /** Other identifier fields of a log record, kept only in `data` (client_id, connection, ip). */
  fieldChars: 4096,
  /** `Idempotency-Key` header of an Action call. */
  idempotencyKeyChars: 255,
  /** Deepest nesting of a record's `data` or an Action body (Auth0 log events nest about 6 levels). */
  depth: 64,
} as const;

export const EVENT_SOURCES: readonly EventSource[] = ['log-stream', 'action', 'event-stream'];

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const PRINTABLE_ASCII = /^[!-~]+$/;

/** Why `v` is not a valid identifier of at most `maxBytes` UTF-8 bytes, or undefined when it is. */
export function identifierProblem(v: unknown, maxBytes: number): string | undefined {
  if (typeof v !== 'string' || v === '') return 'must be a non-empty string';
  const n = utf8Bytes(v);
  if (n > maxBytes) return `must be at most ${maxBytes} bytes in UTF-8 (it has ${n})`;
  if (FORBIDDEN_CHARS.test(v)) return 'must not contain control characters, U+FFFE, U+FFFF or unpaired surrogates';
  return undefined;
}

/** Why `v` is not a valid code (log type, tenant): printable ASCII without spaces, at most `maxBytes`. */
export function codeProblem(v: unknown, maxBytes: number): string | undefined {
  if (typeof v !== 'string' || v === '') return 'must be a non-empty string';
  if (v.length > maxBytes) return `must be at most ${maxBytes} characters`;
  if (!PRINTABLE_ASCII.test(v)) return 'must be printable ASCII without spaces';
  return undefined;
}

/** What a date must look like, for error messages. */
export const DATE_RULE =
  'an ISO 8601 date-time with seconds and a time zone (e.g. 2026-11-22T10:00:00.000Z or 2026-11-22T11:00:00+01:00) whose UTC year is 0000 to 9999';

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;
const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (year: number, month: number): number => (month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31);

/**
 * The canonical form of a date (`YYYY-MM-DDTHH:mm:ss.sssZ`, what `toISOString` gives for years 0-9999),
 * or undefined when `v` is not a real ISO 8601 date-time with a zone whose UTC year has four digits.
 * The calendar is checked (no 30 February, no hour 24, no leap second): `Date.parse` would roll those over.
 */
export function canonicalDate(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = ISO_DATE_TIME.exec(v);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  const iso = new Date(t).toISOString();
  return /^\d{4}-/.test(iso) ? iso : undefined;
}

/** A plain JSON object (not null, not an array): the one check every parser here uses. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface CanonicalEventRules {
  /**
   * `known` (the ingest, what it publishes): `type` and `source` must be names this package knows.
   * `tolerant` (every reader, `parseCanonicalEvent`): any `type` or `source` that is a code (printable
   * ASCII, at most LIMITS.logTypeBytes) passes as it came, so that a subscriber on an older package
   * still receives the types and doors a newer pipeline adds (issue 18, item 3).
   * @default 'known'
   */
  names?: 'known' | 'tolerant';
}

/**
 * Every problem of a canonical event, as `[field, what is wrong]`; empty when it is valid. The one
 * validator: `parseCanonicalEvent` throws on the first (tolerant of new names), the ingest refuses a
 * record with any (known names only).
 */
export function canonicalEventProblems(v: Record<string, unknown>, rules: CanonicalEventRules = {}): [field: string, problem: string][] {
  const problems: [string, string][] = [];
  const check = (field: string, problem: string | undefined) => {
    if (problem) problems.push([field, problem]);
  };
  check('id', identifierProblem(v.id, LIMITS.idBytes));
  check('tenant', identifierProblem(v.tenant, LIMITS.tenantBytes));
  if (rules.names === 'tolerant') {
    check('type', codeProblem(v.type, LIMITS.logTypeBytes));
    check('source', codeProblem(v.source, LIMITS.logTypeBytes));
  } else {
    if (typeof v.type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(v.type)) check('type', `must be one of ${EVENT_TYPES.join(', ')}`);
    if (!EVENT_SOURCES.includes(v.source as EventSource)) check('source', `must be one of ${EVENT_SOURCES.join(', ')}`);
  }
  check('log_type', codeProblem(v.log_type, LIMITS.logTypeBytes));
  if (!Number.isInteger(v.level) || (v.level as number) < 0 || (v.level as number) > 4) check('level', 'must be a whole number 0..4');
  const optional = (field: 'user_id' | 'session_id', max: number) => {
    const problem = v[field] === undefined ? undefined : identifierProblem(v[field], max);
    check(field, problem === 'must be a non-empty string' ? `${problem} when present` : problem);
  };
  optional('user_id', LIMITS.userIdBytes);
  optional('session_id', LIMITS.sessionIdBytes);
  if (canonicalDate(v.date) === undefined) check('date', `must be ${DATE_RULE}`);
  if (canonicalDate(v.received_at) === undefined) check('received_at', `must be ${DATE_RULE}`);
  if (!isObject(v.data)) check('data', 'must be an object');
  return problems;
}
