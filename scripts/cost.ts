/**
 * npm run cost -- --events-per-month N [--batch-size B] [--action-share S] [--listeners M]
 *
 * Monthly AWS cost by service, from the unit prices and usage assumptions in scripts/prices.ts, for
 *   this design   Auth0 Log Stream deliveries of B events (share 1-S) and single Action calls (share S)
 *                 -> REST API (Lambda authorizer for the key) -> ingest Lambda -> SNS PublishBatch
 *   the original  one REST API request per event, API Gateway publishing each straight to SNS (Publish)
 * Everything after the topic (queues, consumers, tables, push, WebSocket) is the same in both and is
 * counted in both. Without --events-per-month it prints 1 M, 100 M and 1 B a month.
 */
import { ASSUMPTIONS as A, PRICES as P } from './prices';
import { CostLines, gbs, lambdaCost, logCost, MONTH_SECONDS, restDoorLines, snsCost, sum, tiered } from './cost-units';
import { doorCosts, DoorInput, formatDoors } from './cost-doors';
import { AlarmCount, shippedStackAlarms } from './stack-alarms';
import { archiveLines, pollerLines, type HistoryInput } from './cost-history';

export { tiered };
export type { CostLines };
export interface CostInput {
  eventsPerMonth: number;
  batchSize: number;
  actionShare: number;
  listeners: number;
  alarms: AlarmCount;
}
export interface CostResult {
  design: CostLines;
  original: CostLines;
  designTotal: number;
  originalTotal: number;
  ratio: number;
  usage: Record<string, number>;
}

/** Session events per push stream batch at a monthly rate: per second / polls per second, from 1 to the batch size. */
export function pushEventsPerBatch(sessionEventsPerMonth: number): number {
  return Math.min(A.pushFrames.maxEventsPerBatch, Math.max(1, sessionEventsPerMonth / MONTH_SECONDS / A.pushFrames.streamPollsPerSecond));
}

/** The part after the topic, the same in both designs and for every front door. */
export function downstream(i: CostInput): { lines: CostLines; usage: Record<string, number> } {
  const n = i.eventsPerMonth;
  const userEvents = n * A.userEventShare;
  const sessionEvents = n * A.sessionEventShare;
  const fanout = Math.min(i.listeners, A.maxFanout);
  const consumed = userEvents + sessionEvents;
  const batches = consumed / A.consumer.batchSize;
  // SQS: SNS's send, then one receive and one delete per batch of 10; plus idle polling per queue.
  const sqsRequests = consumed + 2 * batches + A.queues * A.idleSqsPollsPerQueueMonth;
  const consumerInvocations = batches;
  const consumerGbs = gbs(consumerInvocations, A.consumer.memoryMb, A.consumer.msPerInvocation) + gbs(consumed, A.consumer.memoryMb, A.consumer.msPerRecord);
  const pushInvocations = sessionEvents; // at worst one stream batch per event
  const pushGbs = gbs(pushInvocations, A.push.memoryMb, A.push.msPerEvent + A.push.msPerListener * fanout);
  // Frames, not events: a `*` listener gets one frame per stream batch, a `self` listener about one per event.
  const eventsPerPushBatch = pushEventsPerBatch(sessionEvents);
  const pushFrames = sessionEvents * fanout * (A.pushFrames.starShareOfDeliveries / eventsPerPushBatch + (1 - A.pushFrames.starShareOfDeliveries));
  const wsMessages = pushFrames + i.listeners * A.pingsPerHour * 24 * 30;
  const connectionMinutes = i.listeners * 60 * 24 * 30;
  const wru = userEvents * A.wruPerUserEvent + sessionEvents * A.wruPerSessionEvent;
  const rru = sessionEvents * A.rruPerPush;
  const logBytes = (consumed + sessionEvents) * A.logBytesPerRecord;
  return {
    lines: {
      'SQS requests': (sqsRequests / 1e6) * P.sqs.requestsPerMillion,
      'Lambda consumers (users, session-events, push)': lambdaCost(consumerInvocations + pushInvocations, consumerGbs + pushGbs),
      'DynamoDB writes and reads': (wru / 1e6) * P.dynamodb.writeRequestUnitsPerMillion + (rru / 1e6) * P.dynamodb.readRequestUnitsPerMillion,
      'WebSocket messages': tiered(wsMessages, P.apiGateway.wsMessagesPerMillionTiers),
      'WebSocket connection minutes': (connectionMinutes / 1e6) * P.apiGateway.wsConnectionMinutesPerMillion,
      'KMS keys and requests': A.kmsKeys * P.kms.keyMonth + (((A.queues + 1) * A.kmsRequestsPerQueueMonth) / 1e4) * P.kms.requestsPer10k,
      'CloudWatch alarms (counted in the template)':
        i.alarms.alarmMetrics * P.cloudwatch.standardAlarmMonth + i.alarms.compositeAlarms * P.cloudwatch.compositeAlarmMonth,
      'CloudWatch Logs (consumers)': logCost(logBytes),
    },
    usage: { sqsRequests, eventsPerPushBatch, pushFrames, wsMessages, connectionMinutes, wru, rru },
  };
}

