import { validateDefinition, validateRegistry, type SubscriberDefinition } from '../lib/subscriber-definition';
import { matchesFilterPolicy, renderFilterPolicy } from '../lib/subscriber-filter';
import { SUBSCRIBERS } from '../lib/subscribers';

const handler = { entry: 'lambda/users-writer/handler.ts' };

describe('renderFilterPolicy', () => {
  it('renders every field on its message attribute', () => {
    expect(
      renderFilterPolicy('s', {
        tenants: ['acme', 'acme@eu'],
        types: ['user_blocked'],
        logTypes: ['sapi', 'limit_*'],
        level: { min: 3 },
        sources: ['log-stream'],
      }),
    ).toEqual({
      tenant: ['acme', 'acme@eu'],
      type: ['user_blocked'],
      log_type: ['sapi', { prefix: 'limit_' }],
      level: [{ numeric: ['>=', 3] }],
      source: ['log-stream'],
    });
  });

  it('renders level ranges: min, max, both, equal', () => {
    expect(renderFilterPolicy('s', { level: { max: 1 } })).toEqual({ level: [{ numeric: ['<=', 1] }] });
    expect(renderFilterPolicy('s', { level: { min: 1, max: 3 } })).toEqual({ level: [{ numeric: ['>=', 1, '<=', 3] }] });
    expect(renderFilterPolicy('s', { level: { min: 2, max: 2 } })).toEqual({ level: [{ numeric: ['=', 2] }] });
  });

  it('renders no policy for an empty filter (every event)', () => {
    expect(renderFilterPolicy('s', {})).toBeUndefined();
    expect(renderFilterPolicy('s')).toBeUndefined();
  });

  it.each([
    [{ types: [] }, /Subscriber "bad": filter.types must be a non-empty list/],
    [{ types: ['user_blockd'] }, /filter.types must be event types .* got "user_blockd"/],
    [{ types: ['logout', 'logout'] }, /filter.types lists "logout" twice/],
    [{ logTypes: ['*'] }, /filter.logTypes has a bare "\*"/],
    [{ logTypes: ['s p'] }, /filter.logTypes must be Auth0 log type codes/],
    [{ level: { min: 5 } }, /filter.level.min must be a whole number 0 \(debug\) .. 4/],
    [{ level: { min: 3, max: 1 } }, /filter.level min \(3\) must not be above max \(1\)/],
    [{ level: {} }, /filter.level needs min and\/or max/],
    [{ level: { from: 1 } }, /filter.level.from is not known/],
    [{ tenants: ['ACME'] }, /filter.tenants must be tenant names/],
    [{ sources: ['api'] }, /filter.sources must be one of log-stream, action, event-stream/],
    [{ type: ['logout'] }, /filter.type is not a filter field; use types, logTypes, level, tenants, sources/],
  ])('rejects %j with a message naming the subscriber and field', (filter, message) => {
    expect(() => renderFilterPolicy('bad', filter as never)).toThrow(message);
  });

  it('enforces the SNS limit of 150 combinations, naming the subscriber and the counts', () => {
    const logTypes = Array.from({ length: 16 }, (_, i) => `code${i}`);
    const tenTypes = [
      'user_registered',
      'user_updated',
      'password_changed',
      'user_blocked',
      'user_unblocked',
      'logout',
      'user_deleted',
      'refresh_token_revoked',
      'login_succeeded',
      'log',
    ] as const;
    // 10 types x 16 log types = 160
    expect(() => renderFilterPolicy('too-wide', { types: [...tenTypes], logTypes })).toThrow(
      'Subscriber "too-wide": filter has 160 combinations (10 type x 16 log_type); SNS allows at most 150',
    );
    // 10 x 15 = 150 is allowed
    expect(renderFilterPolicy('ok', { types: [...tenTypes], logTypes: logTypes.slice(0, 15) })).toBeDefined();
  });
});

