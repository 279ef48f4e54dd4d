/**
 * The checks behind `npm run preflight` (scripts/preflight.ts): what the synthesized template needs
 * from the account and region (stackNeeds), and read-only calls that say whether the account has it
 * (preflight). Each finding says what to do. Read-only: ssm:GetParameter, lambda:GetAccountSettings,
 * events:DescribeEventSource and apigateway:GET on /account, nothing else.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { GetAccountSettingsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeEventSourceCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetAccountCommand, type APIGatewayClient } from '@aws-sdk/client-api-gateway';
import type { CfnTemplate, ShippedTemplates } from './shipped-template';

/** Bootstrap versions from which CloudFormation's early-validation reasons reach the CDK CLI (README, Deploy step 3). */
export const EARLY_VALIDATION_BOOTSTRAP = 30;
/** Lambda keeps this many executions unreserved: a reservation that leaves fewer is refused. */
export const UNRESERVED_MINIMUM = 100;
/**
 * Design seconds per ingest request, cold start included, for each of the two functions a request
 * runs (the API key authorizer caches nothing in API Gateway, so it runs on every request): the
 * same 1 s per call the WebSocket `$connect` throttle is sized with (README, Concurrency isolation).
 */
export const DESIGN_SECONDS_PER_CALL = 1;
/** Service Quotas' code of "Concurrent executions" (Lambda). */
export const LAMBDA_CONCURRENCY_QUOTA_CODE = 'L-B99A9384';

export interface PartnerSource {
  name: string;
  /** The example configuration's placeholder (its bus has the condition ExampleSourceBuses): never deployed. */
  example: boolean;
}

/** What the template asks of the account, read from the root and nested templates. */
export interface StackNeeds {
  /** The SSM parameter the template reads the bootstrap version from (parameter BootstrapVersion). */
  bootstrapParameter: string;
  /** The lowest version the rule CheckBootstrapVersion lets through. */
  minBootstrapVersion: number;
  /** Each SQS event source mapping's ScalingConfig.MaximumConcurrency, by function logical id. */
  sqsMappings: { fn: string; maximumConcurrency: number }[];
  /** Each stream mapping's ParallelizationFactor (concurrent batches per shard), by function logical id. */
  streamMappings: { fn: string; parallelizationFactor: number }[];
  /** ReservedConcurrentExecutions by function logical id. */
  reserved: Record<string, number>;
  /** The functions every ingest request runs (API key authorizer, integration), and the rate API Gateway lets through. */
  ingest: { functions: string[]; rateLimit: number };
  partnerSources: PartnerSource[];
  /** A REST or WebSocket stage logs (execution or access logs), so API Gateway's account needs a CloudWatch role. */
  stageLogging: boolean;
  /** The template sets that role itself (AWS::ApiGateway::Account). */
  setsApiGatewayAccount: boolean;
  /** The template refuses to deploy unless ExampleConfiguration=deploy (rule RefuseExampleConfiguration). */
  exampleConfiguration: boolean;
}

const allTemplates = (t: ShippedTemplates): CfnTemplate[] => [t.root, ...Object.values(t.nested)];
const resources = (t: ShippedTemplates) => allTemplates(t).flatMap((tp) => Object.entries(tp.Resources));

/** The Lambda functions a value names with Ref or Fn::GetAtt [id, 'Arn'], depth first. */
function functionRefs(value: unknown, isFunction: (id: string) => boolean): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => functionRefs(v, isFunction));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string' && isFunction(o.Ref)) return [o.Ref];
    const att = o['Fn::GetAtt'];
    if (Array.isArray(att) && isFunction(att[0] as string)) return [att[0] as string];
    return Object.values(o).flatMap((v) => functionRefs(v, isFunction));
  }
  return [];
}

