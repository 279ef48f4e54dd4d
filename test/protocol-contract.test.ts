/**
 * The WebSocket protocol and the canonical event are typed once (lambda/shared/protocol.ts,
 * lambda/shared/event.ts) and described once as JSON Schema (docs/schema/); this test keeps the types,
 * the schemas and docs/contract.md in step, from the other side (issue 22):
 *
 *   - compile time (npm run typecheck): hand-written lists of the message types and of each message's
 *     fields are exactly the TypeScript unions' (a type or field added on one side only fails tsc);
 *   - the same hand-written lists equal the schemas' definitions, properties and required fields;
 *   - every message type and example of the contract's WebSocket table is in the schema and passes it
 *     (each alternative of `"a"|"b"`), and every one the schema has is in the contract; the same for the
 *     canonical event's example, fields, sources and types;
 *   - messages written by hand pass, and hostile or malformed ones are refused;
 *   - messages made by the running code pass: frames packed by lambda/shared/frames.ts from events the
 *     ingest classified from Auth0 records written here, and the canonical events themselves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVENT_TYPES, SESSION_EVENT_TYPES, type CanonicalEvent } from '../lambda/shared/event';
import { EVENT_SOURCES } from '../lambda/shared/event-rules';
import { packFrames } from '../lambda/shared/frames';
import { encodeMessage } from '../lambda/shared/management';
import {
  CLIENT_MESSAGE_TYPES,
  SERVER_MESSAGE_TYPES,
  UNKNOWN_MESSAGE_ERROR,
  type ClientMessage,
  type ServerMessage,
  type SessionEvent,
} from '../lambda/shared/protocol';
import { pushedEvent, toStoredEvent } from '../lambda/shared/stores';
import { classifyLogRecord } from '../lambda/ingest/classify';
import { parseLogStreamBody } from '../lambda/ingest/parse';
import {
  CANONICAL_EVENT_SCHEMA,
  WEBSOCKET_SCHEMA,
  canonicalEventProblems,
  clientMessageProblems,
  messageProblems,
  serverMessageProblems,
  type JsonSchema,
} from '../harness/protocol-schema';

// ---------------------------------------------------------------- written by hand (compile-time checked)

type Message = ClientMessage | ServerMessage;
type Of<T extends Message['type']> = Extract<Message, { type: T }>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** The keys of T that may be left out. */
type OptionalKeys<T> = { [K in keyof T]-?: Partial<Pick<T, K>> extends Pick<T, K> ? K : never }[keyof T];
type RequiredKeys<T> = Exclude<keyof T, OptionalKeys<T>>;

const CLIENT_TYPES = ['authenticate', 'continue_catch_up', 'ping'] as const satisfies readonly ClientMessage['type'][];
const SERVER_TYPES = [
  'authenticated',
  'authentication_failed',
  'event',
  'events',
  'catch_up_paused',
  'caught_up',
  'pong',
  'closing',
  'error',
] as const satisfies readonly ServerMessage['type'][];

/** Each message's fields, `type` included: required, then optional. */
const FIELDS = {
  authenticate: [
    ['type', 'access_token'],
    ['since', 'seen'],
  ],
  continue_catch_up: [['type', 'after'], []],
  ping: [['type'], []],
  authenticated: [['type', 'sub', 'filter', 'expires_at'], []],
  authentication_failed: [['type', 'message'], []],
  event: [['type', 'event'], ['replay']],
  events: [['type', 'events'], ['replay']],
  catch_up_paused: [['type', 'count', 'last_id', 'reason'], []],
  caught_up: [['type', 'count'], ['last_id']],
  pong: [['type'], []],
  closing: [['type', 'reason', 'message'], ['resume_from']],
  error: [['type', 'error', 'message'], []],
} as const;
const SESSION_EVENT_FIELDS = [
  ['id', 'type', 'tenant', 'date', 'log_type'],
  ['user_id', 'session_id'],
] as const;
const CANONICAL_EVENT_FIELDS = [
  ['id', 'tenant', 'type', 'source', 'log_type', 'level', 'date', 'received_at', 'data'],
  ['user_id', 'session_id', 'truncated'],
] as const;

