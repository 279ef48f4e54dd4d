/**
 * Secure defaults in one place: every key, log group and Lambda function of the stack is made here,
 * so that rotation, retention, tracing, runtime and least-privilege logging cannot drift apart.
 */
import { CfnResource, Duration, Lazy, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import * as fs from 'node:fs';
import { checkEnvironmentSize } from './function-environment';
import * as path from 'node:path';

/**
 * The Lambda runtime of every handler: nodejs24.x, a supported Lambda runtime (Amazon Linux 2023,
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html; CDK 2.259 made it NODEJS_LATEST
 * "in every region"). Node.js 24 drops callback-style handlers: every handler here is async.
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
/** The repository root when run from source; the package's `dist/` when run compiled. */
export const REPO_ROOT = path.join(__dirname, '..');

/**
 * How every handler is bundled: by NodejsFunction from source, and by `npm run build` into the
 * package's prebuilt bundles (scripts/build.ts maps these to the same esbuild options).
 */
export const BUNDLING = {
  // Bundle from the repository lock file with the local esbuild: no Docker.
  forceDockerBundling: false,
  minify: true,
  sourceMap: true,
  target: 'node24',
  // The runtime's AWS SDK v3 is used; everything else is bundled.
  externalModules: ['@aws-sdk/*'],
} as const satisfies nodejs.BundlingOptions;

/** Where `npm run build` writes the bundle of a built-in entry: `lambda/ingest/handler.ts` -> `handlers/ingest`, `lambda/socket/connect.ts` -> `handlers/socket-connect`. */
export function prebuiltHandlerDir(entry: string, root: string = REPO_ROOT): string {
  const m = /^lambda\/([\w-]+(?:\/[\w-]+)*)\.ts$/.exec(entry);
  if (!m) throw new Error(`handler entry ${JSON.stringify(entry)}: a built-in entry is lambda/<name>/<file>.ts`);
  const name = m[1].replace(/\/handler$/, '').replace(/\//g, '-');
  return path.join(root, 'handlers', name);
}

/** Whether `entry` is a built-in handler: its source (this repository) or its prebuilt bundle (the package) is under `root`. */
export function isBuiltInHandler(entry: string, root: string = REPO_ROOT): boolean {
  return fs.existsSync(path.join(root, entry)) || fs.existsSync(path.join(prebuiltHandlerDir(entry, root), 'index.js'));
}

/** The code props of a handler's NodejsFunction. */
export type HandlerCode = Pick<nodejs.NodejsFunctionProps, 'entry' | 'depsLockFilePath' | 'projectRoot' | 'bundling' | 'code' | 'handler'>;

/**
 * The one place that decides where a built-in handler's code comes from (`lambda/...ts`, relative to
 * `root`; a team's own handler is lib/consumer-function.ts):
 * - its source is there (this repository, run with tsx or jest): NodejsFunction bundles the source
 *   with this repository's lock file;
 * - no source next to the code (the installed package: `dist/` has no `.ts`): the bundle
 *   `npm run build` made with the same options, `handlers/<name>/index.js`, as an asset, so a
 *   consumer of the package needs neither tsx nor esbuild for the built-in handlers.
 */
export function handlerCode(entry: string, root: string = REPO_ROOT): HandlerCode {
  const prebuilt = prebuiltHandlerDir(entry, root);
  const source = path.join(root, entry);
  if (fs.existsSync(source)) {
    return { entry: source, depsLockFilePath: path.join(root, 'package-lock.json'), projectRoot: root, bundling: BUNDLING };
  }
  if (fs.existsSync(path.join(prebuilt, 'index.js'))) return { code: lambda.Code.fromAsset(prebuilt), handler: 'index.handler' };
  throw new Error(
    `handler entry ${entry}: neither its source (${source}) nor a prebuilt bundle (${prebuilt}/index.js) exists; ` + 'the package needs `npm run build`',
  );
}

/** A customer-managed KMS key with yearly rotation, kept when the stack is deleted. */
export function customerManagedKey(scope: Construct, id: string, description: string): kms.Key {
  return new kms.Key(scope, id, { description, enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
}

/**
 * An SQS queue encrypted with a customer-managed key (data keys reused for 5 minutes: fewer KMS calls
 * per message), TLS only, with the given tags (e.g. what `npm run redrive` finds queues by).
 */
export function encryptedQueue(scope: Construct, id: string, key: kms.IKey, props: sqs.QueueProps = {}, tags: Record<string, string> = {}): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    ...props,
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    dataKeyReuse: Duration.minutes(5),
    enforceSSL: true,
  });
  for (const [k, v] of Object.entries(tags)) Tags.of(queue).add(k, v);
  return queue;
}

export function logGroup(scope: Construct, id: string, retentionDays: number, logGroupName?: string): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    retention: retentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
    ...(logGroupName ? { logGroupName } : {}),
  });
}

/**
 * The settings every Lambda function of the package has, the pipeline's own (`Handler`) and a team's
 * subscriber consumer (lib/consumer-function.ts): Node.js 24 on arm64 (LAMBDA_RUNTIME), X-Ray
 * tracing, JSON logs, 256 MB unless a function asks for more.
 */
export const FUNCTION_DEFAULTS = {
  runtime: LAMBDA_RUNTIME,
  architecture: lambda.Architecture.ARM_64,
  memorySize: 256,
  loggingFormat: lambda.LoggingFormat.JSON,
  tracing: lambda.Tracing.ACTIVE,
} as const satisfies Partial<nodejs.NodejsFunctionProps>;

