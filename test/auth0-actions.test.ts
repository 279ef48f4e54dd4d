/**
 * The Auth0 Action files (auth0/actions/*.js) against a real local HTTP server that plays the
 * ingest endpoint `POST /v1/{tenant}/actions/{trigger}` and validates every request it receives.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

type ActionFn = (event: Record<string, unknown>, api: Record<string, unknown>) => Promise<unknown>;
const { onExecutePostUserRegistration } = require('../auth0/actions/post-user-registration.js') as { onExecutePostUserRegistration: ActionFn };
const { onExecutePostChangePassword } = require('../auth0/actions/post-change-password.js') as { onExecutePostChangePassword: ActionFn };

const API_KEY = 'k3y-Sup3rS3cret-0123456789abcdef';
const USER_KEYS = ['user_id', 'email', 'email_verified', 'username', 'name', 'created_at', 'updated_at', 'phone_number'];
const TOP_KEYS = ['occurred_at', 'user', 'connection', 'client', 'request', 'transaction_id'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: Record<string, any>;
}
type Reply = { status: number; body?: unknown } | 'hang';

let server: http.Server;
let baseUrl: string;
let received: Received[] = [];
let problems: string[] = [];
let replies: Reply[] = [];
let logSpy: jest.SpyInstance;

function hasKeyDeep(value: unknown, key: string): boolean {
  if (!value || typeof value !== 'object') return false;
  return Object.entries(value).some(([k, v]) => k === key || hasKeyDeep(v, key));
}

/** What the ingest endpoint would reject; collected so that every test can assert none. */
function validate(r: Received): string[] {
  const p: string[] = [];
  if (r.method !== 'POST') p.push(`method ${r.method}`);
  if (!/^\/v1\/[a-z0-9-]+(@[a-z0-9-]+)?\/actions\/(post-user-registration|post-change-password)$/.test(r.path)) p.push(`path ${r.path}`);
  if (r.headers['x-api-key'] !== API_KEY) p.push('x-api-key');
  if (!String(r.headers['content-type']).startsWith('application/json')) p.push(`content-type ${r.headers['content-type']}`);
  const b = r.body;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return [...p, 'body is not a JSON object'];
  for (const k of Object.keys(b)) if (!TOP_KEYS.includes(k)) p.push(`unexpected field ${k}`);
  if (typeof b.occurred_at !== 'string' || !ISO.test(b.occurred_at) || new Date(b.occurred_at).toISOString() !== b.occurred_at)
    p.push('occurred_at not ISO 8601');
  if (!b.user || typeof b.user.user_id !== 'string') p.push('user.user_id missing');
  for (const k of Object.keys(b.user ?? {})) if (!USER_KEYS.includes(k)) p.push(`unexpected user field ${k}`);
  if (b.connection && Object.keys(b.connection).some((k) => !['id', 'name', 'strategy'].includes(k))) p.push('connection fields');
  if (b.client && Object.keys(b.client).some((k) => !['client_id', 'name'].includes(k))) p.push('client fields');
  if (b.request && Object.keys(b.request).some((k) => !['ip', 'user_agent', 'hostname'].includes(k))) p.push('request fields');
  if (hasKeyDeep(b, 'password')) p.push('password field sent');
  if (r.raw.includes(API_KEY)) p.push('api key in body');
  return p;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, any> = {};
      try {
        body = JSON.parse(raw);
      } catch {
        problems.push('body is not JSON');
      }
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body };
      received.push(r);
      const p = validate(r);
      problems.push(...p);
      const reply: Reply = p.length
        ? { status: 400, body: { error: 'bad_request', message: p.join('; ') } }
        : (replies.shift() ?? { status: 202, body: { id: 'evt-1' } });
      if (reply === 'hang') return; // never answer: the Action must time out
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body ?? { error: 'x', message: 'y' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  problems = [];
  replies = [];
  logSpy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  logSpy.mockRestore();
});

const logLines = (): string[] => logSpy.mock.calls.map((c: unknown[]) => c.map(String).join(' '));

function secrets(extra: Record<string, string> = {}): Record<string, string> {
  return { EVENTS_API_URL: baseUrl, EVENTS_API_KEY: API_KEY, ...extra };
}