describe("matchesFilterPolicy (the local runtime's SNS semantics)", () => {
  const attrs = { tenant: 'acme', type: 'login_throttled', log_type: 'limit_wc', level: 3, source: 'log-stream' } as const;
  it('ANDs keys, ORs values, handles prefixes and numeric ranges', () => {
    expect(matchesFilterPolicy(undefined, attrs)).toBe(true);
    expect(matchesFilterPolicy(renderFilterPolicy('s', { types: ['login_throttled', 'logout'], logTypes: ['limit_*'] }), attrs)).toBe(true);
    expect(matchesFilterPolicy(renderFilterPolicy('s', { types: ['user_blocked', 'logout'], logTypes: ['limit_*'] }), attrs)).toBe(false);
    expect(matchesFilterPolicy(renderFilterPolicy('s', { types: ['login_throttled'], tenants: ['acme@eu'] }), attrs)).toBe(false);
    expect(matchesFilterPolicy(renderFilterPolicy('s', { level: { min: 3 } }), attrs)).toBe(true);
    expect(matchesFilterPolicy(renderFilterPolicy('s', { level: { min: 4 } }), attrs)).toBe(false);
    expect(matchesFilterPolicy(renderFilterPolicy('s', { level: { min: 1, max: 2 } }), attrs)).toBe(false);
  });
});

describe('subscriber definitions', () => {
  it('the registry is valid, with unique names', () => {
    const policies = validateRegistry(SUBSCRIBERS, ['acme']);
    expect([...policies.keys()]).toEqual(expect.arrayContaining(['users', 'session-events']));
  });

  const bad: [string, Partial<SubscriberDefinition>, RegExp][] = [
    ['name', { name: 'Bad_Name', handler }, /Subscriber "Bad_Name": name must be 2-40 lower-case/],
    ['no consumer', { name: 'x1' }, /consumer needs exactly one of handler, webhook or queue, got none/],
    ['two consumers', { name: 'x1', handler, queue: { arn: 'arn:aws:sqs:eu-west-1:111122223333:q' } }, /got handler and queue/],
    ['entry', { name: 'x1', handler: { entry: '../etc/passwd.ts' } }, /handler.entry must be a .ts file under lambda\//],
    ['batch', { name: 'x1', handler: { ...handler, batchSize: 100 } }, /handler.batchSize above 10 needs maxBatchingWindowSeconds/],
    ['concurrency', { name: 'x1', handler: { ...handler, maxConcurrency: 1 } }, /handler.maxConcurrency must be a whole number 2..1000/],
    [
      'table',
      { name: 'x1', handler: { ...handler, tables: { users: 'admin' as never } } },
      /handler.tables.users must be read, write, read-write, or a non-empty list of GetItem/,
    ],
    ['table action', { name: 'x1', handler: { ...handler, tables: { users: ['Scan'] as never } } }, /handler.tables.users must be .*; got \["Scan"\]/],
    ['no table action', { name: 'x1', handler: { ...handler, tables: { events: [] } } }, /handler.tables.events must be .*; got \[\]/],
    ['http webhook', { name: 'x1', webhook: { url: 'http://example.com/hook', secretName: 's' } }, /webhook.url must be an https:\/\/ URL/],
    ['webhook creds', { name: 'x1', webhook: { url: 'https://u:p@example.com/hook', secretName: 's' } }, /must not contain credentials/],
    ['queue arn', { name: 'x1', queue: { arn: 'arn:aws:sns:eu-west-1:111122223333:t' } }, /queue.arn must be an SQS queue ARN/],
    ['receives', { name: 'x1', handler, maxReceiveCount: 0 }, /maxReceiveCount must be a whole number 1..1000/],
    [
      'tenant',
      { name: 'x1', handler, filter: { tenants: ['globex'] } },
      /filter.tenants names "globex", which this deployment does not serve \(tenants: acme\)/,
    ],
  ];
  it.each(bad)('rejects a bad %s', (_what, d, message) => {
    expect(() => validateDefinition(d as SubscriberDefinition, ['acme'])).toThrow(message);
  });

  it('rejects duplicate names', () => {
    expect(() =>
      validateRegistry([
        { name: 'a1', handler },
        { name: 'a1', handler },
      ]),
    ).toThrow('Subscriber "a1": name is used by two subscribers');
  });
});