/** What differs between the package's functions; everything else is FUNCTION_DEFAULTS and secureFunction's. */
export interface SecureFunctionProps {
  /** Where the code comes from: handlerCode() for a built-in handler, the team's entry and lock file for a consumer. */
  code: HandlerCode;
  /** The role's description (IAM allows only Latin-1 here). */
  roleDescription: string;
  /** Log retention in days. */
  logRetentionDays: number;
  /** Default FUNCTION_DEFAULTS.memorySize (256 MB). */
  memorySize?: number;
  timeout: Duration;
  description?: string;
  /** Added to NODE_OPTIONS=--enable-source-maps. */
  environment: Record<string, string>;
  reservedConcurrentExecutions?: number;
}

export interface SecureFunction {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
}

/**
 * A Lambda function with the package's secure defaults, made in `scope` (as `Logs`, `Role` and
 * `Function`): FUNCTION_DEFAULTS, source maps, its own log group with retention, and a role that may
 * write only to that log group plus what it is granted later.
 */
export function secureFunction(scope: Construct, props: SecureFunctionProps): SecureFunction {
  const group = logGroup(scope, 'Logs', props.logRetentionDays);
  const role = new iam.Role(scope, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.roleDescription });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [group.logGroupArn] }));
  const fn = new nodejs.NodejsFunction(scope, 'Function', {
    ...props.code,
    ...FUNCTION_DEFAULTS,
    memorySize: props.memorySize ?? FUNCTION_DEFAULTS.memorySize,
    timeout: props.timeout,
    description: props.description,
    role,
    logGroup: group,
    reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Only for X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), which support no resource-level permissions; every other statement of this role names its resources.',
  });
  return { function: fn, logGroup: group, role };
}

export interface HandlerProps {
  /** Handler entry, relative to the repository root (e.g. `lambda/ingest/handler.ts`); see handlerCode. */
  entry: string;
  /** Log retention in days. */
  logRetentionDays: number;
  environment?: Record<string, string>;
  /** Default 256 MB. */
  memorySize?: number;
  /** Default 10 s. */
  timeout?: Duration;
  description?: string;
  reservedConcurrentExecutions?: number;
}

/**
 * A built-in handler: secureFunction with its code from handlerCode (bundled by esbuild, minified,
 * source maps; or the package's prebuilt bundle), Powertools' service name and log level, and checks
 * that its environment fits.
 */
export class Handler extends Construct {
  /** The handler's entry, relative to the repository root (what its role's grants must match). */
  readonly entry: string;
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: HandlerProps) {
    super(scope, id);
    this.entry = props.entry;
    ({
      function: this.function,
      logGroup: this.logGroup,
      role: this.role,
    } = secureFunction(this, {
      code: handlerCode(props.entry),
      roleDescription: `${id}: writes its own logs, plus the grants given to it explicitly`,
      logRetentionDays: props.logRetentionDays,
      memorySize: props.memorySize,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        POWERTOOLS_SERVICE_NAME: `auth0-events-${id.toLowerCase()}`,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
    }));
    dropRedundantRoleDependency(this.function, this.role);
    checkEnvironmentSize(this.function, this);
  }
}

/**
 * Exactly the given item actions on a table, Query on the named indexes (`*`: every index of this
 * table), and the table key's use: Decrypt and DescribeKey to read, plus Encrypt and GenerateDataKey
 * to write (DynamoDB calls KMS with the caller's permissions for a customer-managed table key).
 */
export function grantTable(role: iam.IRole, table: dynamodb.ITable, actions: readonly string[], indexes: readonly string[] | '*' = []): void {
  if (actions.length) role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...actions], resources: [table.tableArn] }));
  const indexArns = indexes === '*' ? [`${table.tableArn}/index/*`] : indexes.map((i) => `${table.tableArn}/index/${i}`);
  if (indexArns.length) role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: indexArns }));
  if (table.encryptionKey) {
    const writes = actions.some((a) => /Put|Update|Delete|BatchWrite/.test(a));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: writes ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'] : ['kms:Decrypt', 'kms:DescribeKey'],
        resources: [table.encryptionKey.keyArn],
      }),
    );
  }
}

/**
 * aws-lambda's `Function` makes its resource depend on the whole role construct
 * (`this.resource.node.addDependency(this.role)`), rendered as `DependsOn: [<DefaultPolicy>, <Role>]`.
 * The policy entry matters (the handler must not start before its grants exist); the role entry
 * repeats the `Fn::GetAtt` on the role's ARN, which cfn-lint reports as W3005. This renders the
 * function's DependsOn from its real dependencies at synthesis, without the role: any dependency
 * added later (here or by CDK) is kept.
 */
function dropRedundantRoleDependency(fn: lambda.Function, role: iam.Role): void {
  const cfnFunction = fn.node.defaultChild as CfnResource;
  const cfnRole = role.node.defaultChild as CfnResource;
  cfnFunction.addOverride(
    'DependsOn',
    Lazy.any({
      produce: () => {
        const ids = cfnFunction
          .obtainDependencies()
          .filter((d): d is CfnResource => CfnResource.isCfnResource(d) && d !== cfnRole && Stack.of(d) === Stack.of(cfnFunction))
          .sort((a, b) => a.node.path.localeCompare(b.node.path))
          .map((d) => d.logicalId);
        return ids.length > 0 ? ids : undefined;
      },
    }),
  );
}
