/**
 * Secure defaults in one place: every key, log group and Lambda function of the stack is made here,
 * so that rotation, retention, tracing, runtime and least-privilege logging cannot drift apart.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'node:path';

/**
 * The Lambda runtime of every handler: nodejs24.x, a supported Lambda runtime (Amazon Linux 2023,
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html; CDK 2.259 made it NODEJS_LATEST
 * "in every region"). Node.js 24 drops callback-style handlers: every handler here is async.
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
export const REPO_ROOT = path.join(__dirname, '..');

/** A customer-managed KMS key with yearly rotation, kept when the stack is deleted. */
export function customerManagedKey(scope: Construct, id: string, description: string): kms.Key {
  return new kms.Key(scope, id, { description, enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
}

export function logGroup(scope: Construct, id: string, retentionDays: number, logGroupName?: string): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    retention: retentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
    ...(logGroupName ? { logGroupName } : {}),
  });
}

export interface HandlerProps {
  /** Handler entry, relative to the repository root (e.g. `lambda/ingest/handler.ts`). */
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
 * A bundled Node.js handler (esbuild, minified, source maps), ARM64, X-Ray tracing, JSON logs to its
 * own log group with retention, and a role that may write only to that log group.
 */
export class Handler extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: HandlerProps) {
    super(scope, id);
    this.logGroup = logGroup(this, 'Logs', props.logRetentionDays);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${id}: writes its own logs, plus the grants given to it explicitly`,
    });
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    }));
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, props.entry),
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      projectRoot: REPO_ROOT,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: `auth0-events-${id.toLowerCase()}`,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      bundling: {
        // Bundle from the repository lock file with the local esbuild: no Docker.
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        target: 'node24',
        // The runtime's AWS SDK v3 is used; everything else is bundled.
        externalModules: ['@aws-sdk/*'],
      },
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only for X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), which support no resource-level permissions; every other statement of this role names its resources.',
    });
  }
}
