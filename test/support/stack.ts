/** Builds the real stack for CDK assertion tests (bundling skipped unless asked). */
import { App, NestedStack, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Auth0EventsStack } from '../../lib/auth0-events-stack';
import { parseConfig } from '../../lib/config';

export const TEST_CONFIG = {
  tenants: [
    { name: 'acme', audience: 'https://events.acme.test' },
    { name: 'acme@eu', audience: 'https://events.acme.test', customDomain: 'login.acme.test' },
  ],
  throttle: { rateLimit: 20, burstLimit: 40, quotaPerDay: 500000 },
  alarmEmail: 'oncall@acme.test',
};

export function buildStack(overrides: Record<string, unknown> = {}, opts: { bundle?: boolean } = {}) {
  const app = new App({ context: opts.bundle ? {} : { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Auth0EventsStack(app, 'Test', { config: parseConfig({ ...TEST_CONFIG, ...overrides }) });
  return { app, stack, template: Template.fromStack(stack) };
}

/** cdk-nag AwsSolutions findings that are not acknowledged (errors and warnings). */
export function nagViolations(app: App): { ruleName: string; resource: string; message: string }[] {
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => ({ ruleName: v.ruleName, resource: r.resourceLogicalId ?? r.templatePath ?? '', message: v.description })),
  );
}

/**
 * Every resource of the stack and of its nested stacks (lib/tenant-groups.ts), with each nested
 * stack's parameters replaced by what the main stack passes (a `{Ref: <parameter>}` in a nested
 * template becomes the main stack's value), so a test reads one template whatever the layout.
 */
export function withNestedResources(stack: Stack): Record<string, { Type: string; Properties: any }> {
  const root = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties: any }>;
  const all = { ...root };
  for (const nested of stack.node.findAll().filter((c): c is NestedStack => c instanceof NestedStack && c.nestedStackParent === stack)) {
    const params = root[stack.resolve(nested.nestedStackResource!.logicalId) as string].Properties.Parameters ?? {};
    const substitute = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(substitute);
      if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (typeof o.Ref === 'string' && o.Ref in params) return params[o.Ref];
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, substitute(x)]));
      }
      return v;
    };
    Object.assign(all, substitute(Template.fromStack(nested).toJSON().Resources));
  }
  return all;
}
