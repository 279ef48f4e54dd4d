/**
 * npm run backfill -- --tenant T --from <log_id | ISO date> [--to <ISO date>] [--dry-run] [--local]
 *
 * Recovers a window of a tenant's Auth0 logs (after a Log Stream pause, or before the poller was
 * enabled) with the poller's own code (lambda/ingest/poller/poll.ts): from a log_id by checkpoint paging, from
 * an ISO date by first finding the first log at or after it (Auth0's search form, sort=date:1), then
 * checkpoint paging (search paging alone stops at 1,000 records). Every log becomes the same event as
 * through the Log Stream (id = log_id), so what subscribers already have is removed as a duplicate.
 * It publishes to the topic (every subscriber gets the window: that is the point of a backfill; use
 * `npm run replay` to feed one subscriber from the archive instead) and never moves the scheduled
 * poller's checkpoint. Auth0 keeps logs 1 to 30 days by plan: older windows are gone from Auth0.
 *   deployed: the tenant's managementApi from cdk.json, its secret from Secrets Manager, the topic
 *             from the SSM parameter <parameterPrefix>/topic-arn (AWS credentials of the shell)
 *   --local:  the running npm start (its topic), AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET,
 *             tenant dev by default
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { publishEvents } from '../lambda/ingest/publish';
import { ManagementApi, type Credentials } from '../lambda/ingest/poller/auth0-logs';
import { parseCredentials } from '../lambda/ingest/poller/handler';
import { poll, type PollStart } from '../lambda/ingest/poller/poll';
import { managementApiOrigin } from '../lambda/shared/tenants';
import { DEFAULT_PARAMETER_PREFIX } from '../lib/auth0-events-topic';
import { CONTEXT_KEY, parseConfig } from '../lib/config';
import { EMULATOR_CREDENTIALS } from '../local/emulators';
import { localManagementApi } from '../local/log-poller';
import { readRuntimeFile } from '../local/runtime-file';

const ISO = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Where to start: an ISO date (`since`) or a log_id (`after`, exclusive: Auth0 returns logs newer than it). */
export function startOf(from: string): PollStart {
  if (ISO.test(from)) {
    const t = Date.parse(from);
    if (Number.isNaN(t)) throw new Error(`--from ${from} is not a valid date`);
    return { since: new Date(t).toISOString() };
  }
  if (!/^[0-9A-Za-z_-]{1,128}$/.test(from))
    throw new Error(`--from must be an Auth0 log_id or an ISO date (2026-12-01 or 2026-12-01T10:00:00Z), got ${JSON.stringify(from.slice(0, 60))}`);
  return { after: from };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
    },
  });
  if (!values.from) throw new Error('usage: npm run backfill -- --tenant T --from <log_id | ISO date> [--to <ISO date>] [--dry-run] [--local]');
  const start = startOf(values.from);
  const until = values.to ? new Date(Date.parse(values.to)).toISOString() : undefined;
  let origin: string;
  let credentials: () => Promise<Credentials>;
  let sns: SNSClient;
  let topicArn: string;
  const tenant = values.tenant ?? (values.local ? 'dev' : '');
  if (values.local) {
    const api = localManagementApi();
    if (!api) throw new Error('--local needs AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET');
    const info = readRuntimeFile();
    origin = managementApiOrigin({ name: 'dev', audience: 'local', managementApi: api })!;
    credentials = async () => ({ client_id: process.env.AUTH0_CLIENT_ID!, client_secret: process.env.AUTH0_CLIENT_SECRET! });
    sns = new SNSClient({
      endpoint: info.snsSqs,
      region: EMULATOR_CREDENTIALS.AWS_REGION,
      credentials: { accessKeyId: EMULATOR_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: EMULATOR_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    });
    topicArn = info.topicArn;
  } else {
    const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));
    const config = parseConfig(cdkJson.context?.[CONTEXT_KEY]);
    const t = config.tenants.find((c) => c.name === tenant);
    if (!t) throw new Error(`--tenant ${JSON.stringify(tenant)} is not a tenant of cdk.json (${config.tenants.map((c) => c.name).join(', ')})`);
    if (!t.managementApi)
      throw new Error(`tenant ${tenant} has no managementApi in cdk.json: add {"secret": "<Secrets Manager secret name>"} (README, "Polling Auth0's log API")`);
    origin = managementApiOrigin(t)!;
    const secretId = t.managementApi.secret;
    const sm = new SecretsManagerClient({});
    credentials = async () => parseCredentials(secretId, (await sm.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString);
    sns = new SNSClient({});
    const name = `${config.parameterPrefix ?? DEFAULT_PARAMETER_PREFIX}/topic-arn`;
    topicArn = (await new SSMClient({}).send(new GetParameterCommand({ Name: name }))).Parameter!.Value!;
  }
  const api = new ManagementApi({ origin, credentials, deadline: Number.MAX_SAFE_INTEGER });
  let pages = 0;
  const summary = await poll({
    tenant,
    api,
    start,
    until,
    dryRun: values['dry-run'],
    deadline: Number.MAX_SAFE_INTEGER,
    publish: (events) => publishEvents(events, { client: sns, topicArn }),
    onPage: async (last) => {
      if (++pages % 10 === 0) console.log(`  ... ${pages} pages, up to ${last.log_id} (${String(last.date ?? '')})`);
    },
    onRefused: (id, problems) => console.error(`  refused ${id}: ${problems.join('; ')}`),
  });
  console.log(
    `${values['dry-run'] ? 'would publish' : 'published'} ${summary.published} event(s) of tenant ${tenant} from ${values.from}${until ? ` to ${until}` : ''}; last log_id ${summary.last ?? '(none)'}; ${summary.refused} refused; ${api.requests} Management API requests`,
  );
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`backfill: ${(e as Error).message}`);
    process.exit(2);
  });
}
