/**
 * npm run replay -- --from <ISO> --to <ISO> [--tenant T] [--type <event type>]
 *                   (--subscriber NAME | --queue-url URL) [--dry-run]
 *                   [--local | --bucket <archive bucket> [--stack Auth0Events]]
 *                   [--publish-to-topic --topic-arn ARN]   (every subscriber gets the events again)
 *
 * Reads the archive (lib/ops/replay.ts) and sends the selected events to one subscriber's queue exactly
 * as the topic would have (same body, same message attributes, same ids; a registry subscriber's filter
 * policy applies). --local: the running `npm start` (its emulators and archive), with no other flag.
 * Against AWS: --bucket is the stack output ArchiveBucketName; a subscriber's queue is found by its tags
 * (as `npm run redrive`), or given with --queue-url.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import { resolveStackQueues } from '../lib/ops/redrive';
import { replay, validateSelection, type ReplayTarget } from '../lib/ops/replay';
import { validateRegistry } from '../lib/subscriber-definition';
import { SUBSCRIBERS } from '../lib/subscribers';
import { localS3Client } from '../local/archiver';
import { readRuntimeFile } from '../local/runtime-file';
import { DEFAULT_STACK, resolveLocalQueues } from './redrive';

export const USAGE = `usage: npm run replay -- --from <ISO> --to <ISO> [--tenant T] [--type <event type>]
         (--subscriber NAME | --queue-url URL) [--dry-run]
         [--local | --bucket <archive bucket, stack output ArchiveBucketName> [--stack ${DEFAULT_STACK}]]
         [--publish-to-topic --topic-arn ARN]   (instead of one queue: EVERY subscriber gets the events again)`;

/** A day (2026-03-01) is that day's 00:00 UTC; anything else as Date parses ISO 8601. */
export function parseInstant(value: string | undefined, flag: string): Date {
  if (!value) throw new Error(`${flag} is required\n${USAGE}`);
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) throw new Error(`${flag} ${JSON.stringify(value)} is not an ISO 8601 date or time (e.g. 2026-03-01 or 2026-03-01T12:00:00Z)`);
  return d;
}

export interface ReplayCliDeps {
  log: (line: string) => void;
  runtimeFile?: string;
}

export async function main(argv: string[], deps: ReplayCliDeps = { log: console.log }): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      tenant: { type: 'string' },
      type: { type: 'string' },
      subscriber: { type: 'string' },
      'queue-url': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
      bucket: { type: 'string' },
      stack: { type: 'string' },
      'publish-to-topic': { type: 'boolean', default: false },
      'topic-arn': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    deps.log(USAGE);
    return 0;
  }
  const from = parseInstant(values.from, '--from');
  const to = parseInstant(values.to, '--to');
  validateSelection({ from, to });
  const targets = [values.subscriber, values['queue-url'], values['publish-to-topic'] || undefined].filter((v) => v !== undefined);
  if (targets.length !== 1) throw new Error(`name exactly one target: --subscriber NAME, --queue-url URL or --publish-to-topic\n${USAGE}`);

  let s3: S3Client;
  let sqs: SQSClient;
  let sns: SNSClient;
  let bucket: string;
  let topicArn = values['topic-arn'];
  if (values.local) {
    const rt = readRuntimeFile(deps.runtimeFile);
    const local = { endpoint: rt.snsSqs, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    s3 = localS3Client(rt.snsSqs);
    sqs = new SQSClient(local);
    sns = new SNSClient(local);
    bucket = values.bucket ?? rt.archiveBucket;
    topicArn ??= rt.topicArn;
  } else {
    if (!values.bucket) throw new Error(`--bucket is required against AWS (the stack output ArchiveBucketName), or --local for npm start\n${USAGE}`);
    s3 = new S3Client({});
    sqs = new SQSClient({});
    sns = new SNSClient({});
    bucket = values.bucket;
  }

  let target: ReplayTarget;
  let where: string;
  if (values['publish-to-topic']) {
    if (!topicArn) throw new Error('--publish-to-topic needs --topic-arn (the stack output of the event topic)');
    target = { topicArn, sns, publishToTopic: true };
    where = `the topic ${topicArn} (EVERY subscriber whose filter matches gets these events again)`;
  } else if (values['queue-url']) {
    target = { queueUrl: values['queue-url'], sqs };
    where = `${values['queue-url']} (no filter policy known for a queue URL: only --tenant/--type narrow the selection)`;
  } else {
    const name = values.subscriber!;
    const policies = validateRegistry(SUBSCRIBERS);
    const queueUrl = values.local
      ? (await resolveLocalQueues(sqs, name)).queueUrl
      : (await resolveStackQueues(sqs, { stack: values.stack ?? DEFAULT_STACK, subscriber: name })).queueUrl;
    target = { queueUrl, sqs, filterPolicy: policies.get(name) };
    where = `subscriber ${name}'s queue ${queueUrl}${policies.has(name) ? ' (its filter policy applies)' : ' (not in the registry: no filter policy applies)'}`;
  }
  deps.log(
    `replay ${from.toISOString()} .. ${to.toISOString()}${values.tenant ? ` tenant ${values.tenant}` : ''}${values.type ? ` type ${values.type}` : ''}\n  from s3://${bucket}/events/\n  to   ${where}${values['dry-run'] ? '\n  --dry-run: nothing is sent' : ''}`,
  );
  const result = await replay({
    s3,
    bucket,
    from,
    to,
    tenant: values.tenant,
    type: values.type,
    target,
    dryRun: values['dry-run'],
    onProgress: (p) => {
      if (p.objects) deps.log(`  ${p.tenant} ${p.day}: ${p.objects} object(s), ${p.matched} selected so far, ${p.sent} sent`);
    },
  });
  deps.log(
    values['dry-run']
      ? `${result.matched} event(s) would be sent (${result.lines} archived line(s) read from ${result.objects} object(s)${result.duplicates ? `, ${result.duplicates} duplicate(s) skipped` : ''})`
      : `${result.sent} event(s) sent (${result.lines} archived line(s) read from ${result.objects} object(s)${result.duplicates ? `, ${result.duplicates} duplicate(s) skipped` : ''})`,
  );
  return 0;
}

if (require.main === module)
  main(process.argv.slice(2)).catch((e) => {
    console.error(`replay: ${(e as Error).message}`);
    process.exit(1);
  });
