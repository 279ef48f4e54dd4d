/**
 * The WebSocket contract's schema (docs/schema/websocket.schema.json) against the socket handler, from
 * the hostile client's side: messages the schema accepts that the handler refuses or mishandles, and
 * messages the handler accepts that the schema forbids. For each message, the schema's verdict and
 * the handler's answer are written by hand. The handler runs against DynamoDB Local.
 */
import { MAX_TOKEN_LENGTH } from '../lambda/shared/tokens';
import { handleSocket, type SocketDeps } from '../lambda/socket/handler';
import { messageProblems, WEBSOCKET_SCHEMA } from '../harness/protocol-schema';
import { EMULATOR_CREDENTIALS } from '../local/emulators';
import { socketTestBed } from './support/socket-bed';

Object.assign(process.env, EMULATOR_CREDENTIALS);

const TENANT = 'proto';
const bed = socketTestBed(TENANT, 'atkproto');
let token = '';

beforeAll(async () => {
  token = await bed.auth0.token({ sub: 'auth0|ops', permissions: ['listen:events'] });
});

const socketDeps = (): SocketDeps => bed.socketDeps(() => [TENANT], { seamMs: 20, settleMs: 10 });

let nextId = 0;
const route = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => ({ requestContext: { routeKey, connectionId }, ...extra });
const sent = (id: string) => (bed.mgmt.messages.get(id) ?? []) as Record<string, any>[];

/** Connects, sends `body` (raw JSON) on the authenticate route, returns the types of what the server sent. */
async function answer(body: string): Promise<string[]> {
  const id = `proto-${++nextId}`;
  const deps = socketDeps();
  await handleSocket(route('$connect', id, { queryStringParameters: { tenant: TENANT } }) as never, deps);
  await handleSocket(route('authenticate', id, { body }) as never, deps);
  return sent(id).map((m) => (m.type === 'error' ? `error:${m.error}` : m.type));
}

const EMOJI_300 = '\u{1F600}'.repeat(300); // 300 code points (the schema's count), 600 UTF-16 units, 1,200 UTF-8 bytes

describe('messages the schema accepts: the handler must not refuse them for their shape', () => {
  // [case, message, the handler's answers] (the schema's verdict for each: valid).
  const accepted: [string, () => Record<string, unknown>, string[]][] = [
    [
      'since of 300 emoji (300 characters for the schema)',
      () => ({ type: 'authenticate', access_token: token, since: EMOJI_300 }),
      ['authenticated', 'error:unknown_since', 'caught_up'],
    ],
    [
      'a seen id of 300 emoji',
      () => ({ type: 'authenticate', access_token: token, since: 'ev-x', seen: [EMOJI_300] }),
      ['authenticated', 'error:unknown_since', 'caught_up'],
    ],
    [
      'since "constructor" (a prototype key as an id)',
      () => ({ type: 'authenticate', access_token: token, since: 'constructor' }),
      ['authenticated', 'error:unknown_since', 'caught_up'],
    ],
    [
      'since "__proto__" and seen ["__proto__", "hasOwnProperty"]',
      () => ({ type: 'authenticate', access_token: token, since: '__proto__', seen: ['__proto__', 'hasOwnProperty'] }),
      ['authenticated', 'error:unknown_since', 'caught_up'],
    ],
    ['seen without since (nothing to replay)', () => ({ type: 'authenticate', access_token: token, seen: ['a', 'b'] }), ['authenticated']],
  ];
  it.each(accepted)('%s', async (_, message, expected) => {
    expect(messageProblems('authenticate', message())).toEqual([]);
    expect(await answer(JSON.stringify(message()))).toEqual(expected);
  });
});

describe('messages the schema forbids', () => {
  it('an access_token of 20,000 characters: the handler refuses it (longer than 16,384), and the schema says so too', async () => {
    const message = { type: 'authenticate', access_token: 'a'.repeat(20_000) };
    expect(await answer(JSON.stringify(message))).toEqual(['authentication_failed']);
    expect(sent(`proto-${nextId}`)[0].message).toMatch(/longer than 16384 characters/);
    expect(messageProblems('authenticate', message)).not.toEqual([]);
    // One limit, one value: the schema's and the handler's (16,384, written here by hand).
    expect(WEBSOCKET_SCHEMA.definitions?.authenticate.properties?.access_token.maxLength).toBe(16_384);
    expect(MAX_TOKEN_LENGTH).toBe(16_384);
  });

  it('__proto__ carrying since and seen: no replay is smuggled in (JSON.parse makes it an own key), no prototype polluted; the schema refuses the extra key', async () => {
    const raw = `{"type":"authenticate","access_token":"${token}","__proto__":{"since":"ev-1","seen":["ev-0"],"polluted":true}}`;
    expect(messageProblems('authenticate', JSON.parse(raw))).not.toEqual([]);
    expect(await answer(raw)).toEqual(['authenticated']); // no caught_up: since did not reach the handler
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).since).toBeUndefined();
  });

  // Accepted by the handler though the schema forbids them: the handler is a tolerant reader (contract:
  // additions only), and each is answered as the message without the offending part. Recorded, not defects.
  const tolerated: [string, string, string[]][] = [
    ['since: null (read as no since)', '{"type":"authenticate","access_token":"TOKEN","since":null}', ['authenticated']],
    [
      "an extra field naming another tenant (the tenant is the connection's)",
      '{"type":"authenticate","access_token":"TOKEN","tenant":"other"}',
      ['authenticated'],
    ],
  ];
  it.each(tolerated)('tolerated: %s', async (_, raw, expected) => {
    const body = raw.replace('TOKEN', token);
    expect(messageProblems('authenticate', JSON.parse(body))).not.toEqual([]);
    expect(await answer(body)).toEqual(expected);
  });
});