type FieldsAgree<T, F extends readonly [readonly string[], readonly string[]]> = Same<F[0][number], RequiredKeys<T>> | Same<F[1][number], OptionalKeys<T>>;
type Checks =
  | Same<(typeof CLIENT_TYPES)[number], ClientMessage['type']>
  | Same<(typeof SERVER_TYPES)[number], ServerMessage['type']>
  | Same<keyof typeof FIELDS, Message['type']>
  | { [T in Message['type']]: FieldsAgree<Of<T>, (typeof FIELDS)[T]> }[Message['type']]
  | FieldsAgree<SessionEvent, typeof SESSION_EVENT_FIELDS>
  | FieldsAgree<CanonicalEvent, typeof CANONICAL_EVENT_FIELDS>;
// Fails to compile when any check above is false: the hand-written lists and the types disagree.
const typesAgree: false extends Checks ? never : true = true;

const byType = <T>(list: readonly T[]) => [...list].map(String).sort();

// ---------------------------------------------------------------- the schemas

const defs = WEBSOCKET_SCHEMA.definitions!;
const unionMembers = (name: 'ClientMessage' | 'ServerMessage'): string[] => defs[name].oneOf!.map((r) => r.$ref.replace('#/definitions/', '')).sort();
const fieldsOf = (s: JsonSchema): [string[], string[]] => {
  const all = Object.keys(s.properties ?? {});
  const required = [...(s.required ?? [])].sort();
  return [required, all.filter((k) => !required.includes(k)).sort()];
};

describe('types, hand-written lists and schemas agree', () => {
  it('the compile-time checks hold (npm run typecheck fails otherwise)', () => {
    expect(typesAgree).toBe(true);
  });

  it('the message type lists of lambda/shared/protocol.ts are the hand-written ones', () => {
    expect(byType(CLIENT_MESSAGE_TYPES)).toEqual(byType(CLIENT_TYPES));
    expect(byType(SERVER_MESSAGE_TYPES)).toEqual(byType(SERVER_TYPES));
  });

  it('the schema has one definition per message type, in the right union, and no other', () => {
    expect(unionMembers('ClientMessage')).toEqual(byType(CLIENT_TYPES));
    expect(unionMembers('ServerMessage')).toEqual(byType(SERVER_TYPES));
    expect(Object.keys(defs).sort()).toEqual([...CLIENT_TYPES, ...SERVER_TYPES, 'ClientMessage', 'ServerMessage', 'SessionEvent'].sort());
    for (const t of [...CLIENT_TYPES, ...SERVER_TYPES]) expect([t, defs[t].properties?.type]).toEqual([t, { const: t }]);
  });

  it.each(Object.entries(FIELDS))('%s: the schema has the same required and optional fields, and no others', (type, [required, optional]) => {
    expect(fieldsOf(defs[type])).toEqual([[...required].sort(), [...optional].sort()]);
    expect(defs[type].additionalProperties).toBe(false);
  });

  it('the session event: the same fields, and its types are SESSION_EVENT_TYPES', () => {
    expect(fieldsOf(defs.SessionEvent)).toEqual([[...SESSION_EVENT_FIELDS[0]].sort(), [...SESSION_EVENT_FIELDS[1]].sort()]);
    expect(defs.SessionEvent.properties!.type.enum).toEqual([...SESSION_EVENT_TYPES]);
  });

  it('the canonical event: the same fields; known types and sources as in lambda/shared/event.ts', () => {
    expect(fieldsOf(CANONICAL_EVENT_SCHEMA)).toEqual([[...CANONICAL_EVENT_FIELDS[0]].sort(), [...CANONICAL_EVENT_FIELDS[1]].sort()]);
    expect(CANONICAL_EVENT_SCHEMA.properties!.type.examples).toEqual([...EVENT_TYPES]);
    expect(CANONICAL_EVENT_SCHEMA.properties!.source.examples).toEqual([...EVENT_SOURCES]);
  });
});

// ---------------------------------------------------------------- hand-written messages