export function stackNeeds(t: ShippedTemplates): StackNeeds {
  const all = resources(t);
  const isFunction = (id: string) => all.some(([rid, r]) => rid === id && r.Type === 'AWS::Lambda::Function');
  const byId = new Map(all);

  const rule = t.root.Rules?.CheckBootstrapVersion as { Assertions: { Assert: { 'Fn::Not': [{ 'Fn::Contains': [string[], unknown] }] } }[] } | undefined;
  const refused = rule?.Assertions[0].Assert['Fn::Not'][0]['Fn::Contains'][0].map(Number) ?? [];
  const minBootstrapVersion = refused.length ? Math.max(...refused) + 1 : 0;

  const sqsMappings: StackNeeds['sqsMappings'] = [];
  const streamMappings: StackNeeds['streamMappings'] = [];
  for (const [, r] of all) {
    if (r.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const fn = functionRefs(r.Properties?.FunctionName, isFunction)[0];
    if (r.Properties?.StartingPosition) streamMappings.push({ fn, parallelizationFactor: r.Properties.ParallelizationFactor ?? 1 });
    // Without MaximumConcurrency, an SQS mapping scales to 1,250 executions: count it as such.
    else sqsMappings.push({ fn, maximumConcurrency: r.Properties?.ScalingConfig?.MaximumConcurrency ?? 1250 });
  }

  const reserved: Record<string, number> = {};
  for (const [id, r] of all) {
    if (r.Type === 'AWS::Lambda::Function' && r.Properties?.ReservedConcurrentExecutions !== undefined)
      reserved[id] = r.Properties.ReservedConcurrentExecutions;
  }

  const ingestFunctions = new Set<string>();
  for (const [, r] of all) {
    if (r.Type !== 'AWS::ApiGateway::Method' || r.Properties?.ApiKeyRequired !== true) continue;
    for (const fn of functionRefs(r.Properties.Integration, isFunction)) ingestFunctions.add(fn);
    const authorizer = byId.get(r.Properties.AuthorizerId?.Ref);
    for (const fn of functionRefs(authorizer?.Properties?.AuthorizerUri, isFunction).slice(0, 1)) ingestFunctions.add(fn);
  }
  // Each tenant's usage plan lets its rate through; the stage's `/*/*` throttle caps their sum.
  const plans = all.filter(([, r]) => r.Type === 'AWS::ApiGateway::UsagePlan').reduce((sum, [, r]) => sum + (r.Properties?.Throttle?.RateLimit ?? 0), 0);
  const stageCaps = all
    .filter(([, r]) => r.Type === 'AWS::ApiGateway::Stage')
    .flatMap(([, r]) => (r.Properties?.MethodSettings ?? []) as { HttpMethod: string; ResourcePath: string; ThrottlingRateLimit?: number }[])
    .filter((s) => s.HttpMethod === '*' && s.ResourcePath === '/*' && s.ThrottlingRateLimit !== undefined)
    .map((s) => s.ThrottlingRateLimit!);
  const rateLimit = stageCaps.length ? Math.min(plans, ...stageCaps) : plans;

  const partnerSources = all
    .filter(([, r]) => r.Type === 'AWS::Events::EventBus' && r.Properties?.EventSourceName)
    .map(([, r]) => ({ name: r.Properties!.EventSourceName as string, example: r.Condition === 'ExampleSourceBuses' }));

  const stageLogging = all.some(
    ([, r]) =>
      (r.Type === 'AWS::ApiGateway::Stage' &&
        (r.Properties?.AccessLogSetting ||
          (r.Properties?.MethodSettings ?? []).some((s: { LoggingLevel?: string }) => s.LoggingLevel && s.LoggingLevel !== 'OFF'))) ||
      (r.Type === 'AWS::ApiGatewayV2::Stage' && (r.Properties?.AccessLogSettings || (r.Properties?.DefaultRouteSettings?.LoggingLevel ?? 'OFF') !== 'OFF')),
  );

  return {
    bootstrapParameter: t.root.Parameters?.BootstrapVersion?.Default ?? '/cdk-bootstrap/hnb659fds/version',
    minBootstrapVersion,
    sqsMappings,
    streamMappings,
    reserved,
    ingest: { functions: [...ingestFunctions].sort(), rateLimit },
    partnerSources,
    stageLogging,
    setsApiGatewayAccount: all.some(([, r]) => r.Type === 'AWS::ApiGateway::Account'),
    exampleConfiguration: Boolean(t.root.Rules?.RefuseExampleConfiguration),
  };
}

export interface ConcurrencyEstimate {
  /** Executions the stack may hold at once, all tiers busy. */
  total: number;
  /** Of which reserved (set aside for their functions whether used or not). */
  reserved: number;
  /** Each term of the sum, in words. */
  terms: string[];
}

/**
 * Concurrent executions the stack may use at once:
 *   Σ SQS mappings' MaximumConcurrency
 * + Σ stream mappings' ParallelizationFactor × shards
 * + ingest rate limit × DESIGN_SECONDS_PER_CALL × (functions per ingest request: authorizer + ingest)
 * + Σ reserved concurrency
 * where a function with reserved concurrency counts its reservation instead of its other terms (it
 * can never run more, and the reservation is set aside even when idle). The WebSocket routes and the
 * listener query methods are left out: their throttles keep them to their share (Concurrency isolation).
 */
export function concurrencyEstimate(needs: StackNeeds, streamShards = 1): ConcurrencyEstimate {
  const free = (fn: string) => needs.reserved[fn] === undefined;
  const sqs = needs.sqsMappings.filter((m) => free(m.fn));
  const stream = needs.streamMappings.filter((m) => free(m.fn));
  const perRequest = needs.ingest.functions.filter(free);
  const sqsSum = sqs.reduce((s, m) => s + m.maximumConcurrency, 0);
  const streamSum = stream.reduce((s, m) => s + m.parallelizationFactor * streamShards, 0);
  const requestSum = Math.ceil(needs.ingest.rateLimit * DESIGN_SECONDS_PER_CALL * perRequest.length);
  const reserved = Object.values(needs.reserved).reduce((s, n) => s + n, 0);
  return {
    total: sqsSum + streamSum + requestSum + reserved,
    reserved,
    terms: [
      `${sqs.length} SQS event source mappings: ${sqs.map((m) => m.maximumConcurrency).join(' + ') || 0} = ${sqsSum}`,
      `${stream.length} stream mapping(s): parallelization ${stream.map((m) => m.parallelizationFactor).join(' + ') || 0} × ${streamShards} shard(s) = ${streamSum}`,
      `ingest: ${needs.ingest.rateLimit} requests/s × ${DESIGN_SECONDS_PER_CALL} s × ${perRequest.length} function(s) per request (API key authorizer, ingest) = ${requestSum}`,
      `reserved concurrency: ${reserved}`,
    ],
  };
}

export type Severity = 'blocking' | 'warning' | 'ok';
export interface Finding {
  check: 'example-configuration' | 'bootstrap' | 'concurrency' | 'partner-source' | 'apigateway-account';
  severity: Severity;
  message: string;
}

export interface PreflightClients {
  ssm: SSMClient;
  lambda: LambdaClient;
  events: EventBridgeClient;
  apigateway: APIGatewayClient;
}

export interface PreflightOptions {
  region: string;
  /** The stack is already deployed (its partner buses exist: ACTIVE sources are expected, reservations in place). */
  update?: boolean;
  /** The deploy will pass --parameters ExampleConfiguration=deploy. */
  exampleConfiguration?: boolean;
  /** Open shards of the events table's stream (a new table: 1 per partition). @default 1 */
  streamShards?: number;
}

const errorName = (e: unknown) => (e as { name?: string }).name ?? 'Error';
const cannotCheck = (check: Finding['check'], what: string, action: string, e: unknown): Finding => ({
  check,
  severity: 'blocking',
  message: `could not check ${what}: ${errorName(e)}: ${(e as Error).message}. The preflight needs ${action} in this account and region (and credentials: aws sts get-caller-identity).`,
});

export async function checkExampleConfiguration(needs: StackNeeds, opts: PreflightOptions): Promise<Finding[]> {
  if (!needs.exampleConfiguration) return [];
  if (opts.exampleConfiguration) {
    return [
      {
        check: 'example-configuration',
        severity: 'ok',
        message:
          'the example configuration of cdk.json, deployed on purpose (--parameters ExampleConfiguration=deploy): its placeholder partner sources get no bus.',
      },
    ];
  }
  return [
    {
      check: 'example-configuration',
      severity: 'blocking',
      message:
        'cdk.json holds the example configuration: cdk deploy refuses it (rule RefuseExampleConfiguration). Edit cdk.json, context "auth0-events": tenants, alarmEmail and eventBridgeSources (README, Deploy step 2); or, to deploy the example anyway, run npx cdk deploy --parameters ExampleConfiguration=deploy and check it with npm run preflight -- --example.',
    },
  ];
}

export async function checkBootstrap(ssm: SSMClient, needs: StackNeeds, opts: PreflightOptions): Promise<Finding[]> {
  const bootstrap = `npx cdk bootstrap aws://$(aws sts get-caller-identity --query Account --output text)/${opts.region}`;
  let version: number;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: needs.bootstrapParameter }));
    version = Number(out.Parameter?.Value);
  } catch (e) {
    if (errorName(e) === 'ParameterNotFound') {
      return [
        {
          check: 'bootstrap',
          severity: 'blocking',
          message: `${opts.region} is not bootstrapped for the CDK (no SSM parameter ${needs.bootstrapParameter}): run ${bootstrap} (README, Deploy step 3).`,
        },
      ];
    }
    return [cannotCheck('bootstrap', `the CDK bootstrap version (${needs.bootstrapParameter})`, `ssm:GetParameter on ${needs.bootstrapParameter}`, e)];
  }
  if (!Number.isInteger(version) || version < needs.minBootstrapVersion) {
    return [
      {
        check: 'bootstrap',
        severity: 'blocking',
        message: `CDK bootstrap version ${Number.isNaN(version) ? 'unreadable' : version} in ${opts.region}; the template requires ${needs.minBootstrapVersion} or later (rule CheckBootstrapVersion): run ${bootstrap} to update it.`,
      },
    ];
  }
  if (version < EARLY_VALIDATION_BOOTSTRAP) {
    return [
      {
        check: 'bootstrap',
        severity: 'warning',
        message: `CDK bootstrap version ${version} in ${opts.region}: enough to deploy, but a failed early validation shows no reason before version ${EARLY_VALIDATION_BOOTSTRAP} (README, Deploy step 3): run ${bootstrap} to update it.`,
      },
    ];
  }
  return [
    { check: 'bootstrap', severity: 'ok', message: `CDK bootstrap version ${version} in ${opts.region} (the template requires ${needs.minBootstrapVersion}).` },
  ];
}

