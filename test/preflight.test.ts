/**
 * npm run preflight (issue 20, item 4): what the template asks of the account, and every finding
 * path against mocked AWS answers (aws-sdk-client-mock; no real AWS). Expected figures and messages
 * are written by hand.
 */
import { mockClient } from 'aws-sdk-client-mock';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeEventSourceCommand, EventBridgeClient, ResourceNotFoundException } from '@aws-sdk/client-eventbridge';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { blocking, concurrencyEstimate, preflight, stackNeeds, type Finding, type PreflightOptions, type StackNeeds } from '../scripts/preflight-checks';
import { cdkJsonContext, shippedTemplates } from '../scripts/shipped-template';

const ssm = mockClient(SSMClient);
const lambda = mockClient(LambdaClient);
const events = mockClient(EventBridgeClient);
const apigateway = mockClient(APIGatewayClient);
const clients = {
  ssm: new SSMClient({ region: 'eu-west-1' }),
  lambda: new LambdaClient({ region: 'eu-west-1' }),
  events: new EventBridgeClient({ region: 'eu-west-1' }),
  apigateway: new APIGatewayClient({ region: 'eu-west-1' }),
};
beforeEach(() => {
  ssm.reset();
  lambda.reset();
  events.reset();
  apigateway.reset();
});

const SOURCE = 'aws.partner/auth0.com/acme-5f3c1a2b-0d4e-4c6f-9a8b-1c2d3e4f5a6b/auth0.logs';
/** A customer's configuration, written by hand: the shipped stack's mappings, one real partner source. */
const NEEDS: StackNeeds = {
  bootstrapParameter: '/cdk-bootstrap/hnb659fds/version',
  minBootstrapVersion: 6,
  sqsMappings: [
    { fn: 'Users', maximumConcurrency: 5 },
    { fn: 'SessionEvents', maximumConcurrency: 5 },
    { fn: 'Closer', maximumConcurrency: 5 },
    { fn: 'EventBridgeIngest', maximumConcurrency: 5 },
  ],
  streamMappings: [{ fn: 'Push', parallelizationFactor: 4 }],
  reserved: {},
  ingest: { functions: ['ApiKeyAuthorizer', 'Ingest'], rateLimit: 100 },
  partnerSources: [{ name: SOURCE, example: false }],
  stageLogging: true,
  setsApiGatewayAccount: true,
  exampleConfiguration: false,
};
const OPTS: PreflightOptions = { region: 'eu-west-1' };
const FORMULA_224 =
  '224 = 4 SQS event source mappings: 5 + 5 + 5 + 5 = 20; 1 stream mapping(s): parallelization 4 × 1 shard(s) = 4; ingest: 100 requests/s × 1 s × 2 function(s) per request (API key authorizer, ingest) = 200; reserved concurrency: 0';
const BOOTSTRAP_CMD = 'npx cdk bootstrap aws://$(aws sts get-caller-identity --query Account --output text)/eu-west-1';
const INCREASE_224 =
  'request an increase to at least 224: Service Quotas console → AWS services → AWS Lambda → Concurrent executions → Request increase at account level, or aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 1000 --region eu-west-1';
const CREATE_STREAM =
  "in Auth0 (Dashboard → Monitoring → Streams → Create Stream → Amazon EventBridge) with this account's id (aws sts get-caller-identity --query Account) and region eu-west-1, put the stream's Event Source Name into cdk.json (eventBridgeSources), and check it is listed as Pending under EventBridge → Partner event sources (aws events describe-event-source --name <name> --region eu-west-1)";

/** A healthy account: bootstrap 30, quota 1,000, the source pending, no API Gateway role yet. */
function healthy() {
  ssm.on(GetParameterCommand, { Name: '/cdk-bootstrap/hnb659fds/version' }).resolves({ Parameter: { Name: '/cdk-bootstrap/hnb659fds/version', Value: '30' } });
  lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  events.on(DescribeEventSourceCommand, { Name: SOURCE }).resolves({ Name: SOURCE, State: 'PENDING', CreatedBy: 'auth0.com' });
  apigateway.on(GetAccountCommand).resolves({});
}
const of = (findings: Finding[], check: Finding['check']) => findings.filter((f) => f.check === check).map(({ severity, message }) => ({ severity, message }));

