/** The cost model's arithmetic (scripts/cost.ts, scripts/cost-doors.ts): tiers, request counts, the three front doors. */
import { costReport, monthlyCost, perActionExtra, tiered } from '../scripts/cost';
import { doorCosts, eventBridgeDoor, eventStreamsDoor, logStreamDoor } from '../scripts/cost-doors';
import { ASSUMPTIONS, PRICES } from '../scripts/prices';
import { countAlarms } from '../scripts/stack-alarms';

/** A fixed alarm count for the arithmetic tests (the real one is counted in test/cost.alarms.test.ts). */
const ALARMS = { metricAlarms: 3, alarmMetrics: 4, compositeAlarms: 1 };

test('tiered prices: REST requests cost $3.50/M up to 333 M, then $2.80/M', () => {
  expect(tiered(1e6, PRICES.apiGateway.restPerMillionTiers)).toBeCloseTo(3.5, 6);
  expect(tiered(333e6, PRICES.apiGateway.restPerMillionTiers)).toBeCloseTo(333 * 3.5, 6);
  expect(tiered(334e6, PRICES.apiGateway.restPerMillionTiers)).toBeCloseTo(333 * 3.5 + 2.8, 6);
  expect(tiered(0, PRICES.apiGateway.restPerMillionTiers)).toBe(0);
});

test('request counts: batches of 50 need 1/50 of the REST requests and 5 PublishBatch calls each', () => {
  const r = monthlyCost({ eventsPerMonth: 1e6, batchSize: 50, actionShare: 0, listeners: 0, alarms: ALARMS });
  expect(r.usage.restRequests).toBeCloseTo(20_000, 6);
  expect(r.usage.publishRequests).toBeCloseTo(100_000, 6);
  expect(r.original['API Gateway REST requests']).toBeCloseTo(3.5, 6);
  expect(r.design['API Gateway REST requests']).toBeCloseTo(0.07, 6);
  expect(r.original['SNS requests']).toBeCloseTo(0.5, 6);
  expect(r.design['SNS requests']).toBeCloseTo(0.05, 6);
  // Everything after the topic is the same in both designs.
  for (const k of ['SQS requests', 'DynamoDB writes and reads', 'WebSocket messages', 'WebSocket connection minutes']) expect(r.design[k]).toBe(r.original[k]);
  expect(r.designTotal).toBeCloseTo(
    Object.values(r.design).reduce((a, b) => a + b, 0),
    9,
  );
});

test('alarms are priced per alarm metric ($0.10) and per composite alarm ($0.50)', () => {
  const r = monthlyCost({ eventsPerMonth: 1e6, batchSize: 50, actionShare: 0, listeners: 0, alarms: ALARMS });
  // 4 alarm metrics x $0.10 + 1 composite x $0.50
  expect(r.design['CloudWatch alarms (counted in the template)']).toBeCloseTo(0.9, 9);
});

test('countAlarms: a single-metric alarm is 1 alarm metric, a metric-math alarm 1 per metric it reads, composites apart', () => {
  const template = {
    Resources: {
      A: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Errors' } },
      B: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'ApproximateAgeOfOldestMessage' } },
      C: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          Metrics: [
            { Id: 'e', Expression: 'm1/m2' },
            { Id: 'm1', MetricStat: {} },
            { Id: 'm2', MetricStat: {} },
          ],
        },
      },
      D: { Type: 'AWS::CloudWatch::CompositeAlarm', Properties: {} },
      Q: { Type: 'AWS::SQS::Queue', Properties: {} },
    },
  };
  expect(countAlarms(template)).toEqual({ metricAlarms: 3, alarmMetrics: 4, compositeAlarms: 1 });
  expect(countAlarms({})).toEqual({ metricAlarms: 0, alarmMetrics: 0, compositeAlarms: 0 });
});

