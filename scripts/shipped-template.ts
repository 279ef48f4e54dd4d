/**
 * The template `cdk synth` makes from the shipped cdk.json: its whole context (the feature flags and
 * the `auth0-events` configuration) and the app's stack name, bundling skipped. The deploy steps' (docs/deploy.md)
 * tables and the preflight's estimates are derived from it, so they cannot fall behind the stack.
 * Loads CDK only when called.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..');
/** bin/auth0-events.ts's default stack name. */
export const DEFAULT_STACK_NAME = 'Auth0Events';

/** cdk.json's `context`, as the CDK CLI hands it to the app. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
}

export interface CfnTemplate {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; Condition?: string; Metadata?: Record<string, unknown> }
  >;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
  Parameters?: Record<string, { Type: string; Default?: string }>;
  Conditions?: Record<string, unknown>;
  Rules?: Record<string, unknown>;
}

/**
 * The app and stack `cdk synth` builds from the shipped cdk.json (or `context` merged over it), bundling
 * skipped: the one place scripts/ synthesize the shipped stack (templates, nag acknowledgements).
 */
export function shippedStack(
  context: Record<string, unknown> = {},
  stackName = DEFAULT_STACK_NAME,
): { app: import('aws-cdk-lib').App; stack: import('../lib/auth0-events-stack').Auth0EventsStack } {
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { Auth0EventsStack } = require('../lib/auth0-events-stack') as typeof import('../lib/auth0-events-stack');
  const { CONTEXT_KEY, parseConfig } = require('../lib/config') as typeof import('../lib/config');
  const app = new App({ context: { ...cdkJsonContext(), ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Auth0EventsStack(app, stackName, { config: parseConfig(app.node.tryGetContext(CONTEXT_KEY)) });
  return { app, stack };
}

/** The synthesized template of the shipped configuration (or of `context` merged over cdk.json's). */
export function shippedTemplate(context: Record<string, unknown> = {}, stackName = DEFAULT_STACK_NAME): CfnTemplate {
  const { app, stack } = shippedStack(context, stackName);
  return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
}

/** The root template and, by their logical id in it, the templates of its nested stacks (lib/tenant-groups.ts). */
export interface ShippedTemplates {
  root: CfnTemplate;
  nested: Record<string, CfnTemplate>;
}

/** shippedTemplate with the nested stacks' templates, as the cloud assembly holds them (file assets). */
export function shippedTemplates(context: Record<string, unknown> = {}, stackName = DEFAULT_STACK_NAME): ShippedTemplates {
  const { NestedStack } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { app, stack } = shippedStack(context, stackName);
  const assembly = app.synth();
  const nested: Record<string, CfnTemplate> = {};
  for (const child of stack.node.children) {
    if (!(child instanceof NestedStack) || !child.nestedStackResource) continue;
    nested[stack.getLogicalId(child.nestedStackResource as never)] = JSON.parse(readFileSync(join(assembly.directory, child.templateFile), 'utf8'));
  }
  return { root: assembly.getStackByName(stack.stackName).template as CfnTemplate, nested };
}
