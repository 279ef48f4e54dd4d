/**
 * The cost model prices the alarms the stack really has: `npm run cost` counts them in the template
 * synthesized from cdk.json (scripts/stack-alarms.ts) instead of a fixed number that lags (it said 26
 * metric alarms; the template had 24 metric alarms reading 27 alarm metrics, and 1 composite).
 * Checked here against CDK's own assertions on the same template.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { costReport } from '../scripts/cost';
import { countAlarms, shippedStackTemplate } from '../scripts/stack-alarms';

let json: ReturnType<typeof shippedStackTemplate>;
let template: Template;
beforeAll(() => {
  json = shippedStackTemplate();
  template = Template.fromJSON(json as Record<string, unknown>);
}, 180_000);

test('counts every metric and composite alarm of the shipped template', () => {
  const count = countAlarms(json);
  const alarms = template.findResources('AWS::CloudWatch::Alarm');
  template.resourceCountIs('AWS::CloudWatch::Alarm', count.metricAlarms);
  template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', count.compositeAlarms);
  // Metric-math alarms read several metrics, each billed: at least one metric per alarm, more in all.
  const mathAlarms = Object.values(alarms).filter((a) => Array.isArray(a.Properties.Metrics));
  const readByMath = mathAlarms.reduce((n, a) => n + a.Properties.Metrics.filter((m: { Expression?: string }) => m.Expression === undefined).length, 0);
  expect(count.alarmMetrics).toBe(count.metricAlarms - mathAlarms.length + readByMath);
  expect(count.metricAlarms).toBeGreaterThanOrEqual(20);
  expect(count.compositeAlarms).toBeGreaterThanOrEqual(1);
  // The figures of this run, for docs/testing.md.
  process.stdout.write(`shipped template: ${JSON.stringify(count)}\n`);
});

test('the report prices exactly those alarms', () => {
  const count = countAlarms(json);
  const text = costReport(['--events-per-month', '1000000'], count);
  expect(text).toContain(`${count.metricAlarms} metric alarms reading ${count.alarmMetrics} alarm metrics, ${count.compositeAlarms} composite`);
  const usd = (count.alarmMetrics * 0.1 + count.compositeAlarms * 0.5).toFixed(2);
  expect(text).toMatch(new RegExp(`CloudWatch alarms \\(counted in the template\\)\\s+\\$${usd.replace('.', '\\.')}`));
});