test('single Action calls cost more than the original (authorizer + ingest Lambda); batches cost less', () => {
  expect(perActionExtra()).toBeGreaterThan(0);
  const actions = monthlyCost({ eventsPerMonth: 1e8, batchSize: 50, actionShare: 1, listeners: 100, alarms: ALARMS });
  expect(actions.ratio).toBeGreaterThan(1);
  const batched = monthlyCost({ eventsPerMonth: 1e8, batchSize: 50, actionShare: 0.02, listeners: 100, alarms: ALARMS });
  expect(batched.ratio).toBeLessThan(0.5);
  // The ratio falls as batches grow.
  expect(monthlyCost({ eventsPerMonth: 1e8, batchSize: 100, actionShare: 0, listeners: 100, alarms: ALARMS }).ratio).toBeLessThan(
    monthlyCost({ eventsPerMonth: 1e8, batchSize: 10, actionShare: 0, listeners: 100, alarms: ALARMS }).ratio,
  );
});

describe('front doors, hand-computed: 1,000,000 events in a month, Log Stream batch 50, 2 tenants, 10 messages per receive, 1 EventBridge source', () => {
  const input = { eventsPerMonth: 1e6, logStreamBatch: 50, tenants: 2, authorizerCacheTtlSeconds: 0, messagesPerReceive: 10, eventBridgeSources: 1 };
  // Unit prices used: REST $3.50/M; Lambda $0.20/M + $0.0000133334/GB-s; SNS $0.50/M; SQS $0.40/M;
  // logs $0.50/GB + 3 months x $0.03/GB = $0.59/GB; partner events $1.00/M; KMS $0.03/10k; alarm $0.10.

  it('Log Stream webhook: 20,000 requests', () => {
    const d = logStreamDoor(input);
    expect(d.variable['API Gateway REST requests']).toBeCloseTo(0.07, 9); // 20,000 x 3.5/1e6
    expect(d.variable['Lambda authorizer']).toBeCloseTo(0.004333335, 9); // 20,000 x 0.2/1e6 + (20,000 x 0.25 GB x 0.005 s = 25 GB-s) x 0.0000133334
    expect(d.variable['Lambda ingest']).toBeCloseTo(0.00933336, 9); // 0.004 + (20,000 x 0.5 x 0.025 + 1e6 x 0.5 x 0.0003 = 400 GB-s) x 0.0000133334
    expect(d.variable['SNS requests']).toBeCloseTo(0.05, 9); // 20,000 x 5 PublishBatch = 100,000 x 0.5/1e6
    expect(d.variable['CloudWatch Logs (front door)']).toBeCloseTo(0.01062, 9); // 20,000 x 900 B = 0.018 GB x 0.59
    expect(d.perMillion).toBeCloseTo(0.144286695, 8);
    expect(d.fixedMonthly).toBe(0);
  });

  it('Event Streams webhook, authorizer not cached (as the stack): every event a request and an authorizer call', () => {
    const d = eventStreamsDoor(input);
    expect(d.variable['API Gateway REST requests']).toBeCloseTo(3.5, 9);
    expect(d.variable['Lambda authorizer']).toBeCloseTo(0.21666675, 8); // 0.2 + 1,250 GB-s x 0.0000133334
    expect(d.variable['Lambda ingest']).toBeCloseTo(0.36866751, 8); // 0.2 + 12,650 GB-s x 0.0000133334
    expect(d.variable['SNS requests']).toBeCloseTo(0.5, 9); // one Publish per event
    expect(d.variable['CloudWatch Logs (front door)']).toBeCloseTo(0.531, 9); // 0.9 GB x 0.59
    expect(d.perMillion).toBeCloseTo(5.11633426, 7);
  });

  it('Event Streams webhook, authorizer cached 300 s: 8,640 calls a tenant a month', () => {
    const d = eventStreamsDoor({ ...input, authorizerCacheTtlSeconds: 300 });
    // 2 tenants x 2,592,000 s / 300 s = 17,280 calls: 0.003456 + 21.6 GB-s x 0.0000133334
    expect(d.variable['Lambda authorizer']).toBeCloseTo(0.003744001, 9);
    expect(d.perMillion).toBeCloseTo(4.903411511, 7);
  });

  it('EventBridge: partner events, SQS send/receive/delete, ingest per batch of 10; fixed polls, KMS and alarms', () => {
    const d = eventBridgeDoor(input);
    expect(d.variable['EventBridge partner events']).toBeCloseTo(1.0, 9);
    expect(d.variable['SQS requests']).toBeCloseTo(0.48, 9); // 1e6 sends + 100,000 receives + 100,000 deletes = 1.2 M x 0.4/1e6
    expect(d.variable['Lambda ingest']).toBeCloseTo(0.03866676, 8); // 100,000 x 0.2/1e6 + 1,400 GB-s x 0.0000133334
    expect(d.variable['SNS requests']).toBeCloseTo(0.05, 9); // 100,000 PublishBatch
    expect(d.variable['CloudWatch Logs (front door)']).toBeCloseTo(0.0236, 9); // 100,000 x 400 B = 0.04 GB x 0.59
    expect(d.perMillion).toBeCloseTo(1.59226676, 7);
    expect(d.fixed['SQS idle polls']).toBeCloseTo(0.2592, 9); // 648,000 x 0.4/1e6
    // SQS's formula: 30 days / 300 s x (2 x 1 producer + 1 consumer) = 25,920 requests / 10,000 x 0.03
    expect(d.fixed['KMS data keys (5 min reuse)']).toBeCloseTo(0.07776, 9);
    expect(d.fixed['CloudWatch alarms']).toBeCloseTo(0.5, 9); // 5 x 0.10
    expect(d.fixedMonthly).toBeCloseTo(0.83696, 9);
  });

  it('EventBridge with one message per receive (a quiet queue): 3 SQS requests and an invocation per event', () => {
    const d = eventBridgeDoor({ ...input, messagesPerReceive: 1 });
    expect(d.variable['SQS requests']).toBeCloseTo(1.2, 9);
    // 1.0 + 1.2 + (0.2 + 12,650 GB-s x 0.0000133334) + 0.5 + 0.4 GB x 0.59
    expect(d.perMillion).toBeCloseTo(1.0 + 1.2 + 0.36866751 + 0.5 + 0.236, 7);
  });

  it('orders the doors Log Stream, Event Streams, EventBridge and rejects bad input', () => {
    expect(doorCosts(input).map((d) => d.door)).toEqual([
      'Log Stream webhook (batch 50)',
      'Event Streams webhook (authorizer cache 0 s)',
      'EventBridge (10 per receive)',
    ]);
    expect(() => doorCosts({ ...input, messagesPerReceive: 0 })).toThrow(/per receive/);
    expect(() => doorCosts({ ...input, logStreamBatch: 0 })).toThrow(/batch/);
  });
});