const EVENT = {
  id: '90020261205100000000000000000000000000000001',
  type: 'logout',
  tenant: 'acme',
  user_id: 'auth0|alice',
  session_id: 's-1',
  date: '2026-12-05T10:00:00.000Z',
  log_type: 'slo',
};
/** One valid message of each type, written by hand. */
const VALID: Record<Message['type'], Record<string, unknown>> = {
  authenticate: { type: 'authenticate', access_token: 'eyJ.a.b', since: 'evt-1', seen: ['evt-0', 'evt-1'] },
  continue_catch_up: { type: 'continue_catch_up', after: 'evt-9' },
  ping: { type: 'ping' },
  authenticated: { type: 'authenticated', sub: 'auth0|alice', filter: 'self', expires_at: '2026-12-05T11:00:00.000Z' },
  authentication_failed: { type: 'authentication_failed', message: 'The token has expired.' },
  event: { type: 'event', event: EVENT },
  events: { type: 'events', replay: true, events: [EVENT, { ...EVENT, id: 'evt-2', type: 'user_deleted', log_type: 'sdu', session_id: undefined }] },
  catch_up_paused: { type: 'catch_up_paused', count: 5000, last_id: 'evt-5000', reason: 'size_cap' },
  caught_up: { type: 'caught_up', count: 0 },
  pong: { type: 'pong' },
  closing: { type: 'closing', reason: 'missed_events', message: 'Reconnect.', resume_from: 'evt-3' },
  error: { type: 'error', error: 'no_catch_up_pending', message: 'None is pending.' },
};
const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;

/** Messages that must be refused: [what it is, direction, message]. */
const INVALID: [string, 'client' | 'server', unknown][] = [
  ['no type', 'client', { access_token: 'x' }],
  ['an unknown type', 'client', { type: 'subscribe', tenant: 'other' }],
  ['a server type sent by a client', 'client', { type: 'authenticated', sub: 'x', filter: '*', expires_at: '2026-12-05T11:00:00.000Z' }],
  ['authenticate without a token', 'client', { type: 'authenticate', since: 'evt-1' }],
  ['authenticate with an empty token', 'client', { type: 'authenticate', access_token: '' }],
  ['authenticate with an empty since', 'client', { type: 'authenticate', access_token: 't', since: '' }],
  ['authenticate with since of 513 characters', 'client', { type: 'authenticate', access_token: 't', since: 'x'.repeat(513) }],
  [
    'authenticate with 1,001 seen ids',
    'client',
    { type: 'authenticate', access_token: 't', since: 'a', seen: Array.from({ length: 1001 }, (_, i) => `id-${i}`) },
  ],
  ['authenticate with a seen id that is a number', 'client', { type: 'authenticate', access_token: 't', seen: [42] }],
  ["authenticate naming a tenant (the tenant is the connection's)", 'client', { type: 'authenticate', access_token: 't', tenant: 'other' }],
  ['continue_catch_up without after', 'client', { type: 'continue_catch_up' }],
  ['continue_catch_up with a number', 'client', { type: 'continue_catch_up', after: 7 }],
  ['a JSON array', 'client', [{ type: 'ping' }]],
  ['a string', 'client', '{"type":"ping"}'],
  ['null', 'server', null],
  ['authenticated with filter all', 'server', { type: 'authenticated', sub: 'x', filter: 'all', expires_at: '2026-12-05T11:00:00.000Z' }],
  ['authenticated with a date that is not ISO UTC', 'server', { type: 'authenticated', sub: 'x', filter: '*', expires_at: 'Sat, 05 Dec 2026 11:00:00 GMT' }],
  [
    'authenticated leaking the token',
    'server',
    { type: 'authenticated', sub: 'x', filter: '*', expires_at: '2026-12-05T11:00:00.000Z', access_token: 'eyJ.a.b' },
  ],
  ['an event without an id', 'server', { type: 'event', event: { ...EVENT, id: undefined } }],
  ['an event of a type that is not a session event', 'server', { type: 'event', event: { ...EVENT, type: 'login_succeeded' } }],
  ['an event carrying the Auth0 log data', 'server', { type: 'event', event: { ...EVENT, data: { ip: '10.0.0.1' } } }],
  ['an event with replay false', 'server', { type: 'event', event: EVENT, replay: false }],
  ['events with no event', 'server', { type: 'events', events: [] }],
  ['events with an event that is not an object', 'server', { type: 'events', events: ['evt-1'] }],
  ['catch_up_paused for another reason', 'server', { type: 'catch_up_paused', count: 1, last_id: 'a', reason: 'tired' }],
  ['catch_up_paused without last_id', 'server', { type: 'catch_up_paused', count: 1, reason: 'size_cap' }],
  ['caught_up with a negative count', 'server', { type: 'caught_up', count: -1 }],
  ['caught_up with a count of 1.5', 'server', { type: 'caught_up', count: 1.5 }],
  ['closing for an unknown reason', 'server', { type: 'closing', reason: 'bored', message: 'x' }],
  ['closing without a message', 'server', { type: 'closing', reason: 'token_expired' }],
  ['error with an unknown code', 'server', { type: 'error', error: 'internal', message: 'x' }],
  ["API Gateway's internal error body (not a protocol message)", 'server', { message: 'Internal server error', connectionId: 'c', requestId: 'r' }],
];

