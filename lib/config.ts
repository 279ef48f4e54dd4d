/**
 * Deployment configuration, read from CDK context key `auth0-events` (cdk.json, or
 * `-c auth0-events='{"tenants":[...]}'`) and validated at synth: a bad value fails with a
 * message naming the field and what is allowed.
 */
import { eventBridgeSourceProblem, tenantConfigProblem, type TenantConfig } from '../lambda/shared/tenants';

export const CONTEXT_KEY = 'auth0-events';

export interface ThrottleConfig {
  /** Steady-state requests per second for the Auth0 API key. */
  rateLimit: number;
  /** Burst of requests above the rate. */
  burstLimit: number;
  /** Requests per day; the usage plan refuses more with 429. */
  quotaPerDay: number;
}

/** Thresholds of the operations alarms (lib/monitoring.ts, README.md ("Operations")). */
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
   * (README.md, "Deploy"). Silence pages only for these, so a fresh deploy, before Auth0 is connected,
   * pages nobody. A CloudWatch alarm remembers at most one day, so it cannot tell "never connected"
   * from "stopped three days ago" by itself: this list is that memory.
   * @default - none
   */
  noEventsTenants: string[];
}

/** The event archive's retention (lib/event-archive.ts, README.md ("Archive")). */
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
   * The event archive's retention: `transitionAfterDays` (to S3 Glacier Instant Retrieval) and
   * `expireAfterDays` (deleted), whole days, expiry after the transition.
   * @default { transitionAfterDays: 90, expireAfterDays: 400 }
   */
  readonly archive?: Readonly<ArchiveConfig>;
}

