/**
 * npm start [-- --persist <dir>] [--verbose]
 * Runs the whole pipeline on this machine (local/pipeline.ts). Env: PORT (3000), WS_PORT (3001),
 * LOCAL_API_KEY (default: a random key printed below), LOCAL_AUDIENCE, LOCAL_WS_LATENCY_MS (ms added to each
 * WebSocket management call, to rehearse API Gateway's latency; default 0).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEFAULT_PORT, DEFAULT_WS_PORT, DEV_TENANT, devAudience } from './dev-tenant';
import { DEV_EVENTBRIDGE_SOURCE } from './eventbridge';
import { LocalPipeline } from './pipeline';
import { removeRuntimeFile, writeRuntimeFile } from './runtime-file';
import { SIGN_OUT_BASE } from './sign-out-example';

async function main() {
  const { values } = parseArgs({
    options: { persist: { type: 'string' }, verbose: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log('usage: npm start [-- --persist <dir>] [--verbose]   env: PORT, WS_PORT, LOCAL_API_KEY, LOCAL_AUDIENCE, LOCAL_WS_LATENCY_MS');
    return;
  }
  const port = Number(process.env.PORT ?? DEFAULT_PORT);
  const wsPort = Number(process.env.WS_PORT ?? DEFAULT_WS_PORT);
  for (const [name, p] of [
    ['PORT', port],
    ['WS_PORT', wsPort],
  ] as const) {
    if (!Number.isInteger(p) || p <= 0 || p > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(process.env[name])}`);
  }
  const apiKey = process.env.LOCAL_API_KEY || randomBytes(18).toString('base64url');
  const started = Date.now();
  console.log('auth0-events: starting the local pipeline (SNS/SQS: fauxqs, DynamoDB Local on Java) ...');
  const pipeline = new LocalPipeline({
    port,
    wsPort,
    apiKey,
    persistDir: values.persist,
    examples: true,
    logLevel: values.verbose ? 'INFO' : undefined,
    log: values.verbose
      ? (l) => console.log(`  ${l}`)
      : (l) => {
          if (!/^(GET|POST) /.test(l)) console.log(`  ${l}`);
        },
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the emulators and servers ...`);
    removeRuntimeFile();
    await pipeline.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  try {
    await pipeline.start();
  } catch (e) {
    console.error(`auth0-events: ${(e as Error).message}`);
    await pipeline.stop();
    process.exit(1);
  }
  const rest = pipeline.restUrl;
  // For npm run replay -- --local (and other operations scripts): where this run's emulators are.
  writeRuntimeFile({
    pid: process.pid,
    rest,
    snsSqs: pipeline.emulatorEndpoints.snsSqs!,
    dynamodb: pipeline.emulatorEndpoints.dynamodb!,
    topicArn: pipeline.topicArn,
    archiveBucket: pipeline.archiver!.bucket,
  });
  // Tokens name the issuer http://127.0.0.1:<PORT>/: the token command needs the same PORT.
  const portEnv = port !== DEFAULT_PORT ? `PORT=${port} ` : '';
  const sample = `[{"log_id":"demo-1","data":{"type":"sapi","date":"${new Date().toISOString()}","description":"Update a User","details":{"request":{"method":"patch","path":"/api/v2/users/auth0%7Calice","body":{"blocked":true}}}}},{"log_id":"demo-2","data":{"type":"scp","date":"${new Date().toISOString()}","user_id":"auth0|bob"}}]`;
  console.log(`
Ready in ${((Date.now() - started) / 1000).toFixed(1)} s.

  Page        ${rest}/            (events, queues, DLQs, listeners)
  Example     ${rest}${SIGN_OUT_BASE}   sign out everywhere: open it in two tabs, sign in, then block or log out the user
  REST        ${rest}/${DEV_TENANT}/log-stream   ${rest}/${DEV_TENANT}/actions/{trigger}
              ${rest}/${DEV_TENANT}/event-stream (Auth0 Event Streams: Authorization: Bearer <key>)
  WebSocket   ${pipeline.wsUrl}/?tenant=${DEV_TENANT}
  EventBridge ${rest}/local/eventbridge   (what a partner bus delivers; ${DEV_TENANT}'s source ${DEV_EVENTBRIDGE_SOURCE})
  API keys    one per tenant, accepted only on that tenant's paths:
${[...pipeline.apiKeys].map(([t, k]) => `              ${t.padEnd(12)} ${k}${t === DEV_TENANT ? (process.env.LOCAL_API_KEY ? '' : '   (set LOCAL_API_KEY to choose it)') : '   (random each start)'}`).join('\n')}
  Tenant      ${DEV_TENANT}: issuer ${rest}/, audience ${devAudience()}
  Emulators   SNS/SQS ${pipeline.emulatorEndpoints.snsSqs}, DynamoDB ${pipeline.emulatorEndpoints.dynamodb}${values.persist ? `\n  Data        ${values.persist}` : ''}
  Archive     s3://${pipeline.archiver!.bucket}/events/tenant=<tenant>/dt=<YYYY-MM-DD>/*.gz on ${pipeline.emulatorEndpoints.snsSqs} (S3 path-style; gzip JSON lines, every event of the topic)

Try:
  curl -s -X POST ${rest}/${DEV_TENANT}/log-stream -H 'x-api-key: ${apiKey}' -H 'content-type: application/json' \\
    -d '${sample}'
  ${portEnv}npm run token -- --sub 'auth0|alice' --scope listen:events
  npm run listen -- --url ${pipeline.wsUrl} --tenant ${DEV_TENANT} --token "$(${portEnv}npm run -s token -- --scope listen:events)"
  npm run redrive -- --subscriber users --local --endpoint ${pipeline.emulatorEndpoints.snsSqs} --dry-run
  npm run replay -- --local --subscriber session-events --from ${new Date().toISOString().slice(0, 10)} --to ${new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)} --dry-run

Ctrl-C stops everything.`);
}

main().catch((e) => {
  console.error(`auth0-events: ${(e as Error).message}`);
  process.exit(1);
});
