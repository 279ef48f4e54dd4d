/**
 * Deployment configuration, read from CDK context key `auth0-events` (cdk.json, or
 * `-c auth0-events='{"tenants":[...]}'`) and validated at synth: a bad value fails with a
 * message naming the field and what is allowed.
 */
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../lambda/shared/connections';
import { eventBridgeSourceProblem, tenantConfigProblem, toTenant, type TenantConfig } from '../lambda/shared/tenants';

export const CONTEXT_KEY = 'auth0-events';

export interface ThrottleConfig {
  /** Steady-state requests per second for the Auth0 API key. */
  rateLimit: number;
  /** Burst of requests above the rate. */
  burstLimit: number;
  /** Requests per day; the usage plan refuses more with 429. */
  quotaPerDay: number;
}

/**
 * The runbook every alarm description links to, `<RUNBOOK>#<alarm name in lower case>`: one heading per
 * alarm in docs/operations.md, "Runbook" (test/docs-links.test.ts checks each link resolves).
 */
export const RUNBOOK = 'docs/operations.md';

/** Thresholds of the operations alarms (lib/monitoring.ts, docs/operations.md). */
export interface AlarmConfig {
  /**
   * "No events received": a tenant whose Log Stream delivered no event for this many hours alarms
   * (Auth0 pauses a stream after repeated failures). 1..24.
   * @default 6
   */
  noEventsHours: number;
  /**
   * REST API latency p99 above this many milliseconds for 15 minutes alarms.
   * @default 5000
   */
  apiLatencyP99Ms: number;
  /**
   * Share of REST requests answered 5xx, in percent, above which (two 5-minute periods) it alarms.
   * @default 5
   */
  api5xxPercent: number;
  /**
   * Share of ingest requests answered 4xx, in percent (at least 10 requests in 5 minutes), above which it alarms.
   * @default 25
   */
  api4xxPercent: number;
  /**
   * The tenants whose "no events received" alarm is armed: list a tenant once its Log Stream delivers
   * (docs/deploy.md). Silence pages only for these, so a fresh deploy, before Auth0 is connected,
   * pages nobody. A CloudWatch alarm remembers at most one day, so it cannot tell "never connected"
   * from "stopped three days ago" by itself: this list is that memory.
   * @default - none
   */
  noEventsTenants: string[];
}

/** A request rate and the burst above it (an API Gateway token bucket). */
export interface RateLimit {
  /** Steady-state requests per second. */
  rateLimit: number;
  /** Requests that may arrive at once (the bucket's size); at least rateLimit. */
  burstLimit: number;
}

/**
 * Reserved concurrency of the functions a flood reaches first (docs/operations.md, "Concurrency isolation").
 * A reservation is both a floor and a ceiling: the function can use no more, and no other function can
 * take it. Lambda refuses a reservation that would leave the account fewer than 100 unreserved
 * executions, so a fresh account with a small quota (new accounts may start below the default 1,000)
 * cannot deploy one: none is set unless configured.
 */
export interface ReservedConcurrencyConfig {
  /** The WebSocket socket function ($connect, $disconnect, authenticate, ...). */
  socket?: number;
  /** The push function (events table stream -> listeners). */
  push?: number;
  /** The ingest API-key authorizer (every Auth0 request). */
  apiKeyAuthorizer?: number;
  /** The access-token authorizer of GET /{tenant}/events and /listeners. */
  tokenAuthorizer?: number;
  /** The query function of GET /{tenant}/events and /listeners. */
  query?: number;
}