export async function checkConcurrency(lambda: LambdaClient, needs: StackNeeds, opts: PreflightOptions): Promise<Finding[]> {
  let limit: { ConcurrentExecutions?: number; UnreservedConcurrentExecutions?: number } | undefined;
  try {
    limit = (await lambda.send(new GetAccountSettingsCommand({}))).AccountLimit;
  } catch (e) {
    return [cannotCheck('concurrency', "the account's Lambda concurrency quota", 'lambda:GetAccountSettings', e)];
  }
  const quota = limit?.ConcurrentExecutions ?? 0;
  const unreserved = limit?.UnreservedConcurrentExecutions ?? quota;
  const estimate = concurrencyEstimate(needs, opts.streamShards ?? 1);
  const formula = `${estimate.total} = ${estimate.terms.join('; ')}`;
  const increase = `request an increase to at least ${estimate.total}: Service Quotas console → AWS services → AWS Lambda → Concurrent executions → Request increase at account level, or aws service-quotas request-service-quota-increase --service-code lambda --quota-code ${LAMBDA_CONCURRENCY_QUOTA_CODE} --desired-value ${Math.max(estimate.total, 1000)} --region ${opts.region}`;
  const findings: Finding[] = [];
  // Lambda refuses a reservation that leaves fewer than 100 unreserved executions. On an update the
  // stack's own reservations are already out of the unreserved pool.
  const available = unreserved - UNRESERVED_MINIMUM;
  if (estimate.reserved > 0 && !opts.update && estimate.reserved > available) {
    findings.push({
      check: 'concurrency',
      severity: 'blocking',
      message: `the template reserves ${estimate.reserved} concurrent executions, but Lambda reserves at most the unreserved ${unreserved} minus ${UNRESERVED_MINIMUM} (${Math.max(available, 0)}) in ${opts.region}: the deploy would fail. Remove isolation.reservedConcurrency from cdk.json, or ${increase}.`,
    });
  }
  if (quota < estimate.total) {
    findings.push({
      check: 'concurrency',
      severity: 'blocking',
      message: `Lambda concurrency quota ${quota} in ${opts.region}, but the stack may use ${formula}. Below that, ingest, the subscribers and push throttle each other (Auth0's deliveries get 5xx and are retried): ${increase}.`,
    });
  } else if (unreserved + (opts.update ? estimate.reserved : 0) < estimate.total) {
    findings.push({
      check: 'concurrency',
      severity: 'warning',
      message: `Lambda concurrency quota ${quota} in ${opts.region}, but other functions' reservations leave ${unreserved} unreserved, and the stack may use ${formula}: lower those reservations (aws lambda list-functions, then aws lambda delete-function-concurrency --function-name <name>), or ${increase}.`,
    });
  }
  if (!findings.length)
    findings.push({
      check: 'concurrency',
      severity: 'ok',
      message: `Lambda concurrency quota ${quota} (${unreserved} unreserved) in ${opts.region}; the stack may use ${formula}.`,
    });
  return findings;
}

