/**
 * The consumer Lambda of a team's subscriber, made from the team's own handler file: bundled by
 * NodejsFunction with the team's esbuild and lock file (the package's own handlers are the
 * repository's, lib/secure-defaults.ts `Handler`). The secure defaults are those of every handler of
 * the pipeline, from one place (lib/secure-defaults.ts `secureFunction`, `FUNCTION_DEFAULTS`):
 * Node.js 24 on arm64, X-Ray, JSON logs to its own log group with retention, and a role that may
 * write only that log group plus what it is granted (the queue, by the event source).
 */
import type { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUNDLING, secureFunction } from './secure-defaults';

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
    ({
      function: this.function,
      logGroup: this.logGroup,
      role: this.role,
    } = secureFunction(this, {
      // The team's esbuild with the options of the pipeline's own handlers (BUNDLING), no Docker.
      code: { entry: props.entry, depsLockFilePath: props.depsLockFilePath, bundling: BUNDLING },
      // A fixed text: IAM allows only Latin-1 in role descriptions, and the function's description is the team's.
      roleDescription: 'auth0-events subscriber consumer: writes its own logs and consumes its queue',
      logRetentionDays: props.logRetentionDays,
      memorySize: props.memorySize,
      timeout: props.timeout,
      description: props.description,
      environment: props.environment,
    }));
  }
}
