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

export interface CostInput { eventsPerMonth: number; batchSize: number; actionShare: number; listeners: number }
export type CostLines = Record<string, number>;
export interface CostResult { design: CostLines; original: CostLines; designTotal: number; originalTotal: number; ratio: number; usage: Record<string, number> }

/** Price of `units` under per-million tiers (cumulative). */
export function tiered(units: number, tiers: readonly { upToMillions: number; usd: number }[]): number {
  let left = units;
  let from = 0;
  let usd = 0;
  for (const t of tiers) {
    const cap = t.upToMillions * 1e6 - from;
    const n = Math.min(left, cap);
    usd += (n / 1e6) * t.usd;
    left -= n;
    from = t.upToMillions * 1e6;
    if (left <= 0) break;
  }
  return usd;
}

const gbs = (invocations: number, memoryMb: number, ms: number) => invocations * (memoryMb / 1024) * (ms / 1000);
const lambdaCost = (invocations: number, gbSeconds: number) => (invocations / 1e6) * P.lambda.requestsPerMillion + gbSeconds * P.lambda.gbSecondArm;
const sum = (l: CostLines) => Object.values(l).reduce((a, b) => a + b, 0);

/** The part after the topic, the same in both designs. */
function downstream(i: CostInput): { lines: CostLines; usage: Record<string, number> } {
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
  const wsMessages = sessionEvents * fanout + i.listeners * A.pingsPerHour * 24 * 30;
  const connectionMinutes = i.listeners * 60 * 24 * 30;
  const wru = userEvents * A.wruPerUserEvent + sessionEvents * A.wruPerSessionEvent;
  const rru = sessionEvents * A.rruPerPush;
  const logGb = ((consumed + sessionEvents) * A.logBytesPerRecord) / 1e9;
  return {
    lines: {
      'SQS requests': (sqsRequests / 1e6) * P.sqs.requestsPerMillion,
      'Lambda consumers (users, session-events, push)': lambdaCost(consumerInvocations + pushInvocations, consumerGbs + pushGbs),
      'DynamoDB writes and reads': (wru / 1e6) * P.dynamodb.writeRequestUnitsPerMillion + (rru / 1e6) * P.dynamodb.readRequestUnitsPerMillion,
      'WebSocket messages': tiered(wsMessages, P.apiGateway.wsMessagesPerMillionTiers),
      'WebSocket connection minutes': (connectionMinutes / 1e6) * P.apiGateway.wsConnectionMinutesPerMillion,
      'KMS keys and requests': A.kmsKeys * P.kms.keyMonth + ((A.queues + 1) * A.kmsRequestsPerQueueMonth / 1e4) * P.kms.requestsPer10k,
      'CloudWatch alarms': A.alarms * P.cloudwatch.standardAlarmMonth,
      'CloudWatch Logs (consumers)': logGb * (P.cloudwatch.logsIngestedPerGb + A.logRetentionMonths * P.cloudwatch.logsStoredPerGbMonth),
    },
    usage: { sqsRequests, wsMessages, connectionMinutes, wru, rru },
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
  const authorizerGbs = gbs(restRequests, A.authorizer.memoryMb, A.authorizer.ms);
  const ingestGbs = gbs(restRequests, A.ingest.memoryMb, A.ingest.msPerCall) + gbs(n, A.ingest.memoryMb, A.ingest.msPerEvent);
  const common = downstream(i);
  const logs = (requests: number) => ((requests * A.logBytesPerRequest) / 1e9) * (P.cloudwatch.logsIngestedPerGb + A.logRetentionMonths * P.cloudwatch.logsStoredPerGbMonth);
  const design: CostLines = {
    'API Gateway REST requests': tiered(restRequests, P.apiGateway.restPerMillionTiers),
    'Lambda authorizer': lambdaCost(restRequests, authorizerGbs),
    'Lambda ingest': lambdaCost(restRequests, ingestGbs),
    'SNS requests': (publishRequests / 1e6) * P.sns.requestsPerMillion,
    'CloudWatch Logs (API and ingest)': logs(restRequests),
    ...common.lines,
  };
  const original: CostLines = {
    'API Gateway REST requests': tiered(n, P.apiGateway.restPerMillionTiers),
    'Lambda authorizer': 0,
    'Lambda ingest': 0,
    'SNS requests': (n / 1e6) * P.sns.requestsPerMillion,
    'CloudWatch Logs (API and ingest)': logs(n),
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
  const one = monthlyCost({ eventsPerMonth: 1e6, batchSize: 1, actionShare: 1, listeners: 0 });
  return (one.designTotal - one.originalTotal) / 1e6;
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
}

export function costReport(argv: string[]): string {
  const base = { batchSize: Number(arg(argv, 'batch-size') ?? 50), actionShare: Number(arg(argv, 'action-share') ?? 0.02), listeners: Number(arg(argv, 'listeners') ?? 1000) };
  const given = arg(argv, 'events-per-month');
  const volumes = given ? [Number(given)] : [1e6, 1e8, 1e9];
  const out = [`Prices: AWS us-east-1 public prices as of ${PRICES_DATE} (scripts/prices.ts lists the pages); usage assumptions in the same file.`, ''];
  for (const n of volumes) out.push(formatCost({ eventsPerMonth: n, ...base }, monthlyCost({ eventsPerMonth: n, ...base })), '');
  const allActions = monthlyCost({ eventsPerMonth: 1e8, batchSize: base.batchSize, actionShare: 1, listeners: base.listeners });
  out.push(
    `Where this design costs more: a single Action call pays the Lambda authorizer and the ingest Lambda on top of the original's API Gateway request and SNS publish: +$${(perActionExtra() * 1e6).toFixed(3)} per million Action calls.`,
    `  With every event an Action call (--action-share 1) at 100 M/month: ${usd(allActions.designTotal)} vs ${usd(allActions.originalTotal)} (ratio ${allActions.ratio.toFixed(3)}).`,
    `Where it saves: Log Stream batches of ${base.batchSize} need 1/${base.batchSize} of the REST requests and about 1/10 of the SNS requests; the rest (queues, tables, push, WebSocket) is the same in both.`,
  );
  return out.join('\n');
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