/** How the tiers are kept from throttling each other (docs/operations.md, "Concurrency isolation"). */
export interface IsolationConfig {
  /**
   * Concurrent executions the WebSocket socket function may use: each Lambda-backed route's throttle
   * is derived from it (rate x design duration = that route's share; lib/session-events-socket.ts
   * SOCKET_ROUTE_LOAD).
   * @default reservedConcurrency.socket when set, else 100
   */
  socketConcurrency: number;
  /** @default - none (see ReservedConcurrencyConfig) */
  reservedConcurrency: ReservedConcurrencyConfig;
  /**
   * Method throttles of the listener REST endpoints, for all tenants together, apart from the Auth0
   * doors' stage limit and usage plans.
   * @default { events: 20 rps, burst 40; listeners: 5 rps, burst 10 }
   */
  queryThrottle: { events: RateLimit; listeners: RateLimit };
  /**
   * Seconds API Gateway caches the access-token authorizer's answer per token, path and method (0: no
   * cache; at most 3600). The query function still refuses a token past its `exp` (docs/security.md).
   * @default 300
   */
  tokenCacheSeconds: number;
}

/** The event archive's retention (lib/event-archive.ts, docs/archive.md). */
export interface ArchiveConfig {
  /**
   * Days after which archived events move to S3 Glacier Instant Retrieval (Athena and the replay still read them).
   * @default 90
   */
  transitionAfterDays?: number;
  /**
   * Days after which archived events are deleted (after transitionAfterDays).
   * @default 400
   */
  expireAfterDays?: number;
}

export interface Auth0EventsConfig {
  /** The Auth0 tenants this deployment serves (at least one). */
  tenants: TenantConfig[];
  /**
   * Usage-plan throttle and quota of the ingest API key.
   * @default - 50 rps, burst 100, 1,000,000 a day
   */
  throttle: ThrottleConfig;
  /** E-mail address that receives alarm notifications (confirm the subscription once). Optional. */
  alarmEmail?: string;
  /**
   * Days to keep Lambda, API access and WebSocket logs.
   * @default 90
   */
  logRetentionDays: number;
  /**
   * Protect the DynamoDB tables from deletion (and retain them on stack delete).
   * @default true
   */
  deletionProtection: boolean;
  /**
   * Alarm thresholds.
   * @default DEFAULT_ALARMS
   */
  alarms: AlarmConfig;
  /**
   * Route and method throttles, reserved concurrency and the token cache that keep one tier's flood
   * from throttling another.
   * @default DEFAULT_ISOLATION
   */
  isolation: IsolationConfig;
  /**
   * Lambda instruction set. arm64 (Graviton) is cheaper but, as AWS documents, "available in most AWS
   * Regions" (https://docs.aws.amazon.com/lambda/latest/dg/foundation-arch.html): in a region without it,
   * set x86_64 (the bundles are plain JavaScript).
   * @default 'arm64'
   */
  lambdaArchitecture?: 'arm64' | 'x86_64';
  /**
   * AWS accounts whose own CDK apps may subscribe their own SQS queues to the event topic
   * (Auth0EventsSubscriber in another account). Each gets `sns:Subscribe` for protocol `sqs` and
   * endpoints that are queues of that account only; with any filter it chooses, so it can receive
   * every event of every tenant this deployment serves.
   * @default - none
   */
  subscriberAccounts?: string[];
  /**
   * Prefix of the SSM parameters that tell subscribers where the topic is (`<prefix>/topic-arn`, ...).
   * A second pipeline in the same account and region must set its own (parameter names are unique there).
   * @default - `/auth0-events`
   */
  parameterPrefix?: string;
  /**
   * Live (authenticated) WebSocket listeners allowed per user (`sub`) of a tenant and per tenant; the
   * connection past either gets `authentication_failed` naming the limit, and is closed.
   * @default DEFAULT_LISTENER_LIMITS (10 per user, 1,000 per tenant)
   */
  listenerLimits: ListenerLimits;
  /**
   * The event archive's retention.
   * @default - 90 days to Glacier Instant Retrieval, deleted after 400 days
   */
  archive?: ArchiveConfig;
}

/**
 * What a deployment is given (cdk.json's context `auth0-events`, or the props of the Auth0Events
 * construct): the same fields as Auth0EventsConfig, each optional but `tenants`, validated by
 * parseConfig.
 */