describe('hand-written messages', () => {
  it.each(Object.entries(VALID))('%s passes', (type, message) => {
    const client = (CLIENT_TYPES as readonly string[]).includes(type);
    expect(messageProblems(type, json(message))).toEqual([]);
    expect((client ? clientMessageProblems : serverMessageProblems)(json(message))).toEqual([]);
  });

  it.each(INVALID)('%s is refused', (_what, direction, message) => {
    expect((direction === 'client' ? clientMessageProblems : serverMessageProblems)(message)).not.toEqual([]);
  });
});

// ---------------------------------------------------------------- the contract, parsed

const CONTRACT = fs.readFileSync(path.join(__dirname, '..', 'docs', 'contract.md'), 'utf8');
function section(heading: string): string {
  const start = CONTRACT.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/contract.md has no "## ${heading}" section`);
  const end = CONTRACT.indexOf('\n## ', start + 1);
  return CONTRACT.slice(start, end < 0 ? undefined : end);
}

interface ContractExample {
  direction: 'client' | 'server';
  text: string;
  variants: Record<string, unknown>[];
  partial: boolean;
  eventFields?: string[];
}

/** Expands the first `"a"\|"b"` of a text into one text per alternative (recursively). */
function alternatives(text: string): string[] {
  const m = /"([^"]*)"((?:\\\|"[^"]*")+)/.exec(text);
  if (!m) return [text];
  const options = [m[1], ...[...m[2].matchAll(/\\\|"([^"]*)"/g)].map((o) => o[1])];
  return options.flatMap((o) => alternatives(text.slice(0, m.index) + JSON.stringify(o) + text.slice(m.index + m[0].length)));
}

/**
 * The messages of the contract's WebSocket table: each code span that starts with {"type":", made JSON
 * (N -> 1, "<ISO>" -> a date, {...} / [...] -> the hand-written event, a field list such as
 * {"id","type",...} -> the event, `, …` dropped; a trailing `,...` marks a partial example).
 */
function contractMessages(): ContractExample[] {
  const out: ContractExample[] = [];
  for (const row of section('WebSocket').split('\n')) {
    const dir = /^\| (client →|← server) \|/.exec(row)?.[1];
    if (!dir) continue;
    const spans = [...row.matchAll(/`([^`]+)`/g)].map((m) => m[1]).filter((s) => s.startsWith('{"type":"'));
    spans.forEach((text, i) => {
      const direction = dir === 'client →' && i === 0 ? 'client' : 'server';
      let eventFields: string[] | undefined;
      let t = text.replace(/\{("[a-z_]+"(?:,"[a-z_]+")+)\}/, (_, list: string) => {
        eventFields = [...list.matchAll(/"([a-z_]+)"/g)].map((f) => f[1]);
        return JSON.stringify(EVENT);
      });
      const partial = /,\.\.\.\}$/.test(t);
      t = t
        .replace(/,\.\.\.\}$/, '}')
        .replace(/\{\.\.\.\}/g, JSON.stringify(EVENT))
        .replace(/\[\.\.\.\]/g, `[${JSON.stringify(EVENT)}]`)
        .replace(/, …\]/g, ']')
        .replace(/:N\b/g, ':1')
        .replace(/"<ISO>"/g, '"2026-12-05T11:00:00.000Z"');
      out.push({ direction, text, partial, eventFields, variants: alternatives(t).map((v) => JSON.parse(v) as Record<string, unknown>) });
    });
  }
  return out;
}

