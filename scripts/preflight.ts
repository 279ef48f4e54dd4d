/**
 * npm run preflight [-- --update] [--example] [--stream-shards N]
 *
 * Read-only checks of the account and region the deploy goes to (AWS_PROFILE / AWS_REGION), against
 * the template `cdk synth` makes from cdk.json (root and nested stacks): the CDK bootstrap version,
 * the Lambda concurrency quota against what the stack may use, each configured EventBridge partner
 * source (exists, PENDING; ACTIVE with --update), API Gateway's account CloudWatch role. Prints each
 * finding with what to do; exits 1 when one would make the deploy fail. scripts/preflight-checks.ts.
 *   --update         the stack is deployed already (its partner buses and reservations exist)
 *   --example        you will deploy the example configuration (--parameters ExampleConfiguration=deploy)
 *   --stream-shards  open shards of the events table's stream (default 1: a new table)
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { blocking, preflight, stackNeeds, type PreflightOptions } from './preflight-checks';
import { shippedTemplates } from './shipped-template';

async function main(argv: string[]): Promise<number> {
  const shards = argv.indexOf('--stream-shards');
  const ssm = new SSMClient({});
  const region = await ssm.config.region();
  const opts: PreflightOptions = {
    region,
    update: argv.includes('--update'),
    exampleConfiguration: argv.includes('--example'),
    streamShards: shards >= 0 ? Number(argv[shards + 1]) : 1,
  };
  if (!Number.isInteger(opts.streamShards) || opts.streamShards! < 1) throw new Error('--stream-shards takes a whole number of shards, at least 1');
  const clients = { ssm, lambda: new LambdaClient({ region }), events: new EventBridgeClient({ region }), apigateway: new APIGatewayClient({ region }) };
  const findings = await preflight(clients, stackNeeds(shippedTemplates()), opts);
  for (const f of findings) console.log(`${f.severity === 'ok' ? 'ok      ' : f.severity === 'warning' ? 'WARNING ' : 'BLOCKING'} ${f.check}: ${f.message}`);
  const failed = blocking(findings);
  console.log(failed ? '\nThe deploy would fail or misbehave: fix the BLOCKING findings first.' : '\nNothing blocks the deploy.');
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`preflight: ${(e as Error).message}`);
    process.exitCode = 2;
  },
);
