/**
 * AWS public on-demand unit prices, us-east-1, USD, as published on the pages below and known to the
 * author on 2025-06-01 (the date of this table; check the pages before relying on a figure). Free tiers
 * are left out. Lines marked "assumption" are not prices but usage assumptions the model needs.
 * Used only by scripts/cost.ts (no CDK, no SDK).
 */
export const PRICES = {
  asOf: '2025-06-01',
  region: 'us-east-1',
  sources: {
    apiGateway: 'https://aws.amazon.com/api-gateway/pricing/',
    lambda: 'https://aws.amazon.com/lambda/pricing/',
    sns: 'https://aws.amazon.com/sns/pricing/',
    sqs: 'https://aws.amazon.com/sqs/pricing/',
    dynamodb: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    kms: 'https://aws.amazon.com/kms/pricing/',
    cloudwatch: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
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
    standardAlarmMonth: 0.1,
  },
} as const;

/** Usage assumptions of the model (not prices): change them here (the report points at this file). */
export const ASSUMPTIONS = {
  /** Lambda memory (MB) and billed duration (ms) per invocation, from the stack and the local benches. */
  authorizer: { memoryMb: 128, ms: 5 },
  ingest: { memoryMb: 512, msPerCall: 25, msPerEvent: 0.3 },
  consumer: { memoryMb: 256, msPerInvocation: 10, msPerRecord: 8, batchSize: 10 },
  push: { memoryMb: 1024, msPerEvent: 20, msPerListener: 1 },
  /** Share of events that are user-state events (users subscriber) and session events (events table, push). */
  userEventShare: 0.05,
  sessionEventShare: 0.08,
  /** Average listeners that receive one session event (admin listeners see all; self listeners their own). */
  maxFanout: 5,
  /** Listener pings per connection-hour (keeps API Gateway's 10-minute idle timeout away). */
  pingsPerHour: 12,
  /** KMS: SNS and SQS reuse a data key for 5 minutes per key, queue and principal (SQS default), so KMS requests stay near constant. */
  kmsRequestsPerQueueMonth: 2 * 12 * 24 * 30,
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
  /** Metric alarms of the stack with the default registry (the composite alarm is left out). */
  alarms: 26,
  /** DynamoDB: 2 conditional writes per user event (1 WRU each); 1 write per session event plus 2 GSIs (3 WRU); the push reads listeners (0.5 RRU per event per 4 KB page). */
  wruPerUserEvent: 2,
  wruPerSessionEvent: 3,
  rruPerPush: 0.5,
} as const;
