/**
 * A quiet fresh deploy pages nobody (issue 11). Every alarm of the synthesized template is evaluated
 * as CloudWatch would with NO data at all (a new account, Auth0 not yet connected), by a small
 * evaluator of the template's own alarm definitions:
 *   - a metric alarm whose evaluation range is all missing takes its TreatMissingData state:
 *     breaching -> ALARM, notBreaching -> OK, ignore -> keeps its state (a new alarm: INSUFFICIENT_DATA),
 *     missing (the default) -> INSUFFICIENT_DATA
 *     (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data);
 *   - a Metrics Insights query alarm (SELECT ...) has no data point: its TreatMissingData state;
 *   - a metric math alarm evaluates its expression with every metric missing: FILL(m, v) gives v,
 *     arithmetic and comparisons on a missing value give missing, IF(c, a, b) picks; a value is compared
 *     with the threshold, a missing result falls back to TreatMissingData;
 *   - a composite alarm evaluates its AlarmRule (ALARM/OK/INSUFFICIENT_DATA(...), AND, OR, NOT) over
 *     those states.
 * The expected states are written by hand below. The other side: once a tenant's NoEvents alarm is
 * armed (alarms.noEventsTenants), the same silence does page.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { parseConfig } from '../lib/config';
import { TEST_CONFIG } from './support/stack';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8'));

type State = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
type Resource = { Type: string; Properties: Record<string, any> };
const MISSING = undefined;
type Value = number | undefined;

// ---- a metric math expression, evaluated with every metric missing ----------------------------
function evaluateExpression(expression: string, metricIds: Set<string>): Value {
  const tokens = expression.match(/\s*(\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|>=|<=|==|!=|&&|\|\||[-+*/(),<>])/g)?.map((t) => t.trim()) ?? [];
  if (tokens.join('') !== expression.replace(/\s+/g, '')) throw new Error(`cannot tokenize ${expression}`);
  let i = 0;
  const peek = () => tokens[i];
  const take = (t?: string) => {
    if (t && tokens[i] !== t) throw new Error(`expected ${t} at ${tokens.slice(i).join(' ')} in ${expression}`);
    return tokens[i++];
  };
  const bin = (a: Value, b: Value, f: (x: number, y: number) => number): Value => (a === MISSING || b === MISSING ? MISSING : f(a, b));
  const levels: string[][] = [
    ['||', 'OR'],
    ['&&', 'AND'],
    ['==', '!=', '>=', '<=', '>', '<'],
    ['+', '-'],
    ['*', '/'],
  ];
  const ops: Record<string, (x: number, y: number) => number> = {
    '||': (x, y) => +(x !== 0 || y !== 0),
    OR: (x, y) => +(x !== 0 || y !== 0),
    '&&': (x, y) => +(x !== 0 && y !== 0),
    AND: (x, y) => +(x !== 0 && y !== 0),
    '==': (x, y) => +(x === y),
    '!=': (x, y) => +(x !== y),
    '>=': (x, y) => +(x >= y),
    '<=': (x, y) => +(x <= y),
    '>': (x, y) => +(x > y),
    '<': (x, y) => +(x < y),
    '+': (x, y) => x + y,
    '-': (x, y) => x - y,
    '*': (x, y) => x * y,
    '/': (x, y) => (y === 0 ? NaN : x / y),
  };
  const level = (n: number): Value => {
    if (n === levels.length) return unary();
    let v = level(n + 1);
    while (levels[n].includes(peek())) {
      const op = take();
      v = bin(v, level(n + 1), ops[op]);
    }
    return v;
  };
  const unary = (): Value => {
    if (peek() === '-') return (take(), bin(0, unary(), ops['-']));
    return primary();
  };
  const primary = (): Value => {
    const t = take();
    if (t === '(') {
      const v = level(0);
      take(')');
      return v;
    }
    if (/^\d/.test(t)) return Number(t);
    if (peek() === '(') {
      take('(');
      const args: Value[] = [];
      if (peek() !== ')')
        do args.push(level(0));
        while (peek() === ',' && take(','));
      take(')');
      if (t === 'FILL') return args[0] === MISSING ? args[1] : args[0];
      if (t === 'IF') return args[0] === MISSING ? MISSING : args[0] !== 0 ? args[1] : args[2];
      throw new Error(`the evaluator does not know ${t}() (used in ${expression}): add its no-data semantics`);
    }
    if (metricIds.has(t)) return MISSING; // no data at all
    throw new Error(`unknown id ${t} in ${expression}`);
  };
  const v = level(0);
  if (i !== tokens.length) throw new Error(`trailing ${tokens.slice(i).join(' ')} in ${expression}`);
  return v;
}

