/**
 * Subscriber filters: plain data (no CDK objects) rendered to an SNS subscription filter policy on
 * the event's message attributes (`tenant`, `type`, `log_type`, `level` (Number), `source`).
 *
 * The CDK Subscriber construct and the local runtime both call `renderFilterPolicy`, so a filter
 * means the same thing in AWS and on one machine. Invalid filters fail synth with a message that
 * names the subscriber and the field.
 */
import { EVENT_TYPES, type EventSource, type EventType, type Level, type MessageAttributeName } from '../lambda/shared/event';
import { EVENT_SOURCES } from '../lambda/shared/event-rules';
import { TENANT_NAME_PATTERN } from '../lambda/shared/tenants';

export interface LevelRange {
  /**
   * Lowest level delivered, 0 (debug) .. 4 (critical), inclusive.
   * @default - no lower bound
   */
  readonly min?: Level;
  /**
   * Highest level delivered, inclusive.
   * @default - no upper bound
   */
  readonly max?: Level;
}

/**
 * Which events a subscriber receives. Every field is optional; the fields are ANDed, the values
 * within a field are ORed. An empty filter `{}` receives every event.
 */
export interface SubscriberFilter {
  /**
   * Canonical event types, e.g. `['user_blocked', 'user_unblocked']`.
   * @default - every type
   */
  readonly types?: readonly EventType[];
  /**
   * Auth0 log type codes: exact (`'sapi'`) or a prefix ending in `*` (`'limit_*'` matches
   * `limit_wc`, `limit_sul`, ...).
   * @default - every code
   */
  readonly logTypes?: readonly string[];
  /**
   * Level range, e.g. `{ min: 3 }` for "error and above" (the old LOG_LEVEL setting).
   * @default - every level
   */
  readonly level?: LevelRange;
  /**
   * Tenant names as in the API path (`acme`, `acme@eu`).
   * @default - every tenant
   */
  readonly tenants?: readonly string[];
  /**
   * `log-stream`, `action` and/or `event-stream` (the front door).
   * @default - every one
   */
  readonly sources?: readonly EventSource[];
}

/** One value condition of an SNS filter policy. */
export type FilterCondition = string | { prefix: string } | { numeric: (string | number)[] };
/** An SNS filter policy on message attributes (FilterPolicyScope `MessageAttributes`). */
export type FilterPolicy = Partial<Record<MessageAttributeName, FilterCondition[]>>;

/** SNS limits for one filter policy. */
export const SNS_FILTER_LIMITS = { maxKeys: 5, maxCombinations: 150 } as const;
const LOG_TYPE = /^[A-Za-z0-9_.-]{1,64}$/;

export class SubscriberDefinitionError extends Error {
  constructor(subscriber: string, field: string, problem: string) {
    super(`Subscriber ${JSON.stringify(subscriber)}: ${field} ${problem}`);
    this.name = 'SubscriberDefinitionError';
  }
}

function list<T>(subscriber: string, field: string, value: readonly T[] | undefined, check: (v: T) => string | undefined): T[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw new SubscriberDefinitionError(subscriber, field, 'must be a non-empty list (leave the field out to receive every value)');
  }
  const seen = new Set<T>();
  for (const v of value) {
    const problem = check(v);
    if (problem) throw new SubscriberDefinitionError(subscriber, field, `${problem}, got ${JSON.stringify(v)}`);
    if (seen.has(v)) throw new SubscriberDefinitionError(subscriber, field, `lists ${JSON.stringify(v)} twice`);
    seen.add(v);
  }
  return [...value];
}

function level(subscriber: string, value: LevelRange): FilterCondition[] | undefined {
  const bound = (name: 'min' | 'max'): number | undefined => {
    const v = value[name];
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < 0 || v > 4)
      throw new SubscriberDefinitionError(subscriber, `filter.level.${name}`, `must be a whole number 0 (debug) .. 4 (critical), got ${JSON.stringify(v)}`);
    return v;
  };
  const min = bound('min');
  const max = bound('max');
  if (min === undefined && max === undefined)
    throw new SubscriberDefinitionError(subscriber, 'filter.level', 'needs min and/or max (leave it out to receive every level)');
  if (min !== undefined && max !== undefined) {
    if (min > max) throw new SubscriberDefinitionError(subscriber, 'filter.level', `min (${min}) must not be above max (${max})`);
    return [{ numeric: min === max ? ['=', min] : ['>=', min, '<=', max] }];
  }
  return [{ numeric: min !== undefined ? ['>=', min] : ['<=', max as number] }];
}

/**
 * The SNS filter policy of a filter, or `undefined` when the filter lets every event through.
 * Throws SubscriberDefinitionError when the filter is invalid or beyond SNS's limits.
 */
