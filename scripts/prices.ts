/**
 * AWS public on-demand unit prices, us-east-1, USD, as published on the pages below: known to the
 * author on 2025-06-01 (`asOf`), the EventBridge and composite-alarm prices read on 2026-11-25
 * (`eventBridgeAsOf`); check the pages before relying on a figure. Free tiers are left out.
 * ASSUMPTIONS below are not prices but the usage the model needs.
 * Used only by scripts/cost*.ts (no CDK, no SDK; the alarm count comes from scripts/stack-alarms.ts).
 */
export const PRICES = {
  asOf: '2025-06-01',
  eventBridgeAsOf: '2026-11-25',
  region: 'us-east-1',
  sources: {
    apiGateway: 'https://aws.amazon.com/api-gateway/pricing/',
    lambda: 'https://aws.amazon.com/lambda/pricing/',
    sns: 'https://aws.amazon.com/sns/pricing/',
    sqs: 'https://aws.amazon.com/sqs/pricing/',
    dynamodb: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    kms: 'https://aws.amazon.com/kms/pricing/',
    cloudwatch: 'https://aws.amazon.com/cloudwatch/pricing/',
    /** Read 2026-11-25 (the page's example: "SaaS application publishes 5 million events" -> partner events ingested 5M x $1.00/M; delivery is charged only to another account). */
    eventBridge: 'https://aws.amazon.com/eventbridge/pricing/',
    firehose: 'https://aws.amazon.com/firehose/pricing/',
    s3: 'https://aws.amazon.com/s3/pricing/',
    athena: 'https://aws.amazon.com/athena/pricing/',
    secretsManager: 'https://aws.amazon.com/secrets-manager/pricing/',
  },
  /** Amazon Data Firehose, Direct PUT: each record billed rounded up to 5 KB; dynamic partitioning per GB processed and per 1,000 objects delivered. */
  firehose: { ingestedPerGb: 0.029, recordBillingIncrementKb: 5, dynamicPartitioningPerGb: 0.02, perThousandObjects: 0.005 },
  s3: { standardGbMonth: 0.023, glacierInstantGbMonth: 0.004, putPerThousand: 0.005 },
  /** Per TB scanned, at least 10 MB a query. */
  athena: { perTbScanned: 5.0, minimumMbPerQuery: 10 },
  /** Per secret a month, and per 10,000 API calls. */
  secretsManager: { secretMonth: 0.4, per10kCalls: 0.05 },
  apiGateway: {
    /** REST API requests, per million, by monthly tier (first 333 M, next 667 M, next 19 B, over 20 B). */
    restPerMillionTiers: [
      { upToMillions: 333, usd: 3.5 },
      { upToMillions: 1000, usd: 2.8 },
      { upToMillions: 20000, usd: 2.38 },
      { upToMillions: Infinity, usd: 1.51 },
    ],
    /** WebSocket messages (32 KB units), per million: first 1 B, then. */
    wsMessagesPerMillionTiers: [
      { upToMillions: 1000, usd: 1.0 },
      { upToMillions: Infinity, usd: 0.8 },
    ],
    wsConnectionMinutesPerMillion: 0.25,
  },
  lambda: {
    requestsPerMillion: 0.2,
    /** Arm64 (the stack's architecture), first 7.5 B GB-s tier. */
    gbSecondArm: 0.0000133334,
  },
  sns: {
    /** Standard topic API requests (each 64 KB chunk of a Publish or PublishBatch request is one), per million. */
    requestsPerMillion: 0.5,
    /** Deliveries to SQS are not charged; attribute-based filtering is not charged. */
    sqsDeliveryPerMillion: 0,
  },
  sqs: {
    /** Standard queue requests (each 64 KB chunk), per million, first 100 B a month. */
    requestsPerMillion: 0.4,
  },
  dynamodb: {
    /** On-demand, after the November 2024 price reduction. */
    writeRequestUnitsPerMillion: 0.625,
    readRequestUnitsPerMillion: 0.125,
    storageGbMonth: 0.25,
  },
  kms: {
    keyMonth: 1.0,
    requestsPer10k: 0.03,
  },
  cloudwatch: {
    logsIngestedPerGb: 0.5,
    logsStoredPerGbMonth: 0.03,
    /** Per alarm metric (standard resolution): a metric-math alarm pays for each metric it reads. */
    standardAlarmMonth: 0.1,
    /** Composite alarm, per alarm (added 2026-11-25 from the same page). */
    compositeAlarmMonth: 0.5,
  },
  eventBridge: {
    /** Partner events (Auth0's partner event source) ingested by the partner event bus, per million 64 KB chunks (read 2026-11-25). */
    partnerEventsPerMillion: 1.0,
    /** Rule matching and delivery to a target in the same account (the front-door queue): no charge (read 2026-11-25). */
    sameAccountDeliveryPerMillion: 0,
  },
} as const;

