/**
 * The cost of history (issue 21), per month, side by side with the rest of the model:
 *   archive  every event of the topic -> Firehose (records billed in 5 KB steps, dynamic partitioning
 *            by tenant and day) -> S3 (gzip JSON lines; Standard, then Glacier Instant Retrieval until
 *            expiry) with KMS per object; Athena per query, scanning one tenant-month
 *   poller   per polled tenant: a scheduled run a minute (the EventBridge schedule itself is free),
 *            Lambda, DynamoDB lease and checkpoint writes, Secrets Manager (the secret and its reads),
 *            SNS PublishBatch (10 events a call) for the events it brings in, a log line a run.
 *            Auth0's Management API calls cost nothing but are rate-limited (the poller waits on 429).
 * Unit prices and usage assumptions: scripts/prices.ts.
 */
import { ASSUMPTIONS as A, PRICES as P } from './prices';
import { CostLines, gbs, lambdaCost, logCost, snsCost } from './cost-units';

export interface HistoryInput {
  eventsPerMonth: number;
  tenants: number;
  polledTenants: number;
  polledEventsPerMonth: number;
}

export function archiveLines(i: HistoryInput): CostLines {
  const Ar = A.archive;
  const rawGb = (i.eventsPerMonth * Ar.eventBytes) / 1e9;
  // Every record is billed as at least 5 KB (Ar.eventBytes is below it).
  const billedGb =
    (i.eventsPerMonth * Math.ceil(Ar.eventBytes / (P.firehose.recordBillingIncrementKb * 1024)) * P.firehose.recordBillingIncrementKb * 1024) / 1e9;
  // One object per tenant and buffer interval while events flow (at most).
  const objects = i.eventsPerMonth > 0 ? Math.min(i.eventsPerMonth, (i.tenants * (30 * 24 * 3600)) / Ar.bufferSeconds) : 0;
  const storedGbPerMonth = rawGb / Ar.gzipRatio;
  const scannedTb = Math.max(storedGbPerMonth / Math.max(1, i.tenants) / 1e3, P.athena.minimumMbPerQuery / 1e6);
  return {
    'Firehose ingestion (5 KB steps)': billedGb * P.firehose.ingestedPerGb,
    'Firehose dynamic partitioning': rawGb * P.firehose.dynamicPartitioningPerGb + (objects / 1e3) * P.firehose.perThousandObjects,
    'S3 PUTs and KMS per object': (objects / 1e3) * P.s3.putPerThousand + ((objects * Ar.kmsRequestsPerObject) / 1e4) * P.kms.requestsPer10k,
    'S3 storage (steady state: Standard, then Glacier IR)':
      storedGbPerMonth * (Ar.standardMonths * P.s3.standardGbMonth + Ar.glacierMonths * P.s3.glacierInstantGbMonth),
    [`Athena (${Ar.queriesPerMonth} queries of one tenant-month)`]: Ar.queriesPerMonth * scannedTb * P.athena.perTbScanned,
  };
}

export function pollerLines(i: HistoryInput): CostLines {
  const Po = A.poller;
  const runs = i.polledTenants * Po.runsPerMonth;
  const pages = i.polledEventsPerMonth / 100;
  return {
    'Poller Lambda (a run a minute per tenant)': lambdaCost(
      runs,
      gbs(runs, Po.memoryMb, Po.msPerRun) + gbs(i.polledEventsPerMonth, Po.memoryMb, Po.msPerEvent),
    ),
    'Poller DynamoDB (lease and checkpoint)': ((2 * runs + pages) / 1e6) * P.dynamodb.writeRequestUnitsPerMillion,
    'Poller Secrets Manager (secret + reads)': i.polledTenants * (P.secretsManager.secretMonth + (Po.secretReadsPerMonth / 1e4) * P.secretsManager.per10kCalls),
    'Poller SNS PublishBatch': snsCost(i.polledEventsPerMonth / 10),
    'Poller CloudWatch Logs': logCost(runs * Po.logBytesPerRun),
  };
}
