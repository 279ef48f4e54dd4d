/**
 * Auth0 Event Streams: one CloudEvent 1.0 per request (webhook), or per EventBridge entry.
 *
 * Shape, from Auth0's documentation:
 * - https://auth0.com/docs/customize/events/event-types: `id`, `source`, `specversion`, `type`, `time`,
 *   `data` (an object, the changed entity in `data.object`), types `user.created`, `user.updated`,
 *   `user.deleted`; the overview's example spells the type `com.auth0.user.<event-type>` and the source
 *   `urn:auth0:<your-tenant>:users`;
 * - https://auth0.com/docs/events/user/user.created (and each event's reference page): type
 *   `user.created`, source "in the form urn:auth0:<domain>" (example `urn:auth0:example.auth0app.com`),
 *   extension attributes `a0tenant` (the tenant name, `[a-z0-9][-a-z0-9]{1,62}[a-z0-9]`) and `a0stream`
 *   (the stream id, `est_...`);
 * - the event type list of the Management API (EventStreamEventTypeEnum in Auth0's SDKs): user.*,
 *   organization.*, group.*, connection.*;
 * - https://auth0.com/docs/deploy-monitor/events/events-best-practices: at least once, any order;
 *   de-duplicate by event id, order by the objects' `updated_at`.
 * A well-formed CloudEvent of a type this pipeline does not name (connection.*, a future type) is
 * accepted as a `log` event: refusing it would make Auth0 retry it, and disable the stream after 500
 * consecutive failures.
 */
import type { CanonicalEvent, EventType, Level } from '../shared/event';
import { canonicalDate, codeProblem, DATE_RULE, identifierProblem, isObject, LIMITS } from '../shared/event-rules';
import { HttpError } from '../shared/http';
import { auth0Domain, configuredTenants, tenantsConfigured, type TenantConfig } from '../shared/tenants';
import { fitEvent, SNS_MAX_BYTES, toMessage } from './fit';
import { depthOf, describe, jsonProblem, MAX_DEPTH } from './parse';

export interface CloudEvent {
  id: string;
  source: string;
  specversion: '1.0';
  /** The type as sent: `user.created` or `com.auth0.user.created`. */
  type: string;
  /** The type without the `com.auth0.` prefix: `user.created`. */
  eventType: string;
  /** ISO 8601, as sent. */
  time: string;
  data: Record<string, unknown>;
  a0tenant?: string;
  a0stream?: string;
  /** `"test"` for Auth0's test deliveries (a0purpose, optional in Auth0's CloudEvent schema). */
  a0purpose?: string;
  /** The whole CloudEvent as received (every attribute, extensions included). */
  raw: Record<string, unknown>;
}

/** Prefix of canonical ids of CloudEvents: never a Log Stream `log_id` (digits) nor an Action id (`act_`). */
export const CLOUD_EVENT_ID_PREFIX = 'ce_';
/** Longest `source` accepted (a URN naming a host name: 253 characters and a few segments). */
export const MAX_SOURCE_CHARS = 1024;
const AUTH0_TYPE_PREFIX = 'com.auth0.';

/** Canonical types of the CloudEvent types this pipeline names (docs/auth0-setup.md, "Auth0 Event Streams (webhook)"). */
export const CLOUD_EVENT_TYPES: Readonly<Record<string, EventType>> = {
  'user.created': 'user_registered',
  'user.updated': 'user_updated',
  'user.deleted': 'user_deleted',
  'organization.created': 'organization_created',
  'organization.updated': 'organization_updated',
  'organization.deleted': 'organization_deleted',
  'organization.member.added': 'organization_member_added',
  'organization.member.deleted': 'organization_member_deleted',
  'organization.member.role.assigned': 'organization_member_role_assigned',
  'organization.member.role.deleted': 'organization_member_role_deleted',
  'organization.connection.added': 'organization_connection_added',
  'organization.connection.updated': 'organization_connection_updated',
  'organization.connection.removed': 'organization_connection_removed',
  'organization.group.role.assigned': 'organization_group_role_assigned',
  'organization.group.role.deleted': 'organization_group_role_deleted',
  'group.created': 'group_created',
  'group.updated': 'group_updated',
  'group.deleted': 'group_deleted',
  'group.member.added': 'group_member_added',
  'group.member.deleted': 'group_member_deleted',
  'group.role.assigned': 'group_role_assigned',
  'group.role.deleted': 'group_role_deleted',
};

