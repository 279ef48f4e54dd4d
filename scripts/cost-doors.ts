/**
 * The three front doors compared at one monthly volume, up to the SNS topic (everything after the
 * topic is the same for all three and is reported once, as the shared downstream part):
 *   Log Stream webhook     Auth0 Log Stream batches of B records: 1 REST request per batch, the Lambda
 *                          authorizer and the ingest Lambda per request, PublishBatch (10 a call)
 *   Event Streams webhook  one CloudEvent per POST: 1 REST request, 1 ingest invocation and 1 Publish
 *                          per event; the authorizer per request, or once per TTL per tenant when cached
 *   EventBridge            Auth0 partner event source -> partner bus -> rule -> SQS queue (+DLQ) ->
 *                          the ingest Lambda (SQS event source): 1 partner event and 1 SendMessage per
 *                          event, 1 ReceiveMessage, 1 DeleteMessageBatch, 1 invocation and PublishBatch
 *                          per receive of M messages; fixed: idle polls, KMS data keys, alarms
 * Unit prices and usage assumptions: scripts/prices.ts.
 */
import { ASSUMPTIONS as A, PRICES as P } from './prices';
import { CostLines, MONTH_SECONDS, gbs, lambdaCost, logCost, restDoorLines, snsCost, sqsCost, sum } from './cost-units';

export interface DoorInput {
  eventsPerMonth: number;
  /** Records per Log Stream delivery. */
  logStreamBatch: number;
  /** Tenants posting Event Streams (one bearer token each, for the authorizer cache). */
  tenants: number;
  /** Authorizer result cache TTL for the Event Streams door (0: every request invokes it). */
  authorizerCacheTtlSeconds: number;
  /** EventBridge: messages per ReceiveMessage of the Lambda event source (its batch size when busy). */
  messagesPerReceive: number;
  /** EventBridge: partner event sources (each: a bus, a rule, a queue + DLQ, alarms). */
  eventBridgeSources: number;
}

export interface DoorCost {
  door: string;
  /** Cost that grows with the events, at `eventsPerMonth`. */
  variable: CostLines;
  /** Cost per month whatever the volume (idle polling, KMS data keys, keys, alarms). */
  fixed: CostLines;
  perMillion: number;
  fixedMonthly: number;
}

function door(name: string, n: number, variable: CostLines, fixed: CostLines = {}): DoorCost {
  return { door: name, variable, fixed, perMillion: n > 0 ? sum(variable) / (n / 1e6) : 0, fixedMonthly: sum(fixed) };
}

export function logStreamDoor(i: DoorInput): DoorCost {
  const requests = i.eventsPerMonth / i.logStreamBatch;
  return door(
    `Log Stream webhook (batch ${i.logStreamBatch})`,
    i.eventsPerMonth,
    restDoorLines(requests, requests, i.eventsPerMonth, requests * Math.ceil(i.logStreamBatch / 10)),
  );
}

export function eventStreamsDoor(i: DoorInput): DoorCost {
  const n = i.eventsPerMonth;
  const ttl = i.authorizerCacheTtlSeconds;
  const authorizer = ttl > 0 ? Math.min(n, i.tenants * Math.ceil(MONTH_SECONDS / ttl)) : n;
  return door(`Event Streams webhook (authorizer cache ${ttl} s)`, n, restDoorLines(n, authorizer, n, n));
}

export function eventBridgeDoor(i: DoorInput): DoorCost {
  const n = i.eventsPerMonth;
  const receives = n / i.messagesPerReceive;
  const E = A.eventBridge;
  const queues = i.eventBridgeSources * E.polledQueuesPerSource;
  return door(
    `EventBridge (${i.messagesPerReceive} per receive)`,
    n,
    {
      'EventBridge partner events': (n / 1e6) * (P.eventBridge.partnerEventsPerMillion + P.eventBridge.sameAccountDeliveryPerMillion),
      // EventBridge sends each event to the queue (SendMessage); the event source receives and deletes per batch.
      'SQS requests': sqsCost(n + 2 * receives),
      'Lambda ingest': lambdaCost(receives, gbs(receives, E.memoryMb, A.ingest.msPerCall) + gbs(n, E.memoryMb, A.ingest.msPerEvent)),
      'SNS requests': snsCost(receives * Math.ceil(i.messagesPerReceive / 10)),
      'CloudWatch Logs (front door)': logCost(receives * E.logBytesPerInvocation),
    },
    {
      'SQS idle polls': sqsCost(queues * A.idleSqsPollsPerQueueMonth),
      'KMS data keys (5 min reuse)': ((queues * A.kmsRequestsPerQueueMonth) / 1e4) * P.kms.requestsPer10k,
      'KMS keys': i.eventBridgeSources * E.kmsKeysPerSource * P.kms.keyMonth,
      'CloudWatch alarms': i.eventBridgeSources * E.alarmsPerSource * P.cloudwatch.standardAlarmMonth,
    },
  );
}