test("the report prints 1 M, 100 M and 1 B a month, the doors and the prices' dates, and rejects bad arguments", () => {
  const text = costReport([], ALARMS);
  for (const n of [
    '1,000,000 events',
    '100,000,000 events',
    '1,000,000,000 events',
    PRICES.asOf,
    PRICES.eventBridgeAsOf,
    'ratio',
    'Log Stream webhook',
    'Event Streams webhook',
    'EventBridge',
    'PER MILLION EVENTS',
    'FIXED PER MONTH',
    'Shared after the topic',
    'Assumptions',
    '4 alarm metrics, 1 composite',
  ])
    expect(text).toContain(n);
  expect(costReport(['--alarm-metrics', '7', '--composite-alarms', '2'])).toContain('7 alarm metrics, 2 composite');
  expect(() => monthlyCost({ eventsPerMonth: 1e6, batchSize: 0, actionShare: 0, listeners: 0, alarms: ALARMS })).toThrow(/batch-size/);
  expect(() => monthlyCost({ eventsPerMonth: 1e6, batchSize: 10, actionShare: 2, listeners: 0, alarms: ALARMS })).toThrow(/action-share/);
});

test('WebSocket messages are counted as frames: one per stream batch for * listeners, about one per event for self listeners', () => {
  // Worked by hand: 8% session events, 5 listeners per event, half of the deliveries to * listeners,
  // Lambda polling a shard 4 times a second (30-day month = 2,592,000 s), batches of up to 20.
  const cases: [number, number, number][] = [
    // events/month, events per push batch, push frames
    [1e6, 1, 400_000], // 80,000 session events = 0.03/s: one event a batch, one frame per delivery
    [1e8, 1, 40_000_000], // 3.09/s: still one a batch
    [1e9, 7.716049382716049, 225_920_000], // 30.86/s -> 7.72 a batch: 400 M deliveries x (0.5 / 7.716 + 0.5)
    [1e10, 20, 2_100_000_000], // 308.6/s: capped at the batch size, 20: 4 B deliveries x (0.5 / 20 + 0.5)
  ];
  for (const [eventsPerMonth, perBatch, frames] of cases) {
    const r = monthlyCost({ eventsPerMonth, batchSize: 50, actionShare: 0, listeners: 5, alarms: ALARMS });
    expect(r.usage.eventsPerPushBatch).toBeCloseTo(perBatch, 9);
    expect(r.usage.pushFrames).toBeCloseTo(frames, 0);
    // Plus 5 listeners' pings: 12 an hour for 720 hours.
    expect(r.usage.wsMessages).toBeCloseTo(frames + 5 * 12 * 720, 0);
  }
});