/**
 * Level of every Event Streams event: 1 (info), the catalogue's level for successful changes
 * (lambda/shared/log-types.ts: `ss` signup and `sdu` user deleted are 1). Every Event Streams event
 * reports a completed change, none a failure.
 */
export const CLOUD_EVENT_LEVEL: Level = 1;

const bad = (message: string, field?: string): HttpError => new HttpError(400, 'invalid_cloud_event', message, field ? { field } : {});

/** Parses and validates one CloudEvent (structured JSON mode); throws HttpError 400 naming the problem. */
export function parseCloudEvent(value: unknown): CloudEvent {
  if (!isObject(value)) throw bad(`The body must be one CloudEvent (a JSON object with id, source, specversion, type, time and data), not ${describe(value)}.`);
  const v = value;
  const missing = ['id', 'source', 'specversion', 'type', 'time', 'data'].filter((k) => v[k] === undefined || v[k] === null);
  if (missing.length)
    throw bad(
      `The CloudEvent has no ${missing.map((k) => `"${k}"`).join(', ')}: Auth0 Event Streams send id, source, specversion, type, time and data.`,
      missing[0],
    );
  if (v.specversion !== '1.0') throw bad(`"specversion" must be "1.0" (CloudEvents 1.0), not ${JSON.stringify(v.specversion)?.slice(0, 40)}.`, 'specversion');
  const idProblem = identifierProblem(v.id, LIMITS.idBytes - CLOUD_EVENT_ID_PREFIX.length);
  if (idProblem) throw bad(`"id" ${idProblem}.`, 'id');
  if (typeof v.source !== 'string' || v.source === '' || v.source.length > MAX_SOURCE_CHARS)
    throw bad(`"source" must be a non-empty string of at most ${MAX_SOURCE_CHARS} characters (urn:auth0:<tenant domain>).`, 'source');
  const typeProblem = codeProblem(v.type, LIMITS.logTypeBytes);
  if (typeProblem) throw bad(`"type" ${typeProblem} (e.g. user.created).`, 'type');
  if (canonicalDate(v.time) === undefined) throw bad(`"time" must be ${DATE_RULE}, not ${JSON.stringify(v.time)?.slice(0, 40)}.`, 'time');
  if (!isObject(v.data)) throw bad(`"data" must be an object (the event payload), not ${describe(v.data)}.`, 'data');
  for (const ext of ['a0tenant', 'a0stream'] as const) {
    if (v[ext] !== undefined && codeProblem(v[ext], 100)) throw bad(`"${ext}" must be a printable ASCII string of at most 100 characters when present.`, ext);
  }
  if (depthOf(v) > MAX_DEPTH) throw bad(`The CloudEvent nests deeper than ${MAX_DEPTH} levels.`, 'data');
  const type = v.type as string;
  return {
    id: v.id as string,
    source: v.source,
    specversion: '1.0',
    type,
    eventType: type.startsWith(AUTH0_TYPE_PREFIX) ? type.slice(AUTH0_TYPE_PREFIX.length) : type,
    time: v.time as string,
    data: v.data,
    ...(typeof v.a0tenant === 'string' ? { a0tenant: v.a0tenant } : {}),
    ...(typeof v.a0stream === 'string' ? { a0stream: v.a0stream } : {}),
    // a0purpose only tells a test delivery: any other value (or type) is ignored, never a reason to refuse the event.
    ...(v.a0purpose === 'test' ? { a0purpose: 'test' } : {}),
    raw: v,
  };
}

/** The configured tenant names (TENANTS or TENANTS_FILE); just the tenant itself when neither is set. */
function configuredNames(tenant: TenantConfig): string[] {
  return tenantsConfigured() ? [...configuredTenants().keys()] : [tenant.name];
}