export function monthlyCost(i: CostInput): CostResult {
  if (!(i.eventsPerMonth >= 0) || !(i.batchSize >= 1) || !(i.actionShare >= 0 && i.actionShare <= 1) || !(i.listeners >= 0)) {
    throw new Error('need --events-per-month >= 0, --batch-size >= 1, --action-share in 0..1, --listeners >= 0');
  }
  const n = i.eventsPerMonth;
  const actions = n * i.actionShare;
  const streamed = n - actions;
  const deliveries = streamed / i.batchSize;
  const restRequests = actions + deliveries;
  const publishRequests = actions + deliveries * Math.ceil(i.batchSize / 10); // PublishBatch: 10 entries (well under 64 KB) a call
  const common = downstream(i);
  const design: CostLines = { ...restDoorLines(restRequests, restRequests, n, publishRequests), ...common.lines };
  const original: CostLines = {
    'API Gateway REST requests': tiered(n, P.apiGateway.restPerMillionTiers),
    'Lambda authorizer': 0,
    'Lambda ingest': 0,
    'SNS requests': snsCost(n),
    'CloudWatch Logs (front door)': logCost(n * A.logBytesPerRequest),
    ...common.lines,
  };
  const designTotal = sum(design);
  const originalTotal = sum(original);
  return { design, original, designTotal, originalTotal, ratio: designTotal / originalTotal, usage: { restRequests, publishRequests, ...common.usage } };
}

