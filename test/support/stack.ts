/** Builds the real stack for CDK assertion tests (bundling skipped unless asked). */
import { App } from 'aws-cdk-lib';
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