const breaches = (value: number, op: string, threshold: number) =>
  (
    ({
      GreaterThanThreshold: value > threshold,
      GreaterThanOrEqualToThreshold: value >= threshold,
      LessThanThreshold: value < threshold,
      LessThanOrEqualToThreshold: value <= threshold,
    }) as Record<string, boolean>
  )[op] ??
  (() => {
    throw new Error(`comparison ${op}`);
  })();

function metricAlarmState(p: Record<string, any>): State {
  let value: Value = MISSING;
  if (p.Metrics) {
    const returned = (p.Metrics as any[]).filter((m) => m.ReturnData !== false);
    expect(returned).toHaveLength(1);
    const ids = new Set<string>((p.Metrics as any[]).filter((m) => m.MetricStat).map((m) => m.Id));
    // A Metrics Insights query (SELECT ... FROM SCHEMA(...)) over no data returns no data point: missing.
    value = /^\s*SELECT\s/.test(returned[0].Expression) ? MISSING : evaluateExpression(returned[0].Expression, ids);
  }
  if (value !== MISSING) return breaches(value, p.ComparisonOperator, p.Threshold) ? 'ALARM' : 'OK';
  return ({ breaching: 'ALARM', notBreaching: 'OK', ignore: 'INSUFFICIENT_DATA', missing: 'INSUFFICIENT_DATA' } as Record<string, State>)[
    p.TreatMissingData ?? 'missing'
  ];
}

/** The AlarmRule string, with each alarm ARN written as its logical id. */
function ruleText(rule: unknown): string {
  if (typeof rule === 'string') return rule;
  const join = (rule as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1].map((part) => (typeof part === 'string' ? part : (part as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0])).join(join[0]);
}
function compositeState(rule: string, states: Map<string, State>): State {
  const expr = rule
    .replace(/\b(ALARM|OK|INSUFFICIENT_DATA)\("([^"]+)"\)/g, (_m, s: string, id: string) => {
      if (!states.has(id)) throw new Error(`composite rule names ${id}, which is not an alarm of the template`);
      return String(states.get(id) === s);
    })
    .replace(/\bAND\b/g, '&&')
    .replace(/\bOR\b/g, '||')
    .replace(/\bNOT\b/g, '!')
    .replace(/\bTRUE\b/g, 'true')
    .replace(/\bFALSE\b/g, 'false');
  if (!/^[\s()!&|truefals]*$/.test(expr)) throw new Error(`cannot evaluate composite rule ${rule}`);
  return new Function(`return (${expr});`)() ? 'ALARM' : 'OK';
}

/**
 * Every alarm of a stack's template, by construct path, in its no-data state; `given` sets the state of
 * metric alarms by path (the data they saw before the silence, e.g. a run yesterday).
 */
