/**
 * Issue 10, item 6: anything the ingest accepts, every built-in subscriber processes. A record the
 * ingest answers 2xx for must become a message that parseCanonicalEvent (every subscriber's parser)
 * accepts and that the users writer and the session-events writer can store: DynamoDB keys are at most
 * 2,048 bytes (partition) and 1,024 bytes (sort), in UTF-8
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html). Otherwise the
 * ingest refuses the record with a 400 naming the field. The limits below are written out by hand,
 * not imported from the code under test.
 */
import './support/quiet-logs';
import fc from 'fast-check';
import { handler } from '../lambda/ingest/handler';
import { parseCanonicalEvent } from '../lambda/shared/sqs-events';
import { toStoredEvent } from '../lambda/shared/stores';
import { createHandler as createUsersWriter, groupUpdates, markerOf, registrationFields } from '../lambda/users-writer/handler';
import { createHandler as createSessionWriter } from '../lambda/session-events-writer/handler';
import { startDynamoDb, type Emulator } from '../local/emulators';
import { createEventsTable, createUsersTable, localClients } from './support/dynamodb';
import { apiEvent } from '../harness/auth0-logs';
import { sqsEvent } from './support/events';
import { recordingSns } from './support/sns-recorder';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const { messages } = recordingSns();

async function postLogs(records: unknown[]) {
  const res = await handler(apiEvent({ tenant: 'acme', body: JSON.stringify(records) }) as never);
  return { status: res.statusCode, body: JSON.parse(res.body) };
}
async function postAction(trigger: string, body: unknown) {
  const res = await handler(apiEvent({ tenant: 'acme', trigger, body: JSON.stringify(body) }) as never);
  return { status: res.statusCode, body: JSON.parse(res.body) };
}
const rec = (log_id: string, data: Record<string, unknown>) => ({ log_id, data: { date: '2026-11-22T10:00:00.000Z', ...data } });

/** What every built-in subscriber needs of a message (throws when it cannot be processed). */
function processable(message: string): void {
  const e = parseCanonicalEvent(message);
  groupUpdates(e);
  markerOf(e);
  registrationFields(e);
  const stored = toStoredEvent(e, new Date('2026-11-22T10:00:05.000Z'));
  if (!/^\d{4}-/.test(markerOf(e))) throw new Error(`marker ${markerOf(e)} does not sort as a date`);
  if (e.user_id !== undefined && bytes(e.user_id) > 1024) throw new Error('user_id over the users table sort key limit (1,024 bytes)');
  if (stored.tenant_user !== undefined && bytes(stored.tenant_user) > 2048) throw new Error('tenant_user over the partition key limit (2,048 bytes)');
  if (bytes(stored.cursor) > 1024) throw new Error('cursor over the sort key limit (1,024 bytes)');
  if (bytes(stored.id) > 2048) throw new Error('id over the partition key limit (2,048 bytes)');
}

describe('dates: one validator for the ingest and the subscribers', () => {
  test.each([
    ['+010000-01-01T00:00:00Z', 'a six-digit year'],
    ['9999-12-31T23:59:59-01:00', 'a date whose UTC form is in year 10000'],
    ['0000-01-01T00:00:00+01:00', 'a date whose UTC form is in year -1'],
    ['2024-02-30T00:00:00Z', 'a day that does not exist'],
    ['2024-05-01T10:00:00', 'no time zone'],
    ['Tue, 01 May 2024 10:00:00 GMT', 'not ISO 8601'],
  ])('a Log Stream date %s (%s) is a 400 naming data.date, not a 2xx that every subscriber refuses', async (date) => {
    const r = await postLogs([rec('d1', { type: 'slo', user_id: 'auth0|d', date })]);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('index 0: "data.date"');
    expect(messages).toEqual([]);
  });

  test('a date with an offset is accepted and published in the canonical UTC form', async () => {
    const r = await postLogs([rec('d2', { type: 'slo', user_id: 'auth0|d', date: '2026-11-22T11:00:00+01:00' })]);
    expect(r.status).toBe(200);
    expect(parseCanonicalEvent(messages[0]).date).toBe('2026-11-22T10:00:00.000Z');
  });

  test('an Action occurred_at in year 10000 is a 400 naming occurred_at', async () => {
    const r = await postAction('post-change-password', { occurred_at: '+010000-01-01T00:00:00Z', user: { user_id: 'auth0|d' } });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('"occurred_at"');
    expect(messages).toEqual([]);
  });
});