describe('docs/contract.md, "WebSocket"', () => {
  const examples = contractMessages();
  const typesIn = (d: 'client' | 'server') =>
    [...new Set(examples.filter((e) => e.direction === d).flatMap((e) => e.variants.map((v) => String(v.type))))].sort();

  it('the table is read (a parse that finds nothing would pass everything)', () => {
    expect(examples.length).toBeGreaterThanOrEqual(14);
  });

  it('names exactly the client message types of the schema and the types', () => {
    expect(typesIn('client')).toEqual(unionMembers('ClientMessage'));
    expect(typesIn('client')).toEqual(byType(CLIENT_TYPES));
  });

  it('names exactly the server message types of the schema and the types', () => {
    expect(typesIn('server')).toEqual(unionMembers('ServerMessage'));
    expect(typesIn('server')).toEqual(byType(SERVER_TYPES));
  });

  it('every example (each alternative) passes the schema; partial ones (",...") completed from the hand-written message', () => {
    const failures = examples.flatMap((e) =>
      e.variants.flatMap((v) => {
        const message = e.partial ? { ...json(VALID[v.type as Message['type']]), ...v } : v;
        const problems = (e.direction === 'client' ? clientMessageProblems : serverMessageProblems)(message);
        return problems.length ? [`${e.text}: ${JSON.stringify(v)}: ${problems.join('; ')}`] : [];
      }),
    );
    expect(failures).toEqual([]);
  });

  it("the pushed event's fields it lists are the session event's", () => {
    const lists = examples.flatMap((e) => (e.eventFields ? [e.eventFields.sort()] : []));
    expect(lists).toEqual([Object.keys(defs.SessionEvent.properties!).sort()]);
  });

  it('every value of an enumerated field appears in the contract, and no other', () => {
    // (message type, field) -> the values the contract's examples give it.
    const seen = new Map<string, Set<unknown>>();
    for (const e of examples)
      for (const v of e.variants)
        for (const [field, value] of Object.entries(v)) {
          const key = `${String(v.type)}.${field}`;
          seen.set(key, (seen.get(key) ?? new Set()).add(value));
        }
    const enumerated = Object.entries(defs)
      .filter(([name]) => name !== 'SessionEvent')
      .flatMap(([type, d]) =>
        Object.entries(d.properties ?? {})
          .filter(([, p]) => p.enum)
          .map(([field, p]) => [`${type}.${field}`, [...p.enum!].sort()] as const),
      );
    expect(enumerated.map(([key]) => key).sort()).toEqual(['authenticated.filter', 'catch_up_paused.reason', 'closing.reason', 'error.error']);
    for (const [key, values] of enumerated) expect([key, [...(seen.get(key) ?? [])].sort()]).toEqual([key, values]);
  });

  it('points at the types and the schema', () => {
    expect(section('WebSocket')).toContain('lambda/shared/protocol.ts');
    expect(section('WebSocket')).toContain('docs/schema/websocket.schema.json');
  });
});

describe('docs/contract.md, "Events"', () => {
  const events = section('Events');
  const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(events)![1]) as Record<string, unknown>;

  it('its example event passes the schema and names every field but `truncated`, which the contract describes elsewhere', () => {
    expect(canonicalEventProblems(example)).toEqual([]);
    expect(Object.keys(example).sort()).toEqual(
      Object.keys(CANONICAL_EVENT_SCHEMA.properties!)
        .filter((k) => k !== 'truncated')
        .sort(),
    );
    expect(CONTRACT).toContain('`truncated: true` is set');
  });

  it("its sources are the schema's", () => {
    const m = /`source` is the door's kind:\s+`([^`]+)`,\s+`([^`]+)`\s+or\s+`([^`]+)`/.exec(events);
    expect(m?.slice(1).sort()).toEqual([...CANONICAL_EVENT_SCHEMA.properties!.source.examples!].sort());
  });

  it("its type table covers the schema's known types, and names none it lacks", () => {
    const names = [...events.matchAll(/^\| (`[^|]+`(?:, `[^|]+`)*) \|/gm)].flatMap((m) => [...m[1].matchAll(/`([a-z_*]+)`/g)].map((n) => n[1]));
    expect(names).toContain('user_blocked');
    const known = CANONICAL_EVENT_SCHEMA.properties!.type.examples as string[];
    const matches = (name: string, type: string) => (name.endsWith('*') ? type.startsWith(name.slice(0, -1)) : type === name);
    expect(known.filter((t) => !names.some((n) => matches(n, t)))).toEqual([]);
    expect(names.filter((n) => !known.some((t) => matches(n, t)))).toEqual([]);
  });

  it('points at the schema', () => {
    expect(events).toContain('docs/schema/canonical-event.schema.json');
  });

  const HOSTILE: [string, Record<string, unknown>][] = [
    ['no data', { ...example, data: undefined }],
    ['data a string', { ...example, data: '{"a":1}' }],
    ['level 5', { ...example, level: 5 }],
    ['level "1"', { ...example, level: '1' }],
    ['a type with a space', { ...example, type: 'user blocked' }],
    ['an empty tenant', { ...example, tenant: '' }],
    ['a local date', { ...example, date: '2026-11-22 10:00:00' }],
    ['a date with an offset (the ingest writes UTC)', { ...example, received_at: '2026-11-22T11:00:05.123+01:00' }],
    ['truncated false', { ...example, truncated: false }],
    ['an unknown top-level field', { ...example, token: 'secret' }],
  ];
  it.each(HOSTILE)('refuses an event with %s', (_what, event) => {
    expect(canonicalEventProblems(json(event))).not.toEqual([]);
  });
  it('accepts a type and source a newer pipeline may add (a tolerant reader)', () => {
    expect(canonicalEventProblems({ ...example, type: 'passkey_added', source: 'webhook-v2' })).toEqual([]);
  });
});