export interface Auth0EventsSettings {
  /** The Auth0 tenants this deployment serves (at least one). */
  readonly tenants: readonly TenantConfig[];
  /**
   * Usage-plan throttle and quota of each tenant's ingest API key.
   * @default { rateLimit: 50, burstLimit: 100, quotaPerDay: 1_000_000 }
   */
  readonly throttle?: Partial<ThrottleConfig>;
  /**
   * E-mail address subscribed to the alarm topic (it confirms once).
   * @default - no e-mail subscription
   */
  readonly alarmEmail?: string;
  /**
   * Days to keep every log group (a CloudWatch Logs retention value).
   * @default 90
   */
  readonly logRetentionDays?: number;
  /**
   * Protect (and retain) the DynamoDB tables.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Thresholds of the operations alarms.
   * @default DEFAULT_ALARMS
   */
  readonly alarms?: Partial<AlarmConfig>;
  /**
   * Route and method throttles, reserved concurrency and the token cache (docs/operations.md, "Concurrency isolation").
   * @default DEFAULT_ISOLATION: socket routes sized for 100 concurrent executions, no reserved concurrency,
   * GET /events 20 rps (burst 40), GET /listeners 5 rps (burst 10), token answers cached 300 s
   */
  readonly isolation?: {
    readonly socketConcurrency?: number;
    readonly reservedConcurrency?: Readonly<ReservedConcurrencyConfig>;
    readonly queryThrottle?: { readonly events?: Readonly<RateLimit>; readonly listeners?: Readonly<RateLimit> };
    readonly tokenCacheSeconds?: number;
  };
  /**
   * Lambda instruction set; x86_64 for a region without arm64.
   * @default 'arm64'
   */
  readonly lambdaArchitecture?: 'arm64' | 'x86_64';
  /**
   * AWS accounts (12 digits) whose own apps may subscribe their own SQS queues to the topic: each gets
   * `sns:Subscribe` with `sns:Protocol` = `sqs` and `sns:Endpoint` = a queue of that account, and can
   * then receive every event of every tenant, with a filter of its choosing. The same account needs
   * nothing here.
   * @default - no other account may subscribe
   */
  readonly subscriberAccounts?: readonly string[];
  /**
   * Prefix of the SSM parameters the pipeline publishes for subscribers (`<prefix>/topic-arn`,
   * `<prefix>/topic-key-arn`, `<prefix>/event-types`, `<prefix>/filter-attributes`). A second pipeline
   * in the same account and region must set its own: SSM parameter names are unique per account and
   * region, so with the same prefix its deploy fails ("... already exists").
   * @default `/auth0-events` (DEFAULT_PARAMETER_PREFIX, also `Auth0EventsTopic.fromParameters`' default)
   */
  readonly parameterPrefix?: string;
  /**
   * Live (authenticated) WebSocket listeners allowed per user (`perSub`: one `sub` of one tenant) and
   * per tenant (`perTenant`). The connection past either gets `authentication_failed` with a message
   * naming the limit and its value, and is closed. 10 per user leaves room for a user's tabs and
   * devices; 1,000 per tenant bounds the push work and connection minutes one tenant can cause (raise
   * it where every signed-in browser listens: to the users online at once).
   * @default { perSub: 10, perTenant: 1000 } (DEFAULT_LISTENER_LIMITS)
   */
  readonly listenerLimits?: Partial<ListenerLimits>;
  /**
   * The event archive's retention: `transitionAfterDays` (to S3 Glacier Instant Retrieval) and
   * `expireAfterDays` (deleted), whole days, expiry after the transition.
   * @default { transitionAfterDays: 90, expireAfterDays: 400 }
   */
  readonly archive?: Readonly<ArchiveConfig>;
}