export function doorCosts(i: DoorInput): DoorCost[] {
  if (
    !(i.eventsPerMonth >= 0) ||
    !(i.logStreamBatch >= 1) ||
    !(i.messagesPerReceive >= 1) ||
    !(i.tenants >= 1) ||
    !(i.authorizerCacheTtlSeconds >= 0) ||
    !(i.eventBridgeSources >= 0)
  ) {
    throw new Error('need events >= 0, batch >= 1, messages per receive >= 1, tenants >= 1, cache TTL >= 0, sources >= 0');
  }
  return [logStreamDoor(i), eventStreamsDoor(i), eventBridgeDoor(i)];
}

const money = (v: number) => (v >= 100 ? `$${v.toFixed(0)}` : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(4)}`);

/** The door table: one column per door, its lines per million events, then its fixed monthly cost; the shared part after it. */
export function formatDoors(i: DoorInput, doors: DoorCost[], shared: CostLines): string {
  const perM = i.eventsPerMonth / 1e6;
  const names = [...new Set(doors.flatMap((d) => Object.keys(d.variable)))];
  const fixedNames = [...new Set(doors.flatMap((d) => Object.keys(d.fixed)))];
  const w = 15;
  const row = (label: string, cells: string[]) => `  ${label.padEnd(44)}${cells.map((c) => c.padStart(w)).join('')}`;
  const legend = doors.map((d, k) => `  [${k + 1}] ${d.door}`);
  const sharedTotal = sum(shared);
  return [
    `Front doors compared at ${i.eventsPerMonth.toLocaleString('en-US')} events/month, up to the SNS topic, USD per million events:`,
    ...legend,
    row(
      'line',
      doors.map((_, k) => `[${k + 1}]`),
    ),
    ...names.map((n) =>
      row(
        n,
        doors.map((d) => (n in d.variable ? money(d.variable[n] / perM) : '-')),
      ),
    ),
    row(
      'PER MILLION EVENTS',
      doors.map((d) => money(d.perMillion)),
    ),
    ...fixedNames.map((n) =>
      row(
        `fixed/month: ${n}`,
        doors.map((d) => (n in d.fixed ? money(d.fixed[n]) : '-')),
      ),
    ),
    row(
      'FIXED PER MONTH',
      doors.map((d) => money(d.fixedMonthly)),
    ),
    `Shared after the topic (subscribers' queues, Lambdas, tables, push, WebSocket, keys, the stack's alarms), the same for every door:`,
    ...Object.entries(shared).map(([k, v]) => `  ${k.padEnd(58)}${money(v).padStart(w)}/month`),
    `  ${'TOTAL'.padEnd(58)}${money(sharedTotal).padStart(w)}/month (${money(sharedTotal / perM)} per million events at this volume)`,
    'Assumptions (scripts/prices.ts): ' +
      [
        `Log Stream batch ${i.logStreamBatch}`,
        `${i.tenants} tenant(s) for the authorizer cache`,
        `authorizer ${A.authorizer.memoryMb} MB ${A.authorizer.ms} ms, stack cache TTL ${A.authorizer.cacheTtlSeconds} s`,
        `ingest ${A.ingest.memoryMb} MB, ${A.ingest.msPerCall} ms a call + ${A.ingest.msPerEvent} ms an event`,
        `PublishBatch of 10`,
        `log lines ${A.logBytesPerRequest} B per REST request, ${A.eventBridge.logBytesPerInvocation} B per EventBridge ingest invocation, kept ${A.logRetentionMonths} months`,
        `EventBridge: ${P.eventBridge.partnerEventsPerMillion} USD per million partner events, same-account rule delivery free, ${i.eventBridgeSources} source(s), each ${A.eventBridge.alarmsPerSource} alarms, ${A.eventBridge.polledQueuesPerSource} polled queue (${A.idleSqsPollsPerQueueMonth.toLocaleString('en-US')} idle polls a month), KMS data key reused 5 min (${A.kmsRequestsPerQueueMonth.toLocaleString('en-US')} KMS requests a queue a month), ${A.eventBridge.kmsKeysPerSource} own key(s)`,
        `every record under 64 KB (1 partner event, 1 SQS request, 1 SNS request each)`,
      ].join('; ') +
      '.',
  ].join('\n');
}