export function renderFilterPolicy(subscriber: string, filter: SubscriberFilter = {}): FilterPolicy | undefined {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw new SubscriberDefinitionError(subscriber, 'filter', 'must be an object');
  const known = ['types', 'logTypes', 'level', 'tenants', 'sources'];
  for (const key of Object.keys(filter)) {
    if (!known.includes(key)) throw new SubscriberDefinitionError(subscriber, `filter.${key}`, `is not a filter field; use ${known.join(', ')}`);
  }
  const policy: FilterPolicy = {};
  const tenants = list(subscriber, 'filter.tenants', filter.tenants, (t) =>
    typeof t === 'string' && TENANT_NAME_PATTERN.test(t) ? undefined : 'must be tenant names such as acme or acme@eu',
  );
  if (tenants) policy.tenant = tenants;
  const types = list(subscriber, 'filter.types', filter.types, (t) =>
    (EVENT_TYPES as readonly string[]).includes(t) ? undefined : `must be event types (${EVENT_TYPES.join(', ')})`,
  );
  if (types) policy.type = types;
  const logTypes = list(subscriber, 'filter.logTypes', filter.logTypes, (t) => {
    if (typeof t !== 'string') return 'must be log type codes';
    const code = t.endsWith('*') ? t.slice(0, -1) : t;
    if (code === '') return 'has a bare "*": leave logTypes out to receive every code';
    return LOG_TYPE.test(code) ? undefined : 'must be Auth0 log type codes (letters, digits, _ . -), optionally ending in * for a prefix';
  });
  if (logTypes) policy.log_type = logTypes.map((t) => (t.endsWith('*') ? { prefix: t.slice(0, -1) } : t));
  if (filter.level !== undefined) {
    if (typeof filter.level !== 'object' || filter.level === null) throw new SubscriberDefinitionError(subscriber, 'filter.level', 'must be {"min"?, "max"?}');
    const extra = Object.keys(filter.level).filter((k) => k !== 'min' && k !== 'max');
    if (extra.length) throw new SubscriberDefinitionError(subscriber, `filter.level.${extra[0]}`, 'is not known; use min and/or max');
    policy.level = level(subscriber, filter.level);
  }
  const sources = list(subscriber, 'filter.sources', filter.sources, (s) =>
    EVENT_SOURCES.includes(s) ? undefined : `must be one of ${EVENT_SOURCES.join(', ')}`,
  );
  if (sources) policy.source = sources;

  const keys = Object.keys(policy) as MessageAttributeName[];
  if (keys.length === 0) return undefined;
  checkLimits(subscriber, policy);
  return policy;
}

/** SNS: at most 5 keys, and the product of the number of values of every key at most 150. */
export function checkLimits(subscriber: string, policy: FilterPolicy): void {
  const keys = Object.keys(policy) as MessageAttributeName[];
  if (keys.length > SNS_FILTER_LIMITS.maxKeys) {
    throw new SubscriberDefinitionError(
      subscriber,
      'filter',
      `uses ${keys.length} attributes; SNS allows at most ${SNS_FILTER_LIMITS.maxKeys} in one filter policy`,
    );
  }
  const combinations = keys.reduce((n, k) => n * (policy[k]?.length ?? 1), 1);
  if (combinations > SNS_FILTER_LIMITS.maxCombinations) {
    const parts = keys.map((k) => `${policy[k]?.length} ${k}`).join(' x ');
    throw new SubscriberDefinitionError(
      subscriber,
      'filter',
      `has ${combinations} combinations (${parts}); SNS allows at most ${SNS_FILTER_LIMITS.maxCombinations}: use fewer values, a log type prefix (e.g. "limit_*") or a level range, or split the subscriber`,
    );
  }
}

/** Whether an event's message attributes match a policy (the same semantics as SNS, for the local runtime and tests). */
export function matchesFilterPolicy(policy: FilterPolicy | undefined, attributes: Record<MessageAttributeName, string | number>): boolean {
  if (!policy) return true;
  return (Object.keys(policy) as MessageAttributeName[]).every((key) => {
    const value = attributes[key];
    return (policy[key] ?? []).some((c) => {
      if (typeof c === 'string') return String(value) === c;
      if ('prefix' in c) return String(value).startsWith(c.prefix);
      const n = Number(value);
      const ops = c.numeric;
      for (let i = 0; i < ops.length; i += 2) {
        const op = ops[i];
        const bound = Number(ops[i + 1]);
        const ok = op === '=' ? n === bound : op === '>=' ? n >= bound : op === '<=' ? n <= bound : op === '>' ? n > bound : op === '<' ? n < bound : false;
        if (!ok) return false;
      }
      return true;
    });
  });
}