describe('what the shipped template asks of the account (hand-counted from cdk.json and the constructs)', () => {
  let needs: StackNeeds;
  beforeAll(() => {
    needs = stackNeeds(shippedTemplates());
  });

  it('bootstrap 6 (CheckBootstrapVersion refuses 1-5), read from /cdk-bootstrap/hnb659fds/version', () => {
    expect(needs.bootstrapParameter).toBe('/cdk-bootstrap/hnb659fds/version');
    expect(needs.minBootstrapVersion).toBe(6);
  });
  it('four SQS mappings at 5 (users, session events, closer, EventBridge ingest), the stream at 4 per shard, no reservation', () => {
    expect(needs.sqsMappings.map((m) => m.maximumConcurrency)).toEqual([5, 5, 5, 5]);
    expect(needs.streamMappings.map((m) => m.parallelizationFactor)).toEqual([4]);
    expect(needs.reserved).toEqual({});
  });
  it('ingest: the API key authorizer and the ingest function per request, at 2 tenants × 50 requests/s (the stage caps at 100)', () => {
    expect(needs.ingest.functions).toEqual([expect.stringMatching(/^IngestApiKeyAuthorizerFunction/), expect.stringMatching(/^IngestFunction/)]);
    expect(needs.ingest.rateLimit).toBe(100);
  });
  it('the example source is the placeholder; the stages log and the stack sets the API Gateway role; the example rule is there', () => {
    expect(needs.partnerSources).toEqual([{ name: 'aws.partner/auth0.com/acme-00000000-0000-0000-0000-000000000000/auth0.logs', example: true }]);
    expect(needs.stageLogging).toBe(true);
    expect(needs.setsApiGatewayAccount).toBe(true);
    expect(needs.exampleConfiguration).toBe(true);
  });
  it('the estimate for the shipped configuration: 224 with one shard, 236 with four', () => {
    expect(concurrencyEstimate(needs, 1).total).toBe(224);
    expect(concurrencyEstimate(needs, 4).total).toBe(236);
  });
  it("a reservation replaces the reserved function's own terms (push 10 and the API key authorizer 50: 20 + 0 + 100 + 60 = 180)", () => {
    const config = structuredClone(cdkJsonContext()['auth0-events']) as Record<string, unknown>;
    config.isolation = { reservedConcurrency: { push: 10, apiKeyAuthorizer: 50 } };
    const reserved = stackNeeds(shippedTemplates({ 'auth0-events': config }));
    expect(Object.values(reserved.reserved).sort()).toEqual([10, 50]);
    // 20 (SQS) + 0 (push reserved) + 100 × 1 × 1 (ingest only) + 60 reserved = 180
    expect(concurrencyEstimate(reserved, 1).total).toBe(180);
  });
});