describe('identifier limits: the ingest refuses what a subscriber would refuse or could not store', () => {
  test.each([
    ['a 600-character user_id', { type: 'slo', user_id: `auth0|${'a'.repeat(594)}` }, '"data.user_id"'],
    ['a user_id of 400 three-byte characters (1,200 bytes)', { type: 'slo', user_id: `auth0|${'€'.repeat(400)}` }, '"data.user_id"'],
    ['an 80-character log type code', { type: 'x'.repeat(80), user_id: 'auth0|t' }, '"data.type"'],
    ['a log type code with a control character', { type: 's\u0000', user_id: 'auth0|t' }, '"data.type"'],
    ['a 600-character session_id', { type: 'slo', user_id: 'auth0|s', session_id: 's'.repeat(600) }, '"data.session_id"'],
    ['a 600-character details.session_id', { type: 'slo', user_id: 'auth0|s', details: { session_id: 's'.repeat(600) } }, 'session_id'],
    [
      'a Management API path naming a 2,000-character user',
      { type: 'sapi', details: { request: { method: 'delete', path: `/api/v2/users/${'u'.repeat(2000)}` } } },
      'user_id',
    ],
  ])('%s is a 400 naming the field', async (_what, data, field) => {
    const r = await postLogs([rec('lim-1', data)]);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_record');
    expect(r.body.message).toContain('index 0');
    expect(r.body.message).toContain(field);
    expect(messages).toEqual([]);
  });

  test('a log_id of 600 bytes is a 400 naming log_id', async () => {
    const r = await postLogs([rec('€'.repeat(200), { type: 's' })]);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('"log_id"');
  });

  test('an Action user_id or session_id over the limit is a 400 naming it', async () => {
    expect((await postAction('post-login', { occurred_at: '2026-11-22T10:00:00Z', user: { user_id: 'u'.repeat(600) } })).body.message).toContain(
      '"user.user_id"',
    );
    expect(
      (await postAction('post-login', { occurred_at: '2026-11-22T10:00:00Z', user: { user_id: 'auth0|a' }, session_id: 's'.repeat(600) })).body.message,
    ).toContain('"session_id"');
    expect(messages).toEqual([]);
  });

  test('identifiers at the limit (512 bytes) are accepted and processable', async () => {
    const r = await postLogs([rec('9'.repeat(512), { type: 'slo', user_id: `a${'€'.repeat(170)}`, session_id: 's'.repeat(512) })]);
    expect(r.status).toBe(200);
    expect(() => processable(messages[0])).not.toThrow();
  });
});

// ---- property: whatever the ingest accepts, every subscriber processes ----
const text = (max: number) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength: max }),
    fc.string({ unit: 'grapheme', maxLength: max }),
    fc.integer({ min: 0, max }).map((n) => '€'.repeat(n)),
    fc.integer({ min: 0, max }).map((n) => 'a'.repeat(n)),
  );