export async function checkPartnerSources(events: EventBridgeClient, needs: StackNeeds, opts: PreflightOptions): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const source of needs.partnerSources) {
    if (source.example) {
      findings.push({
        check: 'partner-source',
        severity: 'ok',
        message: `${source.name} is the example's placeholder: not checked (with ExampleConfiguration=deploy it gets no bus).`,
      });
      continue;
    }
    const create = `in Auth0 (Dashboard → Monitoring → Streams → Create Stream → Amazon EventBridge) with this account's id (aws sts get-caller-identity --query Account) and region ${opts.region}, put the stream's Event Source Name into cdk.json (eventBridgeSources), and check it is listed as Pending under EventBridge → Partner event sources (aws events describe-event-source --name <name> --region ${opts.region})`;
    let state: string | undefined;
    try {
      state = (await events.send(new DescribeEventSourceCommand({ Name: source.name }))).State;
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') {
        findings.push({
          check: 'partner-source',
          severity: 'blocking',
          message: `partner event source ${source.name} does not exist in ${opts.region}: the deploy would fail ("Event source … does not exist") and leave the retained keys and tables behind. Create the stream ${create}.`,
        });
      } else {
        findings.push(cannotCheck('partner-source', `partner event source ${source.name}`, 'events:DescribeEventSource', e));
      }
      continue;
    }
    if (state === 'PENDING') {
      findings.push({
        check: 'partner-source',
        severity: opts.update ? 'warning' : 'ok',
        message: opts.update
          ? `partner event source ${source.name} is PENDING: it has no active bus, although this is an update. If the stack's bus was deleted or deactivated, the deploy creates it again; see EventBridge → Event buses.`
          : `partner event source ${source.name} is PENDING: the deploy creates its bus.`,
      });
    } else if (state === 'ACTIVE') {
      findings.push(
        opts.update
          ? {
              check: 'partner-source',
              severity: 'ok',
              message: `partner event source ${source.name} is ACTIVE: its bus exists (this stack's, from the earlier deploy).`,
            }
          : {
              check: 'partner-source',
              severity: 'blocking',
              message: `partner event source ${source.name} is ACTIVE: an event bus of that name already exists, and the deploy cannot create it again. If it is this stack's (an update), run npm run preflight -- --update; if it is left over or someone else's, remove its rules (aws events list-rules --event-bus-name ${source.name} --region ${opts.region}, then aws events remove-targets and aws events delete-rule) and delete it: aws events delete-event-bus --name ${source.name} --region ${opts.region}.`,
            },
      );
    } else {
      findings.push({
        check: 'partner-source',
        severity: 'blocking',
        message: `partner event source ${source.name} is ${state ?? 'in no state'}: Auth0 deleted the stream. Create a new one ${create}; delete the old bus if one is left: aws events delete-event-bus --name ${source.name} --region ${opts.region}.`,
      });
    }
  }
  return findings;
}