export const DEFAULT_THROTTLE: ThrottleConfig = { rateLimit: 50, burstLimit: 100, quotaPerDay: 1_000_000 };
export const DEFAULT_ALARMS: AlarmConfig = { noEventsHours: 6, apiLatencyP99Ms: 5000, api5xxPercent: 5, api4xxPercent: 25, noEventsTenants: [] };
/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export class ConfigError extends Error {
  constructor(field: string, problem: string) {
    super(`Invalid configuration ${CONTEXT_KEY}.${field}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const KNOWN_KEYS = ['tenants', 'throttle', 'alarmEmail', 'logRetentionDays', 'deletionProtection', 'alarms', 'lambdaArchitecture', 'subscriberAccounts', 'parameterPrefix', 'archive'];
/** SSM parameter names: letters, digits, `_ . - /`; a name may not begin with `aws` or `ssm`. */
const PARAMETER_PREFIX = /^(\/[A-Za-z0-9_.-]+)+$/;
const ALARM_KEYS = Object.keys(DEFAULT_ALARMS);

function positiveInt(value: unknown, field: string, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new ConfigError(field, `must be a positive whole number (${what}), got ${JSON.stringify(value)}`);
  return value;
}

/** A tenant's `eventBridgeSources`, validated; `seen` maps every source listed so far to its tenant (a source belongs to one). */
function eventBridgeSourcesOf(tc: TenantConfig, i: number, seen: Map<string, string>): string[] {
  const field = `tenants[${i}].eventBridgeSources`;
  if (tc.eventBridgeSources === undefined) return [];
  if (!Array.isArray(tc.eventBridgeSources)) throw new ConfigError(field, `must be a list of Auth0 partner event source names, got ${JSON.stringify(tc.eventBridgeSources)}`);
  tc.eventBridgeSources.forEach((source, j) => {
    const problem = eventBridgeSourceProblem(source);
    if (problem) throw new ConfigError(`${field}[${j}]`, problem);
    const owner = seen.get(source);
    if (owner !== undefined) throw new ConfigError(`${field}[${j}]`, `${source} is listed ${owner === tc.name ? 'twice' : `for tenant ${owner} too`}: a partner event source belongs to one tenant`);
    seen.set(source, tc.name);
  });
  return [...tc.eventBridgeSources];
}

/** The `archive` setting, validated (undefined: the defaults). */
function archiveOf(raw: unknown): ArchiveConfig | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('archive', `must be an object {"transitionAfterDays", "expireAfterDays"}, got ${JSON.stringify(raw)}`);
  const a = raw as Record<string, unknown>;
  for (const key of Object.keys(a)) if (key !== 'transitionAfterDays' && key !== 'expireAfterDays') throw new ConfigError(`archive.${key}`, 'is not a known setting; known settings: transitionAfterDays, expireAfterDays');
  const transitionAfterDays = positiveInt(a.transitionAfterDays, 'archive.transitionAfterDays', 'days', 90);
  const expireAfterDays = positiveInt(a.expireAfterDays, 'archive.expireAfterDays', 'days', 400);
  if (expireAfterDays <= transitionAfterDays) throw new ConfigError('archive.expireAfterDays', `must be after archive.transitionAfterDays (${transitionAfterDays}), got ${expireAfterDays}`);
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
  for (const key of Object.keys(v)) if (!KNOWN_KEYS.includes(key)) throw new ConfigError(key, `is not a known setting; known settings: ${KNOWN_KEYS.join(', ')}`);

  if (!Array.isArray(v.tenants) || v.tenants.length === 0) throw new ConfigError('tenants', 'must be a non-empty list of {"name", "audience", "customDomain"?}');
  const names = new Set<string>();
  const sources = new Map<string, string>();
  const tenants = v.tenants.map((t, i) => {
    const problem = tenantConfigProblem(t);
    if (problem) throw new ConfigError(`tenants[${i}]`, problem);
    const tc = t as TenantConfig;
    if (names.has(tc.name)) throw new ConfigError(`tenants[${i}].name`, `tenant ${tc.name} is listed twice`);
    names.add(tc.name);
    const eventBridgeSources = eventBridgeSourcesOf(tc, i, sources);
    return {
      name: tc.name, audience: tc.audience, ...(tc.customDomain ? { customDomain: tc.customDomain } : {}), ...(tc.issuer ? { issuer: tc.issuer } : {}),
      ...(tc.trustScopeClaim ? { trustScopeClaim: true } : {}), ...(eventBridgeSources.length ? { eventBridgeSources } : {}),
    };
  });

  const t = (v.throttle ?? {}) as Record<string, unknown>;
  if (typeof t !== 'object' || Array.isArray(t)) throw new ConfigError('throttle', 'must be an object {"rateLimit", "burstLimit", "quotaPerDay"}');
  const throttle: ThrottleConfig = {
    rateLimit: positiveInt(t.rateLimit, 'throttle.rateLimit', 'requests per second', DEFAULT_THROTTLE.rateLimit),
    burstLimit: positiveInt(t.burstLimit, 'throttle.burstLimit', 'requests', DEFAULT_THROTTLE.burstLimit),
    quotaPerDay: positiveInt(t.quotaPerDay, 'throttle.quotaPerDay', 'requests per day', DEFAULT_THROTTLE.quotaPerDay),
  };
  if (throttle.burstLimit < throttle.rateLimit) throw new ConfigError('throttle.burstLimit', `must be at least rateLimit (${throttle.rateLimit}), got ${throttle.burstLimit}`);

  if (v.alarmEmail !== undefined && (typeof v.alarmEmail !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v.alarmEmail))) {
    throw new ConfigError('alarmEmail', `must be an e-mail address, got ${JSON.stringify(v.alarmEmail)}`);
  }
  const logRetentionDays = positiveInt(v.logRetentionDays, 'logRetentionDays', 'days', 90);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) throw new ConfigError('logRetentionDays', `must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`);
  if (v.deletionProtection !== undefined && typeof v.deletionProtection !== 'boolean') throw new ConfigError('deletionProtection', 'must be true or false');

  const a = (v.alarms ?? {}) as Record<string, unknown>;
  if (typeof a !== 'object' || Array.isArray(a)) throw new ConfigError('alarms', `must be an object with any of ${ALARM_KEYS.join(', ')}`);
  for (const key of Object.keys(a)) if (!ALARM_KEYS.includes(key)) throw new ConfigError(`alarms.${key}`, `is not a known setting; known settings: ${ALARM_KEYS.join(', ')}`);
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
  if (alarms.noEventsHours > 24) throw new ConfigError('alarms.noEventsHours', `must be 1 to 24 hours (CloudWatch evaluates at most a day), got ${alarms.noEventsHours}`);
  for (const key of ['api5xxPercent', 'api4xxPercent'] as const) {
    if (alarms[key] > 100) throw new ConfigError(`alarms.${key}`, `must be a percentage from 1 to 100, got ${alarms[key]}`);
  }
  if (alarms.apiLatencyP99Ms > 29_000) throw new ConfigError('alarms.apiLatencyP99Ms', `must be below API Gateway's 29,000 ms integration timeout, got ${alarms.apiLatencyP99Ms}`);

  if (v.lambdaArchitecture !== undefined && v.lambdaArchitecture !== 'arm64' && v.lambdaArchitecture !== 'x86_64') {
    throw new ConfigError('lambdaArchitecture', `must be "arm64" or "x86_64", got ${JSON.stringify(v.lambdaArchitecture)}`);
  }

  const accounts = v.subscriberAccounts ?? [];
  if (!Array.isArray(accounts) || accounts.some((a) => typeof a !== 'string' || !/^\d{12}$/.test(a))) {
    throw new ConfigError('subscriberAccounts', `must be a list of 12-digit AWS account ids, got ${JSON.stringify(v.subscriberAccounts)}`);
  }
  const prefix = v.parameterPrefix;
  if (prefix !== undefined && (typeof prefix !== 'string' || !PARAMETER_PREFIX.test(prefix) || /^\/(aws|ssm)/i.test(prefix) || prefix.length > 900)) {
    throw new ConfigError('parameterPrefix', `must be an SSM parameter path such as /auth0-events/prod (letters, digits, _ . - /; no trailing slash; not under /aws or /ssm), got ${JSON.stringify(prefix)}`);
  }

  const archive = archiveOf(v.archive);

  return {
    tenants,
    throttle,
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
