/**
 * The event archive's layout, in one place for everything that writes or reads it: the Firehose
 * stream and the Glue table (lib/event-archive.ts), the local runtime's archiver (local/archiver.ts),
 * the replay (lib/ops/replay.ts) and the test that runs the documented Athena query over the local
 * archive (test/archive-query.fauxqs.test.ts). No aws-cdk-lib here: the replay loads it alone.
 *
 *   s3://<bucket>/events/tenant=<tenant>/dt=<YYYY-MM-DD>/<stream>-<n>-<yyyy-MM-dd-HH-mm-ss>-<uuid>.gz
 *
 * Each object is gzip, one canonical event per line: the SNS message body exactly as published (raw
 * delivery), then "\n". `tenant` is the event's tenant, `dt` the UTC day of its `date` (when it
 * happened at Auth0), so "every user_blocked of tenant X in March" reads one tenant's March folders.
 */

/** Where events go: `events/tenant=<tenant>/dt=<YYYY-MM-DD>/`. */
export const EVENTS_PREFIX = 'events/';
/** Where Firehose puts what it could not deliver or partition (`errors/<error type>/<yyyy/MM/dd>/`). */
export const ERRORS_PREFIX = 'errors/';
/** Where the Athena workgroup writes query results (kept a short time). */
export const ATHENA_RESULTS_PREFIX = 'athena-results/';

/** The partition keys, in order: the Glue table's partition keys and the folders under `events/`. */
export const PARTITION_KEYS = ['tenant', 'dt'] as const;

/** The object key prefix of one tenant's day. */
export function partitionPrefix(tenant: string, dt: string): string {
  return `${EVENTS_PREFIX}tenant=${tenant}/dt=${dt}/`;
}

/** The partition values of an event: its tenant and the UTC day of its `date` (YYYY-MM-DD, as Firehose's JQ query takes it). */
export function partitionOf(event: { tenant: string; date: string }): { tenant: string; dt: string } {
  return { tenant: event.tenant, dt: event.date.slice(0, 10) };
}

/**
 * Firehose's dynamic partitioning: the JQ 1.6 query that extracts the partition keys from a record,
 * and the S3 prefix that uses them. Must give the same folders as `partitionPrefix(partitionOf(e))`.
 */
export const FIREHOSE_PARTITION_QUERY = { tenant: '.tenant', dt: '.date[0:10]' } as const;
export const FIREHOSE_PREFIX = `${EVENTS_PREFIX}tenant=!{partitionKeyFromQuery:tenant}/dt=!{partitionKeyFromQuery:dt}/`;
export const FIREHOSE_ERROR_PREFIX = `${ERRORS_PREFIX}!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/`;

/** Glue/Hive column types used by the archive table. */
export type ColumnType = 'string' | 'int' | 'boolean';

/**
 * The table's columns: the canonical event's fields (lambda/shared/event.ts) but the partition keys
 * (`tenant` is a field too, read from the folder instead; Athena refuses a column that is also a
 * partition key). `data` is read as its JSON text (query it with json_extract_scalar).
 */
export const ARCHIVE_COLUMNS: readonly { name: string; type: ColumnType; comment: string }[] = [
  { name: 'id', type: 'string', comment: 'log_id, a stable hash for Action calls, or ce_<CloudEvent id>: the de-duplication key' },
  { name: 'type', type: 'string', comment: 'event type (user_blocked, password_changed, ..., log)' },
  { name: 'source', type: 'string', comment: 'front door: log-stream, action or event-stream' },
  { name: 'log_type', type: 'string', comment: 'Auth0 log type code (sapi, scp, ...)' },
  { name: 'level', type: 'int', comment: 'severity 0 (debug) to 4 (critical)' },
  { name: 'user_id', type: 'string', comment: 'Auth0 user id, when the event names one' },
  { name: 'session_id', type: 'string', comment: 'Auth0 session id, when the event names one' },
  { name: 'date', type: 'string', comment: 'ISO 8601 UTC: when it happened at Auth0 (a reserved word: quote it, "date")' },
  { name: 'received_at', type: 'string', comment: 'ISO 8601 UTC: when the pipeline accepted it' },
  { name: 'data', type: 'string', comment: 'the original Auth0 payload as JSON text' },
  { name: 'truncated', type: 'boolean', comment: 'true when data was trimmed to fit SNS' },
];

/** The table's name in the Glue database. */
export const ARCHIVE_TABLE = 'events';

/**
 * Partition projection (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html):
 * tenant is injected (every query names its tenant with `tenant = '...'`), dt a day from 2020 on.
 */
export function projectionParameters(bucketName: string): Record<string, string> {
  return {
    'projection.enabled': 'true',
    'projection.tenant.type': 'injected',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': '2020-01-01,NOW',
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'storage.location.template': `s3://${bucketName}/${EVENTS_PREFIX}tenant=\${tenant}/dt=\${dt}/`,
  };
}
