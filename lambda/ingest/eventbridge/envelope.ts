/**
 * What an Auth0 partner event bus delivers, unwrapped into the canonical event by the SAME code as the
 * webhook doors: the Log Stream record through parse.ts (recordProblems) and classify.ts
 * (classifyLogRecord), the Event Streams CloudEvent through cloud-event.ts, and every event through
 * the subscribers' own validator (eventProblems). A `Refusal` is a property of the input: retrying
 * cannot help, so the handler sends it to the DLQ at once.
 *
 * The EventBridge event (https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html):
 *   {"version":"0","id":"...","detail-type":"Auth0 log","source":"aws.partner/auth0.com/<tenant>-<id>/auth0.logs",
 *    "account":"...","time":"...","region":"...","resources":[],"detail":{...}}
 * Auth0 Log Streams: `detail` is one Log Stream record, `{"log_id": "...", "data": {...Auth0 log event...}}`,
 * the record the custom webhook posts (events captured from Auth0's partner source, e.g. the EventBridge
 * console's sample for partner "Auth0"; Auth0's setup page: https://auth0.com/docs/monitor-auth0/streams/stream-logs-to-amazon-eventbridge).
 * AWS's serverless-patterns sample (auth0-eventbridge-lambda/event.json) shows the log event itself as
 * `detail`, with `log_id` inside it: accepted too, read as `{log_id: detail.log_id, data: detail}`.
 * Auth0 Event Streams: `detail` is the CloudEvent (`specversion`, `id`, `source`, `type`, `time`, `data`).
 */
import { classifyCloudEvent, cloudEventTenantProblem, isTestDelivery, parseCloudEvent, CLOUD_EVENT_ID_PREFIX } from '../cloud-event';
import { classifyLogRecord } from '../classify';
import { describe, eventProblems, recordProblems, type LogStreamRecord } from '../parse';
import type { CanonicalEvent } from '../../shared/event';
import { isObject } from '../../shared/event-rules';
import type { TenantConfig } from '../../shared/tenants';

export interface Unwrapped {
  event: CanonicalEvent;
  tenant: string;
  source: string;
  door: 'log-stream' | 'event-stream';
}
export interface Refusal {
  refused: string;
  source?: string;
}
/** An Auth0 test delivery (cloud-event.ts isTestDelivery): acknowledged, never published. */
export interface TestDelivery {
  test: string;
  tenant: string;
  source: string;
}

/** The tenant name of each configured partner event source, from EVENTBRIDGE_SOURCES (`{"<source>": "<tenant>"}`). */
export function parseSources(json: string | undefined): Map<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(json ?? '');
  } catch {
    throw new Error('EVENTBRIDGE_SOURCES must be a JSON object {"<partner event source>": "<tenant>"}');
  }
  if (!isObject(value) || Object.values(value).some((t) => typeof t !== 'string'))
    throw new Error('EVENTBRIDGE_SOURCES must map partner event sources to tenant names');
  return new Map(Object.entries(value as Record<string, string>));
}

/** The Log Stream record in `detail`: `{log_id, data}`, or the log event itself carrying `log_id`. */
function logRecordOf(detail: Record<string, unknown>): unknown {
  if ('data' in detail) return { ...('log_id' in detail ? { log_id: detail.log_id } : {}), data: detail.data };
  if (typeof detail.type === 'string' && 'log_id' in detail) return { log_id: detail.log_id, data: detail };
  return detail;
}

/**
 * The canonical event of one EventBridge event (an SQS message body), or why it is refused. The
 * tenant comes from the configured source (`tenantOf`), never from the payload alone: a source no
 * tenant names is refused, and an Event Streams CloudEvent must name that tenant itself too.
 */
export function unwrap(body: string, tenantOf: (source: string) => TenantConfig | undefined, receivedAt: string): Unwrapped | Refusal | TestDelivery {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    return { refused: `the message is not JSON (${body.length} characters): the queue takes EventBridge events` };
  }
  if (!isObject(envelope)) return { refused: `the message is ${describe(envelope)}, not an EventBridge event object` };
  const source = envelope.source;
  if (typeof source !== 'string') return { refused: 'the EventBridge event has no "source"' };
  const config = tenantOf(source);
  if (config === undefined)
    return { refused: 'its source is not a partner event source of any configured tenant (tenants[].eventBridgeSources)', source: source.slice(0, 256) };
  const detail = envelope.detail;
  if (!isObject(detail)) return { refused: `"detail" must be an object, not ${describe(detail)}`, source };

  if (typeof detail.specversion === 'string') {
    let problem: string | undefined;
    try {
      const ce = parseCloudEvent(detail);
      problem = cloudEventTenantProblem(ce, config);
      if (!problem && isTestDelivery(ce)) return { test: `${CLOUD_EVENT_ID_PREFIX}${ce.id}`, tenant: config.name, source };
      if (!problem) return checked(classifyCloudEvent(ce, config.name, receivedAt), config.name, source, 'event-stream');
    } catch (e) {
      problem = `the CloudEvent in "detail" is not valid: ${(e as Error).message.slice(0, 300)}`;
    }
    return { refused: problem, source };
  }

  const record = logRecordOf(detail);
  const problems = recordProblems(record);
  if (problems.length) return { refused: `the Log Stream record in "detail" is not valid: ${problems.slice(0, 5).join('; ')}`, source };
  const named = logTenantProblem((record as LogStreamRecord).data, config);
  if (named) return { refused: named, source };
  return checked(classifyLogRecord(record as LogStreamRecord, config.name, receivedAt), config.name, source, 'log-stream');
}

/**
 * Why a Log Stream record is not the tenant's: its `data.tenant_name` ("Tenant name" in Auth0's log
 * event schema, https://auth0.com/docs/tenant-logs/, the name without region like a0tenant), when
 * present, must be the tenant's short name. A partner source listed under the wrong tenant in cdk.json
 * would otherwise attribute another tenant's users to it. `hostname` is not checked: Auth0 documents
 * that for failure logs it "may include invalid hostnames", and it may be any custom domain.
 */
function logTenantProblem(data: Record<string, unknown>, config: TenantConfig): string | undefined {
  const shortName = config.name.split('@')[0];
  if (data.tenant_name === undefined || data.tenant_name === shortName) return undefined;
  return `the Log Stream record's data.tenant_name ${JSON.stringify(String(data.tenant_name).slice(0, 100))} is not tenant ${config.name} (expected ${JSON.stringify(shortName)}): check tenants[].eventBridgeSources`;
}

function checked(event: CanonicalEvent, tenant: string, source: string, door: Unwrapped['door']): Unwrapped | Refusal {
  const problems = eventProblems(event);
  return problems.length ? { refused: problems.slice(0, 5).join('; '), source } : { event, tenant, source, door };
}