export const DEFAULT_THROTTLE: ThrottleConfig = { rateLimit: 50, burstLimit: 100, quotaPerDay: 1_000_000 };
export const DEFAULT_ISOLATION: IsolationConfig = {
  socketConcurrency: 100,
  reservedConcurrency: {},
  queryThrottle: { events: { rateLimit: 20, burstLimit: 40 }, listeners: { rateLimit: 5, burstLimit: 10 } },
  tokenCacheSeconds: 300,
};
export const DEFAULT_ALARMS: AlarmConfig = { noEventsHours: 6, apiLatencyP99Ms: 5000, api5xxPercent: 5, api4xxPercent: 25, noEventsTenants: [] };
/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export class ConfigError extends Error {
  constructor(field: string, problem: string) {
    super(`Invalid configuration ${CONTEXT_KEY}.${field}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const KNOWN_KEYS = [
  'tenants',
  'throttle',
  'alarmEmail',
  'logRetentionDays',
  'deletionProtection',
  'alarms',
  'isolation',
  'lambdaArchitecture',
  'subscriberAccounts',
  'parameterPrefix',
  'listenerLimits',
  'archive',
];
const ISOLATION_KEYS = Object.keys(DEFAULT_ISOLATION);
const RESERVED_KEYS: (keyof ReservedConcurrencyConfig)[] = ['socket', 'push', 'apiKeyAuthorizer', 'tokenAuthorizer', 'query'];
/** SSM parameter names: letters, digits, `_ . - /`; a name may not begin with `aws` or `ssm`. */
const PARAMETER_PREFIX = /^(\/[A-Za-z0-9_.-]+)+$/;
const ALARM_KEYS = Object.keys(DEFAULT_ALARMS);

function positiveInt(value: unknown, field: string, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw new ConfigError(field, `must be a positive whole number (${what}), got ${JSON.stringify(value)}`);
  return value;
}

/** A tenant's `eventBridgeSources`, validated; `seen` maps every source listed so far to its tenant (a source belongs to one). */
function eventBridgeSourcesOf(tc: TenantConfig, i: number, seen: Map<string, string>): string[] {
  const field = `tenants[${i}].eventBridgeSources`;
  if (tc.eventBridgeSources === undefined) return [];
  if (!Array.isArray(tc.eventBridgeSources))
    throw new ConfigError(field, `must be a list of Auth0 partner event source names, got ${JSON.stringify(tc.eventBridgeSources)}`);
  tc.eventBridgeSources.forEach((source, j) => {
    const problem = eventBridgeSourceProblem(source);
    if (problem) throw new ConfigError(`${field}[${j}]`, problem);
    const owner = seen.get(source);
    if (owner !== undefined)
      throw new ConfigError(
        `${field}[${j}]`,
        `${source} is listed ${owner === tc.name ? 'twice' : `for tenant ${owner} too`}: a partner event source belongs to one tenant`,
      );
    seen.set(source, tc.name);
  });
  return [...tc.eventBridgeSources];
}

/**
 * A deployed tenant's token issuer (lower case), refused when it is not https or is another tenant's.
 * - http: the verifier fetches the JWKS from the issuer, so over http anyone on the path could hand it
 *   their own keys. Only the local runtime's `dev` tenant has an http (loopback) issuer, and it is not
 *   configured here (local/dev-tenant.ts adds it to the local runtime's tenants itself).
 * - shared: tokens are matched to a tenant by issuer (and audience); two tenants with one issuer (the
 *   same custom domain, or a custom domain that is another tenant's Auth0 domain) would let one
 *   tenant's tokens open the other's events and listeners.
 * `seen`: the issuers of the tenants before this one, each with its tenant's name.
 */
function issuerOf(tc: TenantConfig, i: number, seen: ReadonlyMap<string, string>): string {
  const issuer = toTenant(tc).issuer.toLowerCase();
  if (!issuer.startsWith('https://')) {
    throw new ConfigError(
      `tenants[${i}].issuer`,
      `${JSON.stringify(tc.issuer)} is not an https URL: a deployed pipeline fetches the signing keys from the issuer, so it must be https (only the local runtime's dev tenant has an http issuer)`,
    );
  }
  const owner = seen.get(issuer);
  if (owner !== undefined) {
    const field = tc.issuer ? 'issuer' : tc.customDomain ? 'customDomain' : 'name';
    throw new ConfigError(
      `tenants[${i}].${field}`,
      `tenant ${tc.name} has the token issuer ${issuer} of tenant ${owner}: each tenant needs an issuer of its own, or one tenant's tokens would open the other's events`,
    );
  }
  return issuer;
}

/**
 * A deployed tenant's `managementApi`, copied field by field: a deployed poller calls Auth0 over https
 * only (an http loopback origin is for the local runtime and tests, which do not come through here).
 */
function managementApiOf(tc: TenantConfig, i: number): NonNullable<TenantConfig['managementApi']> {
  const m = tc.managementApi!;
  if (m.domain !== undefined && m.domain.includes('://')) {
    throw new ConfigError(
      `tenants[${i}].managementApi.domain`,
      `${JSON.stringify(m.domain)} is an http stand-in for Auth0: a deployed poller calls the Management API over https; give the host name only (e.g. ${tc.name.split('@')[0]}.auth0.com), or leave it out for the tenant's Auth0 domain`,
    );
  }
  return { secret: m.secret, ...(m.domain ? { domain: m.domain } : {}), ...(m.secretKeyArn ? { secretKeyArn: m.secretKeyArn } : {}) };
}

/** An object setting (or undefined), with only the given keys. */
function objectOf(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(field, `must be an object with any of ${keys.join(', ')}`);
  for (const key of Object.keys(value))
    if (!keys.includes(key)) throw new ConfigError(`${field}.${key}`, `is not a known setting; known settings: ${keys.join(', ')}`);
  return value as Record<string, unknown>;
}

function rateLimitOf(value: unknown, field: string, fallback: RateLimit): RateLimit {
  const v = objectOf(value, field, ['rateLimit', 'burstLimit']);
  const limit = {
    rateLimit: positiveInt(v.rateLimit, `${field}.rateLimit`, 'requests per second', fallback.rateLimit),
    burstLimit: positiveInt(v.burstLimit, `${field}.burstLimit`, 'requests', fallback.burstLimit),
  };
  if (limit.burstLimit < limit.rateLimit)
    throw new ConfigError(`${field}.burstLimit`, `must be at least rateLimit (${limit.rateLimit}), got ${limit.burstLimit}`);
  return limit;
}

function isolationOf(value: unknown): IsolationConfig {
  const v = objectOf(value, 'isolation', ISOLATION_KEYS);
  const r = objectOf(v.reservedConcurrency, 'isolation.reservedConcurrency', RESERVED_KEYS);
  const reservedConcurrency: ReservedConcurrencyConfig = {};
  for (const key of RESERVED_KEYS) {
    if (r[key] !== undefined)
      reservedConcurrency[key] = positiveInt(
        r[key],
        `isolation.reservedConcurrency.${key}`,
        'concurrent executions reserved for the function; leave it out for none',
        0,
      );
  }
  const socketConcurrency = positiveInt(
    v.socketConcurrency,
    'isolation.socketConcurrency',
    'concurrent executions',
    reservedConcurrency.socket ?? DEFAULT_ISOLATION.socketConcurrency,
  );
  if (reservedConcurrency.socket !== undefined && socketConcurrency > reservedConcurrency.socket) {
    throw new ConfigError(
      'isolation.socketConcurrency',
      `${socketConcurrency} is more than isolation.reservedConcurrency.socket (${reservedConcurrency.socket}): the routes would let through more than the function may run, and Lambda would refuse the rest with errors instead of API Gateway answering 429`,
    );
  }
  const q = objectOf(v.queryThrottle, 'isolation.queryThrottle', ['events', 'listeners']);
  const tokenCacheSeconds = v.tokenCacheSeconds ?? DEFAULT_ISOLATION.tokenCacheSeconds;
  if (typeof tokenCacheSeconds !== 'number' || !Number.isInteger(tokenCacheSeconds) || tokenCacheSeconds < 0 || tokenCacheSeconds > 3600) {
    throw new ConfigError(
      'isolation.tokenCacheSeconds',
      `must be a whole number of seconds from 0 (no cache) to 3600 (API Gateway's maximum), got ${JSON.stringify(tokenCacheSeconds)}`,
    );
  }
  return {
    socketConcurrency,
    reservedConcurrency,
    queryThrottle: {
      events: rateLimitOf(q.events, 'isolation.queryThrottle.events', DEFAULT_ISOLATION.queryThrottle.events),
      listeners: rateLimitOf(q.listeners, 'isolation.queryThrottle.listeners', DEFAULT_ISOLATION.queryThrottle.listeners),
    },
    tokenCacheSeconds,
  };
}

/** The `archive` setting, validated (undefined: the defaults). */
function archiveOf(raw: unknown): ArchiveConfig | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError('archive', `must be an object {"transitionAfterDays", "expireAfterDays"}, got ${JSON.stringify(raw)}`);
  const a = raw as Record<string, unknown>;
  for (const key of Object.keys(a))
    if (key !== 'transitionAfterDays' && key !== 'expireAfterDays')
      throw new ConfigError(`archive.${key}`, 'is not a known setting; known settings: transitionAfterDays, expireAfterDays');
  const transitionAfterDays = positiveInt(a.transitionAfterDays, 'archive.transitionAfterDays', 'days', 90);
  const expireAfterDays = positiveInt(a.expireAfterDays, 'archive.expireAfterDays', 'days', 400);
  if (expireAfterDays <= transitionAfterDays)
    throw new ConfigError('archive.expireAfterDays', `must be after archive.transitionAfterDays (${transitionAfterDays}), got ${expireAfterDays}`);
  return { transitionAfterDays, expireAfterDays };
}