/** A Post User Registration event as Auth0 builds it (database connection, Universal Login signup). */
function registrationEvent(sec: Record<string, string> = secrets()): Record<string, unknown> {
  return {
    tenant: { id: 'acme' },
    connection: { id: 'con_fpe5kj482KO1eOzQ', name: 'Username-Password-Authentication', strategy: 'auth0', metadata: {} },
    client: { client_id: 'xLmZ7Xq0uCoLxgqgPzIbqHhLPGyQWmKp', name: 'Acme Web', metadata: {} },
    request: {
      ip: '203.0.113.7',
      hostname: 'acme.auth0.com',
      language: 'en',
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      geoip: { cityName: 'Dublin', countryCode: 'IE', countryName: 'Ireland', latitude: 53.3, longitude: -6.2 },
    },
    transaction: { id: 'tx_1f2e3d4c5b6a' },
    user: {
      user_id: 'auth0|66a1b2c3d4e5f60718293a4b',
      email: 'jane.doe@example.com',
      email_verified: false,
      username: 'janedoe',
      name: 'jane.doe@example.com',
      nickname: 'jane.doe',
      picture: 'https://s.gravatar.com/avatar/abc.png',
      phone_number: '+353861234567',
      created_at: '2025-06-01T10:00:00.000Z',
      updated_at: '2025-06-01T10:00:00.000Z',
      app_metadata: {},
      user_metadata: { plan: 'trial' },
      tenant: 'acme',
      // Auth0 does not give the password to this trigger; it is here to prove it is never forwarded.
      password: 'Hunter2!Hunter2!',
    },
    secrets: sec,
  };
}

/** A Post Change Password event (no client in this trigger; user without username or phone). */
function changePasswordEvent(sec: Record<string, string> = secrets()): Record<string, unknown> {
  return {
    tenant: { id: 'acme' },
    connection: { id: 'con_fpe5kj482KO1eOzQ', name: 'Username-Password-Authentication', strategy: 'auth0', metadata: {} },
    request: { ip: '198.51.100.23', hostname: 'login.acme.example', language: 'en', user_agent: 'curl/8.5.0' },
    user: {
      user_id: 'auth0|66a1b2c3d4e5f60718293a4b',
      email: 'jane.doe@example.com',
      email_verified: true,
      created_at: '2025-06-01T10:00:00.000Z',
      updated_at: '2025-07-15T08:30:00.000Z',
      app_metadata: {},
      user_metadata: {},
      password: 'N3wPassw0rd!',
    },
    secrets: sec,
  };
}

describe('post-user-registration Action', () => {
  test('sends one validated request with the documented body', async () => {
    const before = Date.now();
    await expect(onExecutePostUserRegistration(registrationEvent(), {})).resolves.toBeUndefined();
    expect(problems).toEqual([]);
    expect(received).toHaveLength(1);
    const r = received[0];
    expect(r.path).toBe('/v1/acme/actions/post-user-registration');
    expect(r.body).toEqual({
      occurred_at: expect.stringMatching(ISO),
      user: {
        user_id: 'auth0|66a1b2c3d4e5f60718293a4b',
        email: 'jane.doe@example.com',
        email_verified: false,
        username: 'janedoe',
        name: 'jane.doe@example.com',
        phone_number: '+353861234567',
        created_at: '2025-06-01T10:00:00.000Z',
        updated_at: '2025-06-01T10:00:00.000Z',
      },
      connection: { id: 'con_fpe5kj482KO1eOzQ', name: 'Username-Password-Authentication', strategy: 'auth0' },
      client: { client_id: 'xLmZ7Xq0uCoLxgqgPzIbqHhLPGyQWmKp', name: 'Acme Web' },
      request: {
        ip: '203.0.113.7',
        hostname: 'acme.auth0.com',
        user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      },
      transaction_id: 'tx_1f2e3d4c5b6a',
    });
    const at = Date.parse(r.body.occurred_at);
    expect(at).toBeGreaterThanOrEqual(before - 1);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(r.raw).not.toContain('Hunter2');
    expect(r.raw).not.toContain('user_metadata');
    expect(logLines()).toEqual([]);
  });

  test('503 then 202: retried once with the identical body', async () => {
    replies = [{ status: 503, body: { error: 'unavailable', message: 'retry' } }];
    const started = Date.now();
    await onExecutePostUserRegistration(registrationEvent(), {});
    expect(problems).toEqual([]);
    expect(received).toHaveLength(2);
    expect(received[1].raw).toBe(received[0].raw);
    expect(received[1].path).toBe(received[0].path);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // waited ~300 ms before the retry
    expect(logLines()).toEqual([]);
  });

  test('429 then 202: retried once', async () => {
    replies = [{ status: 429, body: { error: 'throttled', message: 'slow down' } }];
    await onExecutePostUserRegistration(registrationEvent(), {});
    expect(problems).toEqual([]);
    expect(received).toHaveLength(2);
    expect(received[1].raw).toBe(received[0].raw);
    expect(logLines()).toEqual([]);
  });

  test('two 503s: two requests, no throw, one log line without key or body', async () => {
    replies = [{ status: 503 }, { status: 503 }];
    await expect(onExecutePostUserRegistration(registrationEvent(), {})).resolves.toBeUndefined();
    expect(problems).toEqual([]);
    expect(received).toHaveLength(2);
    expect(received[1].raw).toBe(received[0].raw);
    const lines = logLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('503');
    expect(lines[0]).toContain('post-user-registration');
    expect(lines[0]).not.toContain(API_KEY);
    expect(lines[0]).not.toContain('jane.doe');
    expect(lines[0]).not.toContain('occurred_at');
  });

  test('400: not retried, logged', async () => {
    replies = [{ status: 400, body: { error: 'bad_request', message: 'nope' } }];
    await expect(onExecutePostUserRegistration(registrationEvent(), {})).resolves.toBeUndefined();
    expect(received).toHaveLength(1);
    const lines = logLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('400');
    expect(lines[0]).not.toContain(API_KEY);
  });

  test('timeout: the server never answers, two attempts, no throw', async () => {
    replies = ['hang', 'hang'];
    const started = Date.now();
    await expect(onExecutePostUserRegistration(registrationEvent(secrets({ EVENTS_TIMEOUT_MS: '200' })), {})).resolves.toBeUndefined();
    const elapsed = Date.now() - started;
    expect(problems).toEqual([]);
    expect(received).toHaveLength(2);
    expect(received[1].raw).toBe(received[0].raw);
    expect(elapsed).toBeGreaterThanOrEqual(600); // 200 + ~300 + 200
    expect(elapsed).toBeLessThan(3000);
    const lines = logLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/timeout/i);
    expect(lines[0]).not.toContain(API_KEY);
  });

  test('connection refused: retried, logged, no throw', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(onExecutePostUserRegistration(registrationEvent(secrets({ EVENTS_API_URL: `http://127.0.0.1:${port}/v1` })), {})).resolves.toBeUndefined();
    const lines = logLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('not delivered');
    expect(lines[0]).not.toContain(API_KEY);
  });

  test('missing secrets: nothing sent, logged, no throw', async () => {
    await expect(onExecutePostUserRegistration(registrationEvent({ EVENTS_API_URL: baseUrl }), {})).resolves.toBeUndefined();
    expect(received).toHaveLength(0);
    expect(logLines()).toHaveLength(1);
    expect(logLines()[0]).toContain('EVENTS_API_KEY');
  });
});

