/** Unit arithmetic shared by the cost model's designs and front doors (scripts/cost.ts, scripts/cost-doors.ts). */
import { ASSUMPTIONS as A, PRICES as P } from './prices';

export type CostLines = Record<string, number>;

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

export const gbs = (invocations: number, memoryMb: number, ms: number) => invocations * (memoryMb / 1024) * (ms / 1000);
export const lambdaCost = (invocations: number, gbSeconds: number) => (invocations / 1e6) * P.lambda.requestsPerMillion + gbSeconds * P.lambda.gbSecondArm;
export const sum = (l: CostLines) => Object.values(l).reduce((a, b) => a + b, 0);
/** CloudWatch Logs: ingestion plus storage for the retention period. */
export const logCost = (bytes: number) => (bytes / 1e9) * (P.cloudwatch.logsIngestedPerGb + A.logRetentionMonths * P.cloudwatch.logsStoredPerGbMonth);
export const sqsCost = (requests: number) => (requests / 1e6) * P.sqs.requestsPerMillion;
export const snsCost = (requests: number) => (requests / 1e6) * P.sns.requestsPerMillion;
/** Seconds in the model's month (30 days). */
export const MONTH_SECONDS = 30 * 24 * 3600;

/**
 * An API Gateway REST front door: `requests` REST requests, each through the Lambda authorizer
 * (`authorizerInvocations` of them, fewer when its result is cached) and the ingest Lambda, carrying
 * `events` events in all, published with `publishRequests` SNS requests.
 */
export function restDoorLines(requests: number, authorizerInvocations: number, events: number, publishRequests: number): CostLines {
  return {
    'API Gateway REST requests': tiered(requests, P.apiGateway.restPerMillionTiers),
    'Lambda authorizer': lambdaCost(authorizerInvocations, gbs(authorizerInvocations, A.authorizer.memoryMb, A.authorizer.ms)),
    'Lambda ingest': lambdaCost(requests, gbs(requests, A.ingest.memoryMb, A.ingest.msPerCall) + gbs(events, A.ingest.memoryMb, A.ingest.msPerEvent)),
    'SNS requests': snsCost(publishRequests),
    'CloudWatch Logs (front door)': logCost(requests * A.logBytesPerRequest),
  };
}