/** Validates a raw context value (object or JSON string) into a complete configuration. */
export function parseConfig(raw: unknown): Auth0EventsConfig {
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new ConfigError('', 'is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('', `must be an object with at least "tenants"; set it in cdk.json under context."${CONTEXT_KEY}"`);
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v))
    if (!KNOWN_KEYS.includes(key)) throw new ConfigError(key, `is not a known setting; known settings: ${KNOWN_KEYS.join(', ')}`);

  if (!Array.isArray(v.tenants) || v.tenants.length === 0)
    throw new ConfigError('tenants', 'must be a non-empty list of {"name", "audience", "customDomain"?}');
  const names = new Set<string>();
  const sources = new Map<string, string>();
  const issuers = new Map<string, string>();
  const tenants = v.tenants.map((t, i) => {
    const problem = tenantConfigProblem(t);
    if (problem) throw new ConfigError(`tenants[${i}]`, problem);
    const tc = t as TenantConfig;
    if (names.has(tc.name)) throw new ConfigError(`tenants[${i}].name`, `tenant ${tc.name} is listed twice`);
    names.add(tc.name);
    const issuer = issuerOf(tc, i, issuers);
    issuers.set(issuer, tc.name);
    const eventBridgeSources = eventBridgeSourcesOf(tc, i, sources);
    return {
      name: tc.name,
      audience: tc.audience,
      ...(tc.customDomain ? { customDomain: tc.customDomain } : {}),
      ...(tc.issuer ? { issuer: tc.issuer } : {}),
      ...(tc.trustScopeClaim ? { trustScopeClaim: true } : {}),
      ...(eventBridgeSources.length ? { eventBridgeSources } : {}),
      ...(tc.managementApi ? { managementApi: managementApiOf(tc, i) } : {}),
    };
  });

  const t = (v.throttle ?? {}) as Record<string, unknown>;
  if (typeof t !== 'object' || Array.isArray(t)) throw new ConfigError('throttle', 'must be an object {"rateLimit", "burstLimit", "quotaPerDay"}');
  const throttle: ThrottleConfig = {
    rateLimit: positiveInt(t.rateLimit, 'throttle.rateLimit', 'requests per second', DEFAULT_THROTTLE.rateLimit),
    burstLimit: positiveInt(t.burstLimit, 'throttle.burstLimit', 'requests', DEFAULT_THROTTLE.burstLimit),
    quotaPerDay: positiveInt(t.quotaPerDay, 'throttle.quotaPerDay', 'requests per day', DEFAULT_THROTTLE.quotaPerDay),
  };
  if (throttle.burstLimit < throttle.rateLimit)
    throw new ConfigError('throttle.burstLimit', `must be at least rateLimit (${throttle.rateLimit}), got ${throttle.burstLimit}`);

  if (v.alarmEmail !== undefined && (typeof v.alarmEmail !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v.alarmEmail))) {
    throw new ConfigError('alarmEmail', `must be an e-mail address, got ${JSON.stringify(v.alarmEmail)}`);
  }
  const logRetentionDays = positiveInt(v.logRetentionDays, 'logRetentionDays', 'days', 90);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays))
    throw new ConfigError('logRetentionDays', `must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`);
  if (v.deletionProtection !== undefined && typeof v.deletionProtection !== 'boolean') throw new ConfigError('deletionProtection', 'must be true or false');

  const a = (v.alarms ?? {}) as Record<string, unknown>;
  if (typeof a !== 'object' || Array.isArray(a)) throw new ConfigError('alarms', `must be an object with any of ${ALARM_KEYS.join(', ')}`);
  for (const key of Object.keys(a))
    if (!ALARM_KEYS.includes(key)) throw new ConfigError(`alarms.${key}`, `is not a known setting; known settings: ${ALARM_KEYS.join(', ')}`);
  const alarms: AlarmConfig = {
    noEventsHours: positiveInt(a.noEventsHours, 'alarms.noEventsHours', 'hours', DEFAULT_ALARMS.noEventsHours),
    apiLatencyP99Ms: positiveInt(a.apiLatencyP99Ms, 'alarms.apiLatencyP99Ms', 'milliseconds', DEFAULT_ALARMS.apiLatencyP99Ms),
    api5xxPercent: positiveInt(a.api5xxPercent, 'alarms.api5xxPercent', 'percent', DEFAULT_ALARMS.api5xxPercent),
    api4xxPercent: positiveInt(a.api4xxPercent, 'alarms.api4xxPercent', 'percent', DEFAULT_ALARMS.api4xxPercent),
    noEventsTenants: [],
  };
  if (a.noEventsTenants !== undefined) {
    if (!Array.isArray(a.noEventsTenants) || a.noEventsTenants.some((t) => typeof t !== 'string')) {
      throw new ConfigError('alarms.noEventsTenants', `must be a list of tenant names, got ${JSON.stringify(a.noEventsTenants)}`);
    }
    for (const t of a.noEventsTenants as string[]) {
      if (!names.has(t)) throw new ConfigError('alarms.noEventsTenants', `names ${JSON.stringify(t)}, which is not in tenants (${[...names].join(', ')})`);
    }
    alarms.noEventsTenants = [...new Set(a.noEventsTenants as string[])];
  }
  // CloudWatch evaluates at most one day of data per alarm.
  if (alarms.noEventsHours > 24)
    throw new ConfigError('alarms.noEventsHours', `must be 1 to 24 hours (CloudWatch evaluates at most a day), got ${alarms.noEventsHours}`);
  for (const key of ['api5xxPercent', 'api4xxPercent'] as const) {
    if (alarms[key] > 100) throw new ConfigError(`alarms.${key}`, `must be a percentage from 1 to 100, got ${alarms[key]}`);
  }
  if (alarms.apiLatencyP99Ms > 29_000)
    throw new ConfigError('alarms.apiLatencyP99Ms', `must be below API Gateway's 29,000 ms integration timeout, got ${alarms.apiLatencyP99Ms}`);

  if (v.lambdaArchitecture !== undefined && v.lambdaArchitecture !== 'arm64' && v.lambdaArchitecture !== 'x86_64') {
    throw new ConfigError('lambdaArchitecture', `must be "arm64" or "x86_64", got ${JSON.stringify(v.lambdaArchitecture)}`);
  }

  const accounts = v.subscriberAccounts ?? [];
  if (!Array.isArray(accounts) || accounts.some((a) => typeof a !== 'string' || !/^\d{12}$/.test(a))) {
    throw new ConfigError('subscriberAccounts', `must be a list of 12-digit AWS account ids, got ${JSON.stringify(v.subscriberAccounts)}`);
  }
  const prefix = v.parameterPrefix;
  if (prefix !== undefined && (typeof prefix !== 'string' || !PARAMETER_PREFIX.test(prefix) || /^\/(aws|ssm)/i.test(prefix) || prefix.length > 900)) {
    throw new ConfigError(
      'parameterPrefix',
      `must be an SSM parameter path such as /auth0-events/prod (letters, digits, _ . - /; no trailing slash; not under /aws or /ssm), got ${JSON.stringify(prefix)}`,
    );
  }

  const l = (v.listenerLimits ?? {}) as Record<string, unknown>;
  if (typeof l !== 'object' || l === null || Array.isArray(l)) throw new ConfigError('listenerLimits', 'must be an object {"perSub", "perTenant"}');
  for (const key of Object.keys(l))
    if (!['perSub', 'perTenant'].includes(key)) throw new ConfigError(`listenerLimits.${key}`, 'is not a known setting; known settings: perSub, perTenant');
  const listenerLimits: ListenerLimits = {
    perSub: positiveInt(l.perSub, 'listenerLimits.perSub', 'live connections per user', DEFAULT_LISTENER_LIMITS.perSub),
    perTenant: positiveInt(l.perTenant, 'listenerLimits.perTenant', 'live connections per tenant', DEFAULT_LISTENER_LIMITS.perTenant),
  };
  if (listenerLimits.perSub > listenerLimits.perTenant)
    throw new ConfigError('listenerLimits.perSub', `must be at most perTenant (${listenerLimits.perTenant}), got ${listenerLimits.perSub}`);
  const isolation = isolationOf(v.isolation);
  const archive = archiveOf(v.archive);

  return {
    tenants,
    throttle,
    listenerLimits,
    isolation,
    ...(archive ? { archive } : {}),
    ...(accounts.length ? { subscriberAccounts: [...new Set(accounts as string[])] } : {}),
    ...(prefix ? { parameterPrefix: prefix as string } : {}),
    ...(v.lambdaArchitecture === 'x86_64' ? { lambdaArchitecture: 'x86_64' as const } : {}),
    ...(v.alarmEmail ? { alarmEmail: v.alarmEmail as string } : {}),
    logRetentionDays,
    deletionProtection: (v.deletionProtection as boolean | undefined) ?? true,
    alarms,
  };
}