test("the push frame model uses the stack's stream batch size", () => {
  const { PUSH_STREAM } = require('../lib/session-events-socket') as typeof import('../lib/session-events-socket');
  expect(ASSUMPTIONS.pushFrames.maxEventsPerBatch).toBe(PUSH_STREAM.batchSize);
});

describe('history, hand-computed: 1,000,000 events a month over 2 tenants; 1 polled tenant bringing 1,000,000 events', () => {
  const { archiveLines, pollerLines } = require('../scripts/cost-history') as typeof import('../scripts/cost-history');
  const h = { eventsPerMonth: 1e6, tenants: 2, polledTenants: 1, polledEventsPerMonth: 1e6 };

  it('archive: Firehose bills 5 KB a record, partitions per GB and object, S3 and KMS per object, storage in steady state, Athena per query', () => {
    const a = archiveLines(h);
    expect(a['Firehose ingestion (5 KB steps)']).toBeCloseTo(0.14848, 9); // 1e6 x 5,120 B = 5.12 GB x 0.029
    // 1.5 GB x 0.02 + (2 tenants x 2,592,000 s / 300 s = 17,280 objects) / 1,000 x 0.005
    expect(a['Firehose dynamic partitioning']).toBeCloseTo(0.03 + 0.0864, 9);
    expect(a['S3 PUTs and KMS per object']).toBeCloseTo(0.0864 + 0.10368, 9); // 17,280 PUTs; 34,560 KMS requests x 0.03 / 10k
    // 1.5 GB / 8 = 0.1875 GB a month, kept 3 months in Standard and 10.33 in Glacier IR
    expect(a['S3 storage (steady state: Standard, then Glacier IR)']).toBeCloseTo(0.1875 * (3 * 0.023 + (400 / 30 - 3) * 0.004), 9);
    expect(a['Athena (100 queries of one tenant-month)']).toBeCloseTo(100 * 0.09375e-3 * 5, 9); // one tenant-month = 0.09375 GB scanned
  });

  it('poller: 43,200 runs a month, lease writes, the secret and its reads, PublishBatch of 10, a log line a run', () => {
    const p = pollerLines(h);
    expect(p['Poller Lambda (a run a minute per tenant)']).toBeCloseTo(0.00864 + 3315 * 0.0000133334, 8); // 43,200 x 0.25 GB x 0.3 s + 1e6 x 0.25 x 0.0003 s
    expect(p['Poller DynamoDB (lease and checkpoint)']).toBeCloseTo(((86_400 + 10_000) / 1e6) * 0.625, 9);
    expect(p['Poller Secrets Manager (secret + reads)']).toBeCloseTo(0.4 + 0.864 * 0.05, 9);
    expect(p['Poller SNS PublishBatch']).toBeCloseTo(0.05, 9);
    expect(p['Poller CloudWatch Logs']).toBeCloseTo(0.02592 * 0.59, 9);
  });

  it('the report shows both next to the rest', () => {
    const text = costReport([], ALARMS);
    for (const s of ['ARCHIVE TOTAL', 'POLLER TOTAL', 'Firehose ingestion', 'Athena', 'Secrets Manager']) expect(text).toContain(s);
  });
});
