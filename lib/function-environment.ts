/**
 * Lambda's limit on a function's environment variables, checked at synth: 4 KB for all of them
 * together (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), measured on the
 * variables as compact JSON (Lambda's refusal quotes the "String measured": `{"KEY":"value",...}`;
 * LocalStack checks the same `json.dumps(vars, separators=(",", ":"))` in UTF-8 bytes), so a value's
 * quotes and backslashes count escaped. A deploy past it fails at the function's creation; synth
 * fails here instead, naming the function and the size.
 *
 * A value CloudFormation fills in at deploy (a Ref, a GetAtt) is counted at a stated estimate of what
 * it becomes: an API key id is 10 characters, the pseudo parameters their longest value, anything
 * else (a queue URL, a topic ARN, a generated table name) REFERENCE_ESTIMATE.
 */
import { CfnOutput, CfnResource, NestedStack, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

export const LAMBDA_ENVIRONMENT_LIMIT = 4096;
/** The length counted for a deploy-time value of unknown size: a generous queue URL, topic ARN or table name. */
export const REFERENCE_ESTIMATE = 128;
const PSEUDO: Record<string, number> = {
  'AWS::Region': 14, // ap-southeast-2
  'AWS::AccountId': 12,
  'AWS::Partition': 10, // aws-us-gov
  'AWS::URLSuffix': 16, // amazonaws.com.cn
};
/** What a Ref to these types becomes, in characters. */
const REF_LENGTH: Record<string, number> = { 'AWS::ApiGateway::ApiKey': 10 };

/** The size Lambda measures: the variables as compact JSON, in UTF-8 bytes. */
export function environmentSize(variables: Record<string, string>): number {
  return Buffer.byteLength(JSON.stringify(variables), 'utf8');
}

function logicalIdOf(stack: Stack, el: CfnResource | CfnOutput): string {
  return stack.resolve(el.logicalId) as string;
}

function resourceType(stack: Stack, logicalId: string): string | undefined {
  for (const c of stack.node.findAll()) {
    if (c instanceof CfnResource && Stack.of(c) === stack && logicalIdOf(stack, c) === logicalId) return c.cfnResourceType;
  }
  return undefined;
}

/** A nested stack's output `name`, as the value it resolves to in that nested stack. */
function nestedOutput(stack: Stack, resourceId: string, name: string): { stack: Stack; value: unknown } | undefined {
  for (const c of stack.node.findAll()) {
    if (!(c instanceof NestedStack) || !c.nestedStackResource || stack.resolve(c.nestedStackResource.logicalId) !== resourceId) continue;
    for (const o of c.node.findAll()) {
      if (o instanceof CfnOutput && Stack.of(o) === c && logicalIdOf(c, o) === name) return { stack: c, value: c.resolve(o.value) };
    }
  }
  return undefined;
}

/** The estimated deployed text of a resolved CloudFormation value. */
function estimate(stack: Stack, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const o = (v ?? {}) as Record<string, unknown>;
  if (typeof o.Ref === 'string') {
    if (o.Ref === 'AWS::StackName') return stack.stackName.startsWith('${Token') ? 'x'.repeat(128) : stack.stackName;
    const length = PSEUDO[o.Ref] ?? REF_LENGTH[resourceType(stack, o.Ref) ?? ''] ?? REFERENCE_ESTIMATE;
    return 'x'.repeat(length);
  }
  const getAtt = o['Fn::GetAtt'] as [string, string] | undefined;
  if (Array.isArray(getAtt) && typeof getAtt[1] === 'string' && getAtt[1].startsWith('Outputs.')) {
    const out = nestedOutput(stack, getAtt[0], getAtt[1].slice('Outputs.'.length));
    if (out) return estimate(out.stack, out.value);
  }
  const join = o['Fn::Join'] as [string, unknown[]] | undefined;
  if (Array.isArray(join) && Array.isArray(join[1])) return join[1].map((p) => estimate(stack, p)).join(join[0]);
  return 'x'.repeat(REFERENCE_ESTIMATE);
}

/** The function's environment variables as deployed, deploy-time values at their estimated length. */
export function estimatedEnvironment(fn: lambda.Function): Record<string, string> {
  const stack = Stack.of(fn);
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  const env = stack.resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined;
  return Object.fromEntries(Object.entries(env?.variables ?? {}).map(([k, v]) => [k, estimate(stack, v)]));
}

/** Synth fails when the function's environment variables would pass Lambda's 4 KB. */
export function checkEnvironmentSize(fn: lambda.Function, name: IConstruct = fn): void {
  fn.node.addValidation({
    validate: () => {
      const size = environmentSize(estimatedEnvironment(fn));
      return size > LAMBDA_ENVIRONMENT_LIMIT
        ? [
            `${name.node.path}: its environment variables take about ${size} bytes (deploy-time values estimated), over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT} bytes for all of a function's variables together: the deploy would fail at this function. Move what grows with the tenants out of the environment (lib/tenants-file.ts).`,
          ]
        : [];
    },
  });
}