describe('post-change-password Action', () => {
  test('sends one validated request; only the fields present', async () => {
    await expect(onExecutePostChangePassword(changePasswordEvent(), {})).resolves.toBeUndefined();
    expect(problems).toEqual([]);
    expect(received).toHaveLength(1);
    const r = received[0];
    expect(r.path).toBe('/v1/acme/actions/post-change-password');
    expect(r.body).toEqual({
      occurred_at: expect.stringMatching(ISO),
      user: {
        user_id: 'auth0|66a1b2c3d4e5f60718293a4b',
        email: 'jane.doe@example.com',
        email_verified: true,
        created_at: '2025-06-01T10:00:00.000Z',
        updated_at: '2025-07-15T08:30:00.000Z',
      },
      connection: { id: 'con_fpe5kj482KO1eOzQ', name: 'Username-Password-Authentication', strategy: 'auth0' },
      request: { ip: '198.51.100.23', hostname: 'login.acme.example', user_agent: 'curl/8.5.0' },
    });
    expect(r.raw).not.toContain('N3wPassw0rd');
    expect(logLines()).toEqual([]);
  });

  test('EVENTS_TENANT override and a trailing slash in EVENTS_API_URL', async () => {
    await onExecutePostChangePassword(changePasswordEvent(secrets({ EVENTS_API_URL: `${baseUrl}/`, EVENTS_TENANT: 'acme@eu' })), {});
    expect(problems).toEqual([]);
    expect(received).toHaveLength(1);
    expect(received[0].path).toBe('/v1/acme@eu/actions/post-change-password');
  });

  test('503 then 502: two identical requests, no throw, log line without key', async () => {
    replies = [{ status: 503 }, { status: 502 }];
    await expect(onExecutePostChangePassword(changePasswordEvent(), {})).resolves.toBeUndefined();
    expect(received).toHaveLength(2);
    expect(received[1].raw).toBe(received[0].raw);
    const lines = logLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('502');
    expect(lines[0]).not.toContain(API_KEY);
  });
});

test('the shared code is identical in both Action files', () => {
  const shared = (file: string): string => {
    const src = fs.readFileSync(`${__dirname}/../auth0/actions/${file}`, 'utf8');
    const start = src.indexOf('// ---- shared auth0-events code');
    const end = src.indexOf('// ---- end of shared code ----');
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    return src.slice(start, end);
  };
  expect(shared('post-change-password.js')).toBe(shared('post-user-registration.js'));
});