describe('every finding, against mocked answers', () => {
  it('a healthy account: nothing blocks', async () => {
    healthy();
    const findings = await preflight(clients, NEEDS, OPTS);
    expect(findings.map(({ check, severity, message }) => ({ check, severity, message }))).toEqual([
      { check: 'bootstrap', severity: 'ok', message: 'CDK bootstrap version 30 in eu-west-1 (the template requires 6).' },
      { check: 'concurrency', severity: 'ok', message: `Lambda concurrency quota 1000 (1000 unreserved) in eu-west-1; the stack may use ${FORMULA_224}.` },
      { check: 'partner-source', severity: 'ok', message: `partner event source ${SOURCE} is PENDING: the deploy creates its bus.` },
      { check: 'apigateway-account', severity: 'ok', message: 'API Gateway has no CloudWatch role in eu-west-1: the deploy sets one (kept on destroy).' },
    ]);
    expect(blocking(findings)).toBe(false);
  });

  it('the example configuration blocks unless --example', async () => {
    healthy();
    const needs = {
      ...NEEDS,
      exampleConfiguration: true,
      partnerSources: [{ name: 'aws.partner/auth0.com/acme-00000000-0000-0000-0000-000000000000/auth0.logs', example: true }],
    };
    const refused = await preflight(clients, needs, OPTS);
    expect(of(refused, 'example-configuration')).toEqual([
      {
        severity: 'blocking',
        message:
          'cdk.json holds the example configuration: cdk deploy refuses it (rule RefuseExampleConfiguration). Edit cdk.json, context "auth0-events": tenants, alarmEmail and eventBridgeSources (README, Deploy step 2); or, to deploy the example anyway, run npx cdk deploy --parameters ExampleConfiguration=deploy and check it with npm run preflight -- --example.',
      },
    ]);
    expect(blocking(refused)).toBe(true);
    const meant = await preflight(clients, needs, { ...OPTS, exampleConfiguration: true });
    expect(blocking(meant)).toBe(false);
    expect(of(meant, 'partner-source')).toEqual([
      {
        severity: 'ok',
        message:
          "aws.partner/auth0.com/acme-00000000-0000-0000-0000-000000000000/auth0.logs is the example's placeholder: not checked (with ExampleConfiguration=deploy it gets no bus).",
      },
    ]);
    expect(events.commandCalls(DescribeEventSourceCommand)).toHaveLength(0);
  });

  describe('bootstrap', () => {
    const cases: [string, () => void, Finding['severity'], string][] = [
      [
        'not bootstrapped',
        () => ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'Parameter /cdk-bootstrap/hnb659fds/version not found.', $metadata: {} })),
        'blocking',
        `eu-west-1 is not bootstrapped for the CDK (no SSM parameter /cdk-bootstrap/hnb659fds/version): run ${BOOTSTRAP_CMD} (README, Deploy step 3).`,
      ],
      [
        'version 5',
        () => ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '5' } }),
        'blocking',
        `CDK bootstrap version 5 in eu-west-1; the template requires 6 or later (rule CheckBootstrapVersion): run ${BOOTSTRAP_CMD} to update it.`,
      ],
      [
        'version 21',
        () => ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '21' } }),
        'warning',
        `CDK bootstrap version 21 in eu-west-1: enough to deploy, but a failed early validation shows no reason before version 30 (README, Deploy step 3): run ${BOOTSTRAP_CMD} to update it.`,
      ],
      [
        'no permission',
        () =>
          ssm
            .on(GetParameterCommand)
            .rejects(Object.assign(new Error('User is not authorized to perform: ssm:GetParameter'), { name: 'AccessDeniedException' })),
        'blocking',
        'could not check the CDK bootstrap version (/cdk-bootstrap/hnb659fds/version): AccessDeniedException: User is not authorized to perform: ssm:GetParameter. The preflight needs ssm:GetParameter on /cdk-bootstrap/hnb659fds/version in this account and region (and credentials: aws sts get-caller-identity).',
      ],
    ];
    it.each(cases)('%s', async (_, answer, severity, message) => {
      healthy();
      ssm.reset();
      answer();
      const findings = await preflight(clients, NEEDS, OPTS);
      expect(of(findings, 'bootstrap')).toEqual([{ severity, message }]);
      expect(blocking(findings)).toBe(severity === 'blocking');
    });
  });

  describe('concurrency', () => {
    it('a fresh account with a quota of 10 blocks, naming the figure and the increase', async () => {
      healthy();
      lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
      const findings = await preflight(clients, NEEDS, OPTS);
      expect(of(findings, 'concurrency')).toEqual([
        {
          severity: 'blocking',
          message: `Lambda concurrency quota 10 in eu-west-1, but the stack may use ${FORMULA_224}. Below that, ingest, the subscribers and push throttle each other (Auth0's deliveries get 5xx and are retried): ${INCREASE_224}.`,
        },
      ]);
      expect(blocking(findings)).toBe(true);
    });

    it('a quota of 224 is enough; 223 is not', async () => {
      healthy();
      lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 224, UnreservedConcurrentExecutions: 224 } });
      expect(blocking(await preflight(clients, NEEDS, OPTS))).toBe(false);
      lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 223, UnreservedConcurrentExecutions: 223 } });
      expect(blocking(await preflight(clients, NEEDS, OPTS))).toBe(true);
    });

    it("other functions' reservations leave too little unreserved: a warning", async () => {
      healthy();
      lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 150 } });
      const findings = await preflight(clients, NEEDS, OPTS);
      expect(of(findings, 'concurrency')).toEqual([
        {
          severity: 'warning',
          message: `Lambda concurrency quota 1000 in eu-west-1, but other functions' reservations leave 150 unreserved, and the stack may use ${FORMULA_224}: lower those reservations (aws lambda list-functions, then aws lambda delete-function-concurrency --function-name <name>), or ${INCREASE_224}.`,
        },
      ]);
      expect(blocking(findings)).toBe(false);
    });

    it('a reservation Lambda would refuse (more than unreserved - 100) blocks a fresh deploy', async () => {
      healthy();
      lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 400, UnreservedConcurrentExecutions: 400 } });
      const needs: StackNeeds = { ...NEEDS, reserved: { Socket: 200, Push: 150 } };
      // 20 + 0 (push reserved) + 200 + 350 = 570 > 400 as well.
      const findings = await preflight(clients, needs, OPTS);
      expect(of(findings, 'concurrency').map((f) => f.message)).toEqual([
        'the template reserves 350 concurrent executions, but Lambda reserves at most the unreserved 400 minus 100 (300) in eu-west-1: the deploy would fail. Remove isolation.reservedConcurrency from cdk.json, or request an increase to at least 570: Service Quotas console → AWS services → AWS Lambda → Concurrent executions → Request increase at account level, or aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 1000 --region eu-west-1.',
        "Lambda concurrency quota 400 in eu-west-1, but the stack may use 570 = 4 SQS event source mappings: 5 + 5 + 5 + 5 = 20; 0 stream mapping(s): parallelization 0 × 1 shard(s) = 0; ingest: 100 requests/s × 1 s × 2 function(s) per request (API key authorizer, ingest) = 200; reserved concurrency: 350. Below that, ingest, the subscribers and push throttle each other (Auth0's deliveries get 5xx and are retried): request an increase to at least 570: Service Quotas console → AWS services → AWS Lambda → Concurrent executions → Request increase at account level, or aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 1000 --region eu-west-1.",
      ]);
    });

    it('no permission blocks (the check could not be made)', async () => {
      healthy();
      lambda
        .on(GetAccountSettingsCommand)
        .rejects(Object.assign(new Error('not authorized to perform: lambda:GetAccountSettings'), { name: 'AccessDeniedException' }));
      const findings = await preflight(clients, NEEDS, OPTS);
      expect(of(findings, 'concurrency')).toEqual([
        {
          severity: 'blocking',
          message:
            "could not check the account's Lambda concurrency quota: AccessDeniedException: not authorized to perform: lambda:GetAccountSettings. The preflight needs lambda:GetAccountSettings in this account and region (and credentials: aws sts get-caller-identity).",
        },
      ]);
    });
  });

  describe('partner sources', () => {
    const cases: [string, () => void, boolean, Finding['severity'], string][] = [
      [
        'missing',
        () =>
          events.on(DescribeEventSourceCommand).rejects(new ResourceNotFoundException({ message: `Event source ${SOURCE} does not exist.`, $metadata: {} })),
        false,
        'blocking',
        `partner event source ${SOURCE} does not exist in eu-west-1: the deploy would fail ("Event source … does not exist") and leave the retained keys and tables behind. Create the stream ${CREATE_STREAM}.`,
      ],
      [
        'ACTIVE on a fresh deploy',
        () => events.on(DescribeEventSourceCommand).resolves({ Name: SOURCE, State: 'ACTIVE' }),
        false,
        'blocking',
        `partner event source ${SOURCE} is ACTIVE: an event bus of that name already exists, and the deploy cannot create it again. If it is this stack's (an update), run npm run preflight -- --update; if it is left over or someone else's, remove its rules (aws events list-rules --event-bus-name ${SOURCE} --region eu-west-1, then aws events remove-targets and aws events delete-rule) and delete it: aws events delete-event-bus --name ${SOURCE} --region eu-west-1.`,
      ],
      [
        'ACTIVE on an update',
        () => events.on(DescribeEventSourceCommand).resolves({ Name: SOURCE, State: 'ACTIVE' }),
        true,
        'ok',
        `partner event source ${SOURCE} is ACTIVE: its bus exists (this stack's, from the earlier deploy).`,
      ],
      [
        'PENDING on an update',
        () => events.on(DescribeEventSourceCommand).resolves({ Name: SOURCE, State: 'PENDING' }),
        true,
        'warning',
        `partner event source ${SOURCE} is PENDING: it has no active bus, although this is an update. If the stack's bus was deleted or deactivated, the deploy creates it again; see EventBridge → Event buses.`,
      ],
      [
        'DELETED',
        () => events.on(DescribeEventSourceCommand).resolves({ Name: SOURCE, State: 'DELETED' }),
        false,
        'blocking',
        `partner event source ${SOURCE} is DELETED: Auth0 deleted the stream. Create a new one ${CREATE_STREAM}; delete the old bus if one is left: aws events delete-event-bus --name ${SOURCE} --region eu-west-1.`,
      ],
      [
        'no permission',
        () => events.on(DescribeEventSourceCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' })),
        false,
        'blocking',
        `could not check partner event source ${SOURCE}: AccessDeniedException: not authorized. The preflight needs events:DescribeEventSource in this account and region (and credentials: aws sts get-caller-identity).`,
      ],
    ];
    it.each(cases)('%s', async (_, answer, update, severity, message) => {
      healthy();
      events.reset();
      answer();
      const findings = await preflight(clients, NEEDS, { ...OPTS, update });
      expect(of(findings, 'partner-source')).toEqual([{ severity, message }]);
      expect(blocking(findings)).toBe(severity === 'blocking');
      expect(events.commandCalls(DescribeEventSourceCommand).map((c) => c.args[0].input)).toEqual([{ Name: SOURCE }]);
    });
  });

  describe('API Gateway account role', () => {
    const OTHER = 'arn:aws:iam::123456789012:role/other-app-ApiGatewayCloudWatchRole';
    const cases: [string, Partial<StackNeeds>, string | undefined, Finding['severity'] | undefined, string | undefined][] = [
      [
        'set elsewhere, the stack sets its own',
        {},
        OTHER,
        'warning',
        `API Gateway's CloudWatch role in eu-west-1 is ${OTHER}: the deploy replaces it with the stack's own role (the same AWS-managed policy), which every API Gateway API of eu-west-1 then logs through, and which is kept on destroy. Nothing to do, unless another stack manages that setting (its next update would set it back).`,
      ],
      [
        'not set, a template that does not set it',
        { setsApiGatewayAccount: false },
        undefined,
        'blocking',
        'API Gateway has no CloudWatch role in eu-west-1, and the stages log: the deploy would fail ("CloudWatch Logs role ARN must be set in account settings to enable logging"). Create a role API Gateway may assume with the policy AmazonAPIGatewayPushToCloudWatchLogs, then aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<role ARN> --region eu-west-1 (console: API Gateway → Settings → Logging).',
      ],
      ['set, a template that does not set it', { setsApiGatewayAccount: false }, OTHER, 'ok', `API Gateway's CloudWatch role in eu-west-1 is ${OTHER}.`],
      ['no stage logs: not needed', { stageLogging: false, setsApiGatewayAccount: false }, undefined, undefined, undefined],
    ];
    it.each(cases)('%s', async (_, change, roleArn, severity, message) => {
      healthy();
      apigateway.on(GetAccountCommand).resolves({ cloudwatchRoleArn: roleArn });
      const findings = await preflight(clients, { ...NEEDS, ...change }, OPTS);
      expect(of(findings, 'apigateway-account')).toEqual(severity ? [{ severity, message }] : []);
      expect(blocking(findings)).toBe(severity === 'blocking');
    });
  });
});