// ---------------------------------------------------------------- messages made by the running code

/** Auth0 Log Stream records, written by hand, and the event type each must become. */
const RECORDS: [string, Record<string, unknown>, string][] = [
  [
    'slo',
    {
      log_id: '90020261205100000000000000000000000000000011',
      data: { type: 'slo', date: '2026-12-05T10:00:00Z', user_id: 'auth0|alice', session_id: 'sess-a', description: 'User successfully logged out' },
    },
    'logout',
  ],
  [
    'sapi block',
    {
      log_id: '90020261205100000000000000000000000000000012',
      data: {
        type: 'sapi',
        date: '2026-12-05T11:00:00+01:00',
        description: 'Update a User',
        details: { request: { method: 'patch', path: '/api/v2/users/auth0%7Cbob', body: { blocked: true } } },
      },
    },
    'user_blocked',
  ],
  [
    'sdu',
    { log_id: '90020261205100000000000000000000000000000013', data: { type: 'sdu', date: '2026-12-05T10:00:02.5Z', user_id: 'auth0|carol' } },
    'user_deleted',
  ],
  [
    'scp',
    { log_id: '90020261205100000000000000000000000000000014', data: { type: 'scp', date: '2026-12-05T10:00:03.000Z', user_id: 'auth0|dan' } },
    'password_changed',
  ],
  [
    's (not a session event)',
    { log_id: '90020261205100000000000000000000000000000015', data: { type: 's', date: '2026-12-05T10:00:04.000Z', user_id: 'auth0|erin' } },
    'login_succeeded',
  ],
];

describe('messages made by the running code pass the schemas', () => {
  const received = '2026-12-05T10:00:05.123Z';
  const { events } = parseLogStreamBody(JSON.stringify(RECORDS.map(([, r]) => r)), (r) => classifyLogRecord(r, 'acme', received));

  it("the ingest's canonical events of hand-written Auth0 records", () => {
    expect(events.map((e) => e.type)).toEqual(RECORDS.map(([, , type]) => type));
    for (const e of events) expect([e.id, canonicalEventProblems(json(e))]).toEqual([e.id, []]);
  });

  const session = () => events.filter((e) => (SESSION_EVENT_TYPES as readonly string[]).includes(e.type));
  const pushed = (): SessionEvent[] => session().map((e) => pushedEvent(toStoredEvent(e, new Date('2026-12-05T10:00:06.000Z'))));

  it('one event as the push sends it ({"type":"event"}, encodeMessage)', () => {
    const [first] = pushed();
    const message = JSON.parse(new TextDecoder().decode(encodeMessage({ type: 'event', event: first }))) as unknown;
    expect(serverMessageProblems(message)).toEqual([]);
    expect(message).toEqual({
      type: 'event',
      event: {
        id: RECORDS[0][1].log_id,
        type: 'logout',
        tenant: 'acme',
        user_id: 'auth0|alice',
        session_id: 'sess-a',
        date: '2026-12-05T10:00:00.000Z',
        log_type: 'slo',
      },
    });
  });

  it.each([[false], [true]])('frames packed by packFrames (replay %s), many events over several frames', (replay) => {
    const many = Array.from({ length: 400 }, (_, i) => pushed().map((e) => ({ ...e, id: `${e.id}-${i}` }))).flat();
    const frames = packFrames(many, { replay });
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) {
      const message = JSON.parse(f) as unknown;
      expect(serverMessageProblems(message)).toEqual([]);
      expect(messageProblems('events', message)).toEqual([]);
    }
    expect(frames.map((f) => (JSON.parse(f) as { events: unknown[] }).events.length).reduce((a, b) => a + b)).toBe(many.length);
  });

  it("the unknown_message answer the socket function and API Gateway's $default route send", () => {
    expect(serverMessageProblems(json(UNKNOWN_MESSAGE_ERROR))).toEqual([]);
  });
});
