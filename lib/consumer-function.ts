/**
 * The consumer Lambda of a team's subscriber, made from the team's own handler file: bundled by
 * NodejsFunction with the team's esbuild and lock file (the package's own handlers are the
 * repository's, lib/secure-defaults.ts `Handler`). Same secure defaults as every handler of the
 * pipeline: Node.js 24 on arm64, X-Ray, JSON logs to its own log group with retention, and a role
 * that may write only that log group plus what it is granted (the queue, by the event source).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUNDLING, LAMBDA_RUNTIME, logGroup } from './secure-defaults';

export interface ConsumerFunctionProps {
  /** The handler file (absolute, or relative to the current directory), exporting `handler`. */
  readonly entry: string;
  /** Default: the lock file NodejsFunction finds. */
  readonly depsLockFilePath?: string;
  readonly logRetentionDays: number;
  readonly timeout: Duration;
  /** Default 256 MB. */
  readonly memorySize?: number;
  readonly description: string;
  readonly environment: Record<string, string>;
}

export class ConsumerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ConsumerFunctionProps) {
    super(scope, id);
    this.logGroup = logGroup(this, 'Logs', props.logRetentionDays);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      // A fixed text: IAM allows only Latin-1 in role descriptions, and the function's description is the team's.
      description: 'auth0-events subscriber consumer: writes its own logs and consumes its queue',
    });
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      depsLockFilePath: props.depsLockFilePath,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      // The team's esbuild with the options of the pipeline's own handlers (BUNDLING), no Docker.
      bundling: BUNDLING,
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only for X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), which support no resource-level permissions; every other statement of this role names its resources.',
    });
  }
}