const offset = fc.oneof(
  fc.constant('Z'),
  fc
    .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([s, h, m]) => `${s}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
);
const date = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 0, max: 13 }),
      fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 25 }),
      fc.integer({ min: 0, max: 61 }),
      offset,
    )
    .map(
      ([y, mo, d, h, mi, z]) =>
        `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:00${z}`,
    ),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '+010000-01-01T00:00:00Z',
    '-000001-01-01T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '2024-05-01T24:00:00Z',
    '2024-05-01',
    '1 May 2024',
  ),
  fc.string({ maxLength: 30 }),
);
const logType = fc.oneof(fc.constantFrom('s', 'slo', 'ss', 'scp', 'sapi', 'srrt', 'sdu', 'limit_wc', 'fp', 'w'), text(120));
const safePath = (u: string) => {
  try {
    return `/api/v2/users/${encodeURIComponent(u)}`;
  } catch {
    return `/api/v2/users/${u}`;
  }
};
const logRecord = fc
  .record({
    log_id: text(700),
    type: logType,
    date: fc.option(date, { nil: undefined }),
    user_id: fc.option(text(700), { nil: undefined }),
    session_id: fc.option(text(700), { nil: undefined }),
    detailsSession: fc.option(text(700), { nil: undefined }),
    pathUser: fc.option(text(1200), { nil: undefined }),
    method: fc.constantFrom('delete', 'patch'),
    blocked: fc.boolean(),
  })
  .map((r) => ({
    log_id: r.log_id,
    data: {
      type: r.type,
      ...(r.date !== undefined ? { date: r.date } : {}),
      ...(r.user_id !== undefined ? { user_id: r.user_id } : {}),
      ...(r.session_id !== undefined ? { session_id: r.session_id } : {}),
      details: {
        ...(r.detailsSession !== undefined ? { session_id: r.detailsSession } : {}),
        ...(r.pathUser !== undefined ? { request: { method: r.method, path: safePath(r.pathUser), body: { blocked: r.blocked } } } : {}),
      },
    },
  }));
const actionBody = fc.record(
  {
    occurred_at: fc.option(date, { nil: undefined }),
    user: fc.record(
      { user_id: text(700), email: fc.option(text(300), { nil: undefined }), username: fc.option(text(300), { nil: undefined }) },
      { requiredKeys: ['user_id'] },
    ),
    session_id: fc.option(text(700), { nil: undefined }),
  },
  { requiredKeys: ['user'] },
);

test('property: every message of a 2xx answer parses with parseCanonicalEvent, and the users and session-events writers can process it', async () => {
  let accepted = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(logRecord, { minLength: 1, maxLength: 5 }), async (records) => {
      messages.length = 0;
      const r = await postLogs(records);
      if (r.status === 200) {
        accepted++;
        for (const m of messages) processable(m);
      } else {
        refused++;
        if (r.status !== 400) throw new Error(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 400), endOnFailure: true },
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('post-user-registration', 'post-change-password', 'post-login'), actionBody, async (trigger, body) => {
      messages.length = 0;
      const r = await postAction(trigger, body);
      if (r.status === 202) {
        accepted++;
        expect(messages).toHaveLength(1);
        processable(messages[0]);
      } else {
        refused++;
        if (r.status !== 400) throw new Error(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 400), endOnFailure: true },
  );
  // Neither side vacuous.
  expect(accepted).toBeGreaterThan(50);
  expect(refused).toBeGreaterThan(50);
}, 120_000);

describe('the writers against DynamoDB Local, at the edges', () => {
  let ddb: Emulator;
  let clients: ReturnType<typeof localClients>;
  let users: ReturnType<typeof createUsersWriter>;
  let sessions: ReturnType<typeof createSessionWriter>;
  beforeAll(async () => {
    ddb = await startDynamoDb();
    clients = localClients(ddb.endpoint);
    users = createUsersWriter({ db: clients.doc, table: await createUsersTable(clients.client, 'users-edges') });
    sessions = createSessionWriter({ db: clients.doc, table: await createEventsTable(clients.client, 'events-edges') });
  }, 60_000);
  afterAll(async () => {
    clients?.client.destroy();
    await ddb?.stop();
  });

  // [what, record, accepted?] — whether the ingest must accept it is written by hand.
  const cases: [string, { log_id: string; data: Record<string, unknown> }, boolean][] = [
    ['user_id of 511 bytes (170 three-byte characters)', rec('edge-1', { type: 'slo', user_id: `a${'€'.repeat(170)}`, session_id: 'sess_edge1' }), true],
    ['user_id of 1,200 bytes in 400 characters', rec('edge-2', { type: 'slo', user_id: '€'.repeat(400), session_id: 'sess_edge2' }), false],
    ['log_id of 512 bytes', rec('7'.repeat(512), { type: 'slo', user_id: 'auth0|edge3', session_id: 's'.repeat(512) }), true],
    [
      'blocked through a Management API path with a 1,000-character user',
      rec('edge-4', { type: 'sapi', details: { request: { method: 'patch', path: `/api/v2/users/${'ü'.repeat(1000)}`, body: { blocked: true } } } }),
      false,
    ],
    ['a registration in year 0', rec('edge-5', { type: 'ss', user_id: 'auth0|edge5', user_name: 'e5@acme.test', date: '0000-01-01T00:00:00Z' }), true],
    ['a deletion on the last millisecond of year 9999', rec('edge-6', { type: 'sdu', user_id: 'auth0|edge6', date: '9999-12-31T23:59:59.999Z' }), true],
    ['a user_id with a lone surrogate', rec('edge-7', { type: 'slo', user_id: 'auth0|\ud800x', session_id: 'sess_edge7' }), false],
  ];

  test.each(cases)('%s: the ingest answer is as expected, and what it accepts both writers store', async (_what, record, acceptable) => {
    messages.length = 0;
    const r = await postLogs([record]);
    expect(r.status).toBe(acceptable ? 200 : 400);
    for (const m of messages) {
      expect(await users(sqsEvent(m))).toEqual({ batchItemFailures: [] });
      expect(await sessions(sqsEvent(m))).toEqual({ batchItemFailures: [] });
    }
  });

  test('the simplest Action bodies are stored by the users writer', async () => {
    messages.length = 0;
    expect((await postAction('post-user-registration', { user: { user_id: `auth0|${'é'.repeat(200)}`, email: 'x@acme.test', username: 'x' } })).status).toBe(
      202,
    );
    expect((await postAction('post-change-password', { user: { user_id: 'auth0|edge8' } })).status).toBe(202);
    expect(messages).toHaveLength(2);
    for (const m of messages) expect(await users(sqsEvent(m))).toEqual({ batchItemFailures: [] });
  });
});