function noDataStates(config: unknown, given: Record<string, State> = {}): Record<string, State> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Auth0EventsStack(app, 'Quiet', { config: parseConfig(config) });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  const pathOf = new Map<string, string>();
  for (const c of stack.node.findAll()) {
    if (c instanceof cloudwatch.Alarm || c instanceof cloudwatch.CompositeAlarm)
      pathOf.set(stack.getLogicalId(c.node.defaultChild as cloudwatch.CfnAlarm), c.node.path.split('/').slice(2).join('/')); // below the pipeline (the stack's `Default` child)
  }
  const states = new Map<string, State>();
  for (const [id, r] of Object.entries(resources))
    if (r.Type === 'AWS::CloudWatch::Alarm') states.set(id, given[pathOf.get(id) ?? id] ?? metricAlarmState(r.Properties));
  // Composites may name composites: evaluate each once the alarms it names have a state.
  let composites = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::CompositeAlarm');
  while (composites.length) {
    const ready = composites.filter(([, r]) => [...ruleText(r.Properties.AlarmRule).matchAll(/\("([^"]+)"\)/g)].every((m) => states.has(m[1])));
    if (!ready.length) throw new Error(`composite rules name alarms that are not in the template: ${composites.map(([id]) => id).join(', ')}`);
    for (const [id, r] of ready) states.set(id, compositeState(ruleText(r.Properties.AlarmRule), states));
    composites = composites.filter((c) => !ready.includes(c));
  }
  return Object.fromEntries([...states].map(([id, s]) => [pathOf.get(id) ?? id, s]));
}

/** Written by hand: the alarms of the stack (registry: users, session-events) and their no-data state. */
const QUIET: Record<string, State> = {
  'Monitoring/IngestErrors': 'OK',
  'Monitoring/IngestThrottles': 'OK',
  'Monitoring/Api5xxRate': 'OK',
  'Monitoring/ApiLatencyP99': 'OK',
  'Monitoring/Ingest4xxRate': 'OK', // IF(0 >= 10, ..., 0) = 0, not > 25
  'Monitoring/PublishFailures': 'OK',
  'Monitoring/TopicDeliveryFailures': 'OK',
  'Monitoring/TopicRedriveFailures': 'OK',
  'Subscribers/Users/DeliveryDlqDepth': 'OK',
  'Subscribers/Users/Lag': 'OK',
  'Subscribers/Users/DlqDepth': 'OK',
  'Subscribers/Users/Errors': 'OK',
  'Subscribers/Users/Throttles': 'OK',
  'Subscribers/SessionEvents/DeliveryDlqDepth': 'OK',
  'Subscribers/SessionEvents/Lag': 'OK',
  'Subscribers/SessionEvents/DlqDepth': 'OK',
  'Subscribers/SessionEvents/Errors': 'OK',
  'Subscribers/SessionEvents/Throttles': 'OK',
  'Realtime/PushIteratorAge': 'OK',
  'Realtime/PushSendFailures': 'OK',
  'Realtime/PushErrors': 'OK',
  'Realtime/PushFailuresDepth': 'OK',
  'Realtime/CloseChecksDlqDepth': 'OK',
  'Realtime/SocketIntegrationErrors': 'OK',
  // The event archive (issue 21): no records, no Firehose metrics, no DLQ messages.
  'Archive/ArchiveFreshness': 'OK',
  'Archive/ArchiveDeliveryFailures': 'OK',
  'Archive/ArchiveDeliveryDlqDepth': 'OK',
  'Monitoring/PipelineUnhealthy': 'OK',
};

describe('a deploy with no traffic yet pages nobody', () => {
  it('the evaluator reads metric math and composite rules as CloudWatch does for no data', () => {
    const ids = new Set(['m', 'n']);
    expect(evaluateExpression('FILL(m, 0) + 1', ids)).toBe(1);
    expect(evaluateExpression('m + 1', ids)).toBe(MISSING);
    expect(evaluateExpression('IF(FILL(m, 0) >= 10, 100 * FILL(n, 0) / FILL(m, 0), 0)', ids)).toBe(0);
    expect(evaluateExpression('IF(FILL(m, 20) >= 10, 100 * FILL(n, 5) / FILL(m, 20), 0)', ids)).toBe(25);
    expect(() => evaluateExpression('RUNNING_SUM(m)', ids)).toThrow(/does not know RUNNING_SUM/);
    expect(metricAlarmState({ MetricName: 'x', TreatMissingData: 'breaching', ComparisonOperator: 'LessThanThreshold', Threshold: 1 })).toBe('ALARM');
    expect(metricAlarmState({ MetricName: 'x', ComparisonOperator: 'LessThanThreshold', Threshold: 1 })).toBe('INSUFFICIENT_DATA');
    const s = new Map<string, State>([
      ['a', 'OK'],
      ['b', 'ALARM'],
    ]);
    expect(compositeState('ALARM("a") OR ALARM("b")', s)).toBe('ALARM');
    expect(compositeState('ALARM("a") AND NOT OK("b")', s)).toBe('OK');
  });

  it('the test configuration: every alarm is OK, the composite alarm does not trip', () => {
    expect(noDataStates(TEST_CONFIG)).toEqual(QUIET);
  });

  it('the shipped example configuration (cdk.json) too, with its EventBridge front door', () => {
    expect(noDataStates(cdkJson.context['auth0-events'])).toEqual({
      ...QUIET,
      'Monitoring/EventBridgeLag': 'OK',
      'Monitoring/EventBridgeDlqDepth': 'OK',
      'Monitoring/EventBridgeDeliveryDlqDepth': 'OK',
      'Monitoring/EventBridgeIngestErrors': 'OK',
      'Monitoring/EventBridgeFailedInvocations': 'OK',
      'Monitoring/EventBridgeDlqSendFailed': 'OK',
      // The poller (acme@eu polls): before its first run it has no invocation, which is no page.
      'Poller/PollerErrors': 'OK',
      'Poller/PollerBehind': 'OK',
      'Poller/PollerRefused': 'OK',
      'Poller/PollerSilent': 'ALARM', // a condition: notifies nobody
      'Poller/PollerRanToday': 'OK',
      'Poller/PollerNotRunning': 'OK',
    });
  });

  it('the other side: a poller that ran within the last day and then falls silent pages', () => {
    expect(noDataStates(cdkJson.context['auth0-events'], { 'Poller/PollerRanToday': 'ALARM' })).toMatchObject({
      'Poller/PollerSilent': 'ALARM',
      'Poller/PollerNotRunning': 'ALARM',
      'Monitoring/PipelineUnhealthy': 'ALARM',
    });
  });

  it('the other side: once a tenant is armed (its Log Stream delivers), the same silence pages for that tenant only', () => {
    const armed = noDataStates({ ...TEST_CONFIG, alarms: { noEventsTenants: ['acme@eu'] } });
    expect(armed).toEqual({ ...QUIET, 'Monitoring/NoEvents-acme@eu': 'ALARM', 'Monitoring/PipelineUnhealthy': 'ALARM' });
  });
});