/**
 * Why the CloudEvent is not the tenant's, or undefined when it is. The source must be
 * `urn:auth0:<name>` or `urn:auth0:<name>:<more>`, where <name> is the tenant's Auth0 domain
 * (acme.eu.auth0.com for acme@eu) or its configured custom domain; and `a0tenant`, when sent, must be
 * the tenant name without its region. The bare tenant name (`urn:auth0:acme:users`, the overview's
 * spelling) names no region, so it is accepted only when no other configured tenant (`tenantNames`,
 * default TENANTS) shares that short name: with acme and acme@eu both served, it could be either's.
 */
export function cloudEventTenantProblem(ce: CloudEvent, tenant: TenantConfig, tenantNames: Iterable<string> = configuredNames(tenant)): string | undefined {
  const shortName = tenant.name.split('@')[0];
  const m = /^urn:auth0:([^:]+)(?::.*)?$/i.exec(ce.source);
  const expected = `urn:auth0:${auth0Domain(tenant.name)}`;
  if (!m) return `The CloudEvent's source ${JSON.stringify(ce.source.slice(0, 100))} is not an Auth0 source; tenant ${tenant.name} accepts ${expected}.`;
  const named = m[1].toLowerCase();
  const domains = [auth0Domain(tenant.name), ...(tenant.customDomain ? [tenant.customDomain.toLowerCase()] : [])];
  if (named === shortName) {
    const sharing = [...tenantNames].filter((n) => n !== tenant.name && n.split('@')[0] === shortName);
    if (sharing.length)
      return `The CloudEvent's source ${JSON.stringify(ce.source.slice(0, 100))} names only ${JSON.stringify(shortName)}, which is also the name of ${sharing.join(', ')} served here; tenant ${tenant.name} accepts only ${domains.map((d) => `urn:auth0:${d}`).join(' or ')}.`;
  } else if (!domains.includes(named)) {
    return `The CloudEvent's source ${JSON.stringify(ce.source.slice(0, 100))} names another tenant than ${tenant.name} (expected ${expected}); send each tenant's stream to its own URL.`;
  }
  if (ce.a0tenant !== undefined && ce.a0tenant !== shortName)
    return `The CloudEvent's a0tenant ${JSON.stringify(ce.a0tenant)} names another tenant than ${tenant.name} (expected ${JSON.stringify(shortName)}).`;
  return undefined;
}

/**
 * Whether the CloudEvent is one of Auth0's test deliveries: extension attribute `a0purpose: "test"`
 * (EventStreamCloudEvent*: `a0purpose?: "test"` in Auth0's SDKs, e.g. auth0/ruby-auth0's
 * EventStreamCloudEventA0PurposeEnum). Such an event describes no real change: it is acknowledged and
 * never published (a test user.deleted must not mark a user deleted).
 */
export const isTestDelivery = (ce: CloudEvent): boolean => ce.a0purpose === 'test';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The user a CloudEvent is about: `data.object.user_id` (user.*), `.user.user_id` (organization.member.*), a user `member` (group.member.*). */
export function cloudEventUserId(ce: CloudEvent): string | undefined {
  const object = isObject(ce.data.object) ? ce.data.object : {};
  if (ce.eventType.startsWith('user.')) return str(object.user_id);
  if (isObject(object.user)) return str(object.user.user_id);
  if (isObject(object.member) && object.member.member_type === 'user') return str(object.member.id);
  return undefined;
}

/**
 * The canonical event of a valid CloudEvent: id `ce_<CloudEvent id>` (a redelivery gives the same id, so
 * it is written once), type from CLOUD_EVENT_TYPES (else `log`), `log_type` the CloudEvent type without
 * `com.auth0.`, `date` its `time`, `data` the CloudEvent as received. A `user.*` event without
 * `data.object.user_id` is a 400 (Auth0's schema requires it, and the users table needs it).
 */