const usd = (v: number) => (v >= 100 ? `$${v.toFixed(0)}` : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(4)}`);

export function formatCost(i: CostInput, r: CostResult): string {
  const rows = Object.keys(r.design).map((k) => `  ${k.padEnd(48)} ${usd(r.design[k]).padStart(12)} ${usd(r.original[k]).padStart(12)}`);
  return [
    `${i.eventsPerMonth.toLocaleString('en-US')} events/month, batch ${i.batchSize}, Action share ${i.actionShare}, ${i.listeners} listeners`,
    `  ${'service'.padEnd(48)} ${'this design'.padStart(12)} ${'original'.padStart(12)}`,
    ...rows,
    `  ${'TOTAL'.padEnd(48)} ${usd(r.designTotal).padStart(12)} ${usd(r.originalTotal).padStart(12)}   ratio ${r.ratio.toFixed(3)}`,
    `  REST requests ${Math.round(r.usage.restRequests).toLocaleString('en-US')} vs ${i.eventsPerMonth.toLocaleString('en-US')}; SNS requests ${Math.round(r.usage.publishRequests).toLocaleString('en-US')} vs ${i.eventsPerMonth.toLocaleString('en-US')}`,
  ].join('\n');
}

/** Per single Action call: what this design pays on top of the original (authorizer + ingest Lambda). */
export function perActionExtra(): number {
  const one = monthlyCost({
    eventsPerMonth: 1e6,
    batchSize: 1,
    actionShare: 1,
    listeners: 0,
    alarms: { metricAlarms: 0, alarmMetrics: 0, compositeAlarms: 0 },
  });
  return (one.designTotal - one.originalTotal) / 1e6;
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
}

/** The alarms to price: `--alarm-metrics N --composite-alarms K`, else those given, else counted in the synthesized stack. */
function alarmsFor(argv: string[], given?: AlarmCount): { alarms: AlarmCount; from: string } {
  const metrics = arg(argv, 'alarm-metrics');
  if (metrics !== undefined)
    return {
      alarms: { metricAlarms: NaN, alarmMetrics: Number(metrics), compositeAlarms: Number(arg(argv, 'composite-alarms') ?? 0) },
      from: 'given on the command line',
    };
  if (given) return { alarms: given, from: 'given' };
  return { alarms: shippedStackAlarms(), from: 'counted in the template synthesized from cdk.json' };
}

export function costReport(argv: string[], givenAlarms?: AlarmCount): string {
  const { alarms, from } = alarmsFor(argv, givenAlarms);
  const base = {
    batchSize: Number(arg(argv, 'batch-size') ?? 50),
    actionShare: Number(arg(argv, 'action-share') ?? 0.02),
    listeners: Number(arg(argv, 'listeners') ?? 1000),
    alarms,
  };
  const given = arg(argv, 'events-per-month');
  const volumes = given ? [Number(given)] : [1e6, 1e8, 1e9];
  const out = [
    `Prices: AWS us-east-1 public prices as of ${PRICES_DATE}, EventBridge and composite alarms as of ${P.eventBridgeAsOf} (scripts/prices.ts lists the pages); usage assumptions in the same file.`,
    `Alarms (${from}): ${Number.isNaN(alarms.metricAlarms) ? '' : `${alarms.metricAlarms} metric alarms reading `}${alarms.alarmMetrics} alarm metrics, ${alarms.compositeAlarms} composite.`,
    '',
  ];
  for (const n of volumes) out.push(formatCost({ eventsPerMonth: n, ...base }, monthlyCost({ eventsPerMonth: n, ...base })), '');
  const allActions = monthlyCost({ eventsPerMonth: 1e8, batchSize: base.batchSize, actionShare: 1, listeners: base.listeners, alarms });
  out.push(
    `Where this design costs more: a single Action call pays the Lambda authorizer and the ingest Lambda on top of the original's API Gateway request and SNS publish: +$${(perActionExtra() * 1e6).toFixed(3)} per million Action calls.`,
    `  With every event an Action call (--action-share 1) at 100 M/month: ${usd(allActions.designTotal)} vs ${usd(allActions.originalTotal)} (ratio ${allActions.ratio.toFixed(3)}).`,
    `Where it saves: Log Stream batches of ${base.batchSize} need 1/${base.batchSize} of the REST requests and about 1/10 of the SNS requests; the rest (queues, tables, push, WebSocket) is the same in both.`,
    '',
  );
  const doorN = given ? Number(given) : 1e8;
  const doors: DoorInput = {
    eventsPerMonth: doorN,
    logStreamBatch: base.batchSize,
    tenants: Number(arg(argv, 'tenants') ?? 1),
    authorizerCacheTtlSeconds: A.authorizer.cacheTtlSeconds,
    messagesPerReceive: Number(arg(argv, 'messages-per-receive') ?? A.eventBridge.messagesPerReceive),
    eventBridgeSources: Number(arg(argv, 'eventbridge-sources') ?? 1),
  };
  const shared = downstream({ eventsPerMonth: doorN, ...base, actionShare: 0 }).lines;
  // The stack as it is (authorizer not cached; EventBridge batches full), then the other case of each.
  const [logStream, eventStreams, eventBridge] = doorCosts(doors);
  const [, eventStreamsCached, eventBridgeSingles] = doorCosts({ ...doors, authorizerCacheTtlSeconds: 300, messagesPerReceive: 1 });
  out.push(formatDoors(doors, [logStream, eventStreams, eventStreamsCached, eventBridge, eventBridgeSingles], shared));
  out.push(
    '',
    formatHistory(
      {
        eventsPerMonth: doorN,
        tenants: doors.tenants,
        polledTenants: Number(arg(argv, 'polled-tenants') ?? 1),
        polledEventsPerMonth: Number(arg(argv, 'polled-events-per-month') ?? 1e6),
      },
      sum(shared),
    ),
  );
  return out.join('\n');
}

/** The archive and the poller, per month, next to the shared part's total. */
export function formatHistory(h: HistoryInput, sharedTotal: number): string {
  const a = archiveLines(h);
  const p = pollerLines(h);
  const row = (k: string, v: number) => `  ${k.padEnd(58)}${usd(v).padStart(15)}/month`;
  return [
    `History (README, "Archive and replay" and "Polling Auth0's log API"), next to the shared part's ${usd(sharedTotal)}/month:`,
    `Archive of ${h.eventsPerMonth.toLocaleString('en-US')} events/month (${h.tenants} tenant(s)):`,
    ...Object.entries(a).map(([k, v]) => row(k, v)),
    row('ARCHIVE TOTAL', sum(a)),
    `Poller: ${h.polledTenants} polled tenant(s), ${h.polledEventsPerMonth.toLocaleString('en-US')} polled events/month (Auth0's Management API calls are free, rate-limited; the schedule is free):`,
    ...Object.entries(p).map(([k, v]) => row(k, v)),
    row('POLLER TOTAL', sum(p)),
  ].join('\n');
}

const PRICES_DATE = P.asOf;

if (require.main === module) {
  try {
    console.log(costReport(process.argv.slice(2)));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
}