export async function checkApiGatewayAccount(apigateway: APIGatewayClient, needs: StackNeeds, opts: PreflightOptions): Promise<Finding[]> {
  if (!needs.stageLogging) return [];
  let roleArn: string | undefined;
  try {
    roleArn = (await apigateway.send(new GetAccountCommand({}))).cloudwatchRoleArn;
  } catch (e) {
    return [cannotCheck('apigateway-account', "API Gateway's account settings", 'apigateway:GET on arn:aws:apigateway:<region>::/account', e)];
  }
  if (needs.setsApiGatewayAccount) {
    return [
      roleArn
        ? {
            check: 'apigateway-account',
            severity: 'warning',
            message: `API Gateway's CloudWatch role in ${opts.region} is ${roleArn}: the deploy replaces it with the stack's own role (the same AWS-managed policy), which every API Gateway API of ${opts.region} then logs through, and which is kept on destroy. Nothing to do, unless another stack manages that setting (its next update would set it back).`,
          }
        : {
            check: 'apigateway-account',
            severity: 'ok',
            message: `API Gateway has no CloudWatch role in ${opts.region}: the deploy sets one (kept on destroy).`,
          },
    ];
  }
  return [
    roleArn
      ? { check: 'apigateway-account', severity: 'ok', message: `API Gateway's CloudWatch role in ${opts.region} is ${roleArn}.` }
      : {
          check: 'apigateway-account',
          severity: 'blocking',
          message: `API Gateway has no CloudWatch role in ${opts.region}, and the stages log: the deploy would fail ("CloudWatch Logs role ARN must be set in account settings to enable logging"). Create a role API Gateway may assume with the policy AmazonAPIGatewayPushToCloudWatchLogs, then aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<role ARN> --region ${opts.region} (console: API Gateway → Settings → Logging).`,
        },
  ];
}

/** Every check, in the order of the README's Deploy steps. */
export async function preflight(clients: PreflightClients, needs: StackNeeds, opts: PreflightOptions): Promise<Finding[]> {
  return [
    ...(await checkExampleConfiguration(needs, opts)),
    ...(await checkBootstrap(clients.ssm, needs, opts)),
    ...(await checkConcurrency(clients.lambda, needs, opts)),
    ...(await checkPartnerSources(clients.events, needs, opts)),
    ...(await checkApiGatewayAccount(clients.apigateway, needs, opts)),
  ];
}

export const blocking = (findings: Finding[]) => findings.some((f) => f.severity === 'blocking');