/** The id in the shipped example's partner event source (cdk.json): a placeholder no Auth0 source has. */
export const EXAMPLE_SOURCE_ID = '-00000000-0000-0000-0000-000000000000/';

/**
 * The settings of `config` that still hold the shipped example's placeholders: addresses under the
 * `.example` domain, which is reserved for examples (RFC 2606) and so never a real deployment's, and
 * partner event sources with the example's all-zero id (EXAMPLE_SOURCE_ID).
 * The stack refuses to deploy such a configuration (lib/auth0-events-stack.ts); synth still works.
 */
export function examplePlaceholders(config: Auth0EventsConfig): string[] {
  const isExample = (value: string | undefined) => {
    if (!value) return false;
    let host = value.includes('@') ? value.slice(value.lastIndexOf('@') + 1) : value;
    try {
      host = new URL(host.includes('://') ? host : `https://${host}`).hostname;
    } catch {
      /* not a URL: compare as written */
    }
    return /(^|\.)example\.?$/i.test(host);
  };
  const found: string[] = [];
  if (isExample(config.alarmEmail)) found.push(`alarmEmail (${config.alarmEmail})`);
  config.tenants.forEach((t, i) => {
    if (isExample(t.audience)) found.push(`tenants[${i}].audience (${t.audience})`);
    if (isExample(t.customDomain)) found.push(`tenants[${i}].customDomain (${t.customDomain})`);
    // The shipped example's partner event source has the all-zero id, which Auth0 never issues:
    // CloudFormation could not create its bus (the source does not exist in any account).
    (t.eventBridgeSources ?? []).forEach((s, j) => {
      if (s.includes(EXAMPLE_SOURCE_ID)) found.push(`tenants[${i}].eventBridgeSources[${j}] (${s})`);
    });
  });
  return found;
}
