/**
 * The tenants as a file in a Lambda layer, not an environment variable: Lambda allows 4 KB for all of
 * a function's environment variables together, which the whole TENANTS JSON passes at about 14
 * tenants with an EventBridge source each. The layer holds `/opt/auth0-events/tenants.json`; each
 * function that resolves tenants gets the layer and `TENANTS_FILE` (lambda/shared/tenants.ts reads
 * it once per cold start). TENANTS, when set, still wins: the local runtime and the tests set it.
 * A layer (rather than a file in each bundle) serves the source bundles and the package's prebuilt
 * ones alike. Any change of the tenants makes a new layer version, and the functions move to it.
 */
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TenantConfig } from '../lambda/shared/tenants';
import { LAMBDA_RUNTIME, type Handler } from './secure-defaults';

/** Where a function with the tenants layer finds the file (layers are extracted under /opt). */
export const TENANTS_FILE = '/opt/auth0-events/tenants.json';

export interface TenantsFileProps {
  /** The tenants, as the handlers parse them (lambda/shared/tenants.ts parseTenants). */
  readonly tenants: readonly TenantConfig[];
}

export class TenantsFile extends Construct {
  readonly layer: lambda.LayerVersion;
  /** The file's content. */
  readonly json: string;

  constructor(scope: Construct, id: string, props: TenantsFileProps) {
    super(scope, id);
    this.json = JSON.stringify(props.tenants);
    // Written at synth into a directory named by its content: the asset is staged (copied) from it.
    const dir = path.join(os.tmpdir(), `auth0-events-tenants-${createHash('sha256').update(this.json).digest('hex').slice(0, 16)}`);
    fs.mkdirSync(path.join(dir, 'auth0-events'), { recursive: true });
    fs.writeFileSync(path.join(dir, path.relative('/opt', TENANTS_FILE)), this.json);
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      code: lambda.Code.fromAsset(dir),
      compatibleRuntimes: [LAMBDA_RUNTIME],
      compatibleArchitectures: [lambda.Architecture.ARM_64, lambda.Architecture.X86_64],
      description: `auth0-events: the ${props.tenants.length} tenant(s) this deployment serves (${TENANTS_FILE})`,
    });
  }

  /** Gives the handler the file: the layer, and TENANTS_FILE. */
  grant(handler: Handler): void {
    handler.function.addLayers(this.layer);
    handler.function.addEnvironment('TENANTS_FILE', TENANTS_FILE);
  }
}

/**
 * Gives `handler` the tenants file of `tenants`: one layer per stack and tenant list, shared by every
 * function that resolves tenants (the ingest, both authorizers, the WebSocket and query functions,
 * the EventBridge consumer).
 */
export function useTenantsFile(handler: Handler, tenants: readonly TenantConfig[]): void {
  const stack = Stack.of(handler);
  const json = JSON.stringify(tenants);
  const id = `TenantsFile${createHash('sha256').update(json).digest('hex').slice(0, 8).toUpperCase()}`;
  const file = (stack.node.tryFindChild(id) as TenantsFile | undefined) ?? new TenantsFile(stack, id, { tenants });
  file.grant(handler);
}