/** Usage assumptions of the model (not prices): change them here (the report points at this file). */
export const ASSUMPTIONS = {
  /** Lambda memory (MB) and billed duration (ms) per invocation, from the stack and the local benches. */
  /** 256 MB as lib/ingest-api.ts gives it (was 128 here); cache TTL 0 as the stack has it (no single identity source). */
  authorizer: { memoryMb: 256, ms: 5, cacheTtlSeconds: 0 },
  ingest: { memoryMb: 512, msPerCall: 25, msPerEvent: 0.3 },
  consumer: { memoryMb: 256, msPerInvocation: 10, msPerRecord: 8, batchSize: 10 },
  push: { memoryMb: 1024, msPerEvent: 20, msPerListener: 1 },
  /**
   * WebSocket frames of the push (messages are billed per 32 KB unit; a frame is at most 32 KB). One
   * stream batch sends each listener its events in one frame. Lambda polls each stream shard 4 times a
   * second (base rate; maxBatchingWindow 0), so a batch holds about session events per second / 4,
   * from 1 up to the event source's batch size (PUSH_STREAM.batchSize, 20; 20 pushed events are about
   * 6 KB, one frame). `*` listeners see every event of a batch (one frame a batch); `self` listeners see
   * their own user's events, about one frame an event: starShareOfDeliveries is the `*` listeners' share.
   */
  pushFrames: { streamPollsPerSecond: 4, maxEventsPerBatch: 20, starShareOfDeliveries: 0.5 },
  /** Share of events that are user-state events (users subscriber) and session events (events table, push). */
  userEventShare: 0.05,
  sessionEventShare: 0.08,
  /** Average listeners that receive one session event (admin listeners see all; self listeners their own). */
  maxFanout: 5,
  /** Listener pings per connection-hour (keeps API Gateway's 10-minute idle timeout away). */
  pingsPerHour: 12,
  /**
   * KMS: SNS and SQS reuse a data key for 5 minutes per key, queue and principal (SQS default), so KMS
   * requests stay near constant. SQS's formula per queue: R = B / D x (2 P + C), B the billing period,
   * D the reuse period, P producing and C consuming principals ("How do I estimate my AWS KMS usage
   * costs?", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html,
   * read 2026-11-25): one producer and one consumer give 3 per 5 minutes (this said 2 before).
   */
  kmsRequestsPerQueueMonth: (2 * 1 + 1) * 12 * 24 * 30,
  /** Customer-managed keys of the stack: topic, queues, stores, real time, alarms. */
  kmsKeys: 5,
  /** Idle long polls of a Lambda SQS event source (5 pollers, 20 s) per queue a month. */
  idleSqsPollsPerQueueMonth: 5 * 3 * 60 * 24 * 30,
  /** Queues that Lambda polls: users, session-events, close checks. */
  queues: 3,
  /** Bytes logged: per API request (access log + ingest line), per consumer record, per push. */
  logBytesPerRequest: 900,
  logBytesPerRecord: 300,
  logRetentionMonths: 3,
  /* The stack's alarms are not assumed: scripts/stack-alarms.ts counts them in the synthesized template. */
  /**
   * DynamoDB: 1 conditional write per user event (1 WRU, an item under 1 KB) when it is newer than what is
   * stored, the usual case (a duplicate or an older event: 1 refused write, then 1 per attribute group, 2-8).
   * A lower bound: a signup seen by several front doors (Action, `ss`, user.created) is 1 + 6-8 writes
   * for the later ones, and a whole profile with long ids and URLs may pass 1 KB (2 WRU a write);
   * 1 write per session event plus 2 GSIs (3 WRU); the push reads listeners (0.5 RRU per event per 4 KB page).
   */
  wruPerUserEvent: 1,
  wruPerSessionEvent: 3,
  rruPerPush: 0.5,
  /**
   * The EventBridge front door (per partner event source: partner bus -> rule -> SQS queue + DLQ ->
   * the ingest Lambda with an SQS event source). Messages per receive: the Lambda SQS event source
   * takes up to its batch size (default 10) per ReceiveMessage; a quiet queue gives fewer.
   */
  /** The archive (lib/event-archive.ts): bytes of one event as the topic delivers it, gzip ratio, Firehose buffer, queries. */
  archive: {
    eventBytes: 1500,
    gzipRatio: 8,
    bufferSeconds: 300,
    standardMonths: 3,
    glacierMonths: 400 / 30 - 3,
    queriesPerMonth: 100,
    kmsRequestsPerObject: 2,
  },
  /**
   * The log poller (lib/log-poller.ts), per polled tenant: a run a minute (43,200 a month), each
   * ~300 ms at 256 MB when idle plus 0.3 ms an event; 2 DynamoDB writes a run (lease) + 1 a page;
   * GetSecretValue at most once per 5 minutes per warm container; one summary log line a run.
   */
  poller: { runsPerMonth: 30 * 24 * 60, memoryMb: 256, msPerRun: 300, msPerEvent: 0.3, logBytesPerRun: 600, secretReadsPerMonth: 12 * 24 * 30 },
  eventBridge: {
    memoryMb: 512,
    messagesPerReceive: 10,
    /** Alarms of one source: queue age, DLQ depth x2, ingest errors, the rule's FailedInvocations. */
    alarmsPerSource: 5,
    /** Lambda-polled queues per source (the DLQ is not polled). */
    polledQueuesPerSource: 1,
    /** Its own customer-managed keys per source (0: the queue takes the stack's queue key). */
    kmsKeysPerSource: 0,
    /** Bytes logged per ingest invocation (no API access log; the Lambda's summary and REPORT lines). */
    logBytesPerInvocation: 400,
  },
} as const;