export function classifyCloudEvent(ce: CloudEvent, tenant: string, receivedAt: string): CanonicalEvent {
  const userId = cloudEventUserId(ce);
  if (ce.eventType.startsWith('user.') && CLOUD_EVENT_TYPES[ce.eventType] && userId === undefined) {
    throw bad(`A ${ce.eventType} CloudEvent needs "data.object.user_id" (a non-empty string).`, 'data.object.user_id');
  }
  return keepObject({
    id: `${CLOUD_EVENT_ID_PREFIX}${ce.id}`,
    tenant,
    type: CLOUD_EVENT_TYPES[ce.eventType] ?? 'log',
    source: 'event-stream',
    log_type: ce.eventType,
    level: CLOUD_EVENT_LEVEL,
    ...(userId ? { user_id: userId } : {}),
    date: canonicalDate(ce.time) as string,
    received_at: receivedAt,
    data: ce.raw,
  });
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** CloudEvent attributes never dropped by keepObject (the required ones, all bounded by parseCloudEvent). */
const REQUIRED_ATTRIBUTES = new Set(['id', 'source', 'specversion', 'type', 'time', 'data']);
/** An extension attribute larger than this (its `{"name":value}` JSON) is dropped first when the event is too large. */
export const EXTENSION_KEEP_BYTES = 1024;

/**
 * An event too large for one SNS message loses whole top-level fields of `data` (fit.ts), which for a
 * CloudEvent is its whole payload. So, first, extension attributes larger than EXTENSION_KEEP_BYTES
 * are dropped, largest first, until the event fits (their names in `data.truncated_attributes`); then,
 * if it still does not fit, `data.data.object` is trimmed (its largest fields go first: user_metadata,
 * app_metadata, identities), so the user's id, email, name and updated_at reach the users table.
 * Whatever still does not fit is trimmed when published.
 */
function keepObject(event: CanonicalEvent): CanonicalEvent {
  if (!fitEvent(event).event.truncated) return event;
  const attributes = { ...event.data };
  const oversized = Object.keys(attributes)
    .filter((k) => !REQUIRED_ATTRIBUTES.has(k))
    .map((k) => ({ k, bytes: bytes(toMessage({ [k]: attributes[k] })) }))
    .filter((a) => a.bytes > EXTENSION_KEEP_BYTES)
    .sort((a, b) => b.bytes - a.bytes);
  const dropped: string[] = [];
  let current = event;
  for (const { k } of oversized) {
    delete attributes[k];
    dropped.push(k.length > 100 ? `${k.slice(0, 100)}…` : k);
    current = { ...event, data: { ...attributes, truncated_attributes: dropped.slice(0, 20) }, truncated: true };
    if (!fitEvent(current).event.truncated) return current;
  }
  const payload = current.data.data as Record<string, unknown>;
  if (!isObject(payload.object)) return current;
  const shell = { ...current.data, data: { ...payload, object: {} } };
  const overhead = bytes(toMessage({ ...current, data: shell, truncated: true })) - bytes(toMessage({ ...current, data: {}, truncated: true }));
  const object = fitEvent({ ...current, data: payload.object }, SNS_MAX_BYTES - overhead).event.data;
  return { ...current, data: { ...shell, data: { ...payload, object } }, truncated: true };
}

/**
 * The canonical event of a webhook body (one CloudEvent, JSON): 400 when it is not JSON or not a valid
 * CloudEvent, 403 when its source names another tenant, 400 when the canonical event would not pass
 * the subscribers' validator (`problemsOf`). A test delivery of the tenant (isTestDelivery) gives
 * `{test: <canonical id>}`: acknowledged, never published.
 */
export function cloudEventFromBody(
  body: string,
  tenant: TenantConfig,
  receivedAt: string,
  problemsOf: (e: CanonicalEvent) => string[],
): CanonicalEvent | { test: string } {
  const text = body.replace(/^\uFEFF/, '').trim();
  if (text === '') throw new HttpError(400, 'empty_body', 'The body is empty: send one CloudEvent as a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `The body is not valid JSON: ${jsonProblem(e)}; send one CloudEvent as a JSON object.`);
  }
  const ce = parseCloudEvent(value);
  const problem = cloudEventTenantProblem(ce, tenant);
  if (problem) throw new HttpError(403, 'wrong_tenant', problem);
  if (isTestDelivery(ce)) return { test: `${CLOUD_EVENT_ID_PREFIX}${ce.id}` };
  const canonical = classifyCloudEvent(ce, tenant.name, receivedAt);
  const problems = problemsOf(canonical);
  if (problems.length) throw bad(`${problems.join('; ')}.`);
  return canonical;
}
