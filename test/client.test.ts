/** The client against a local ws server speaking the protocol; the CLI argument parser; the middleware. */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { backoffDelay, SessionEventsClient, type SessionEvent } from '../client/session-events-client';
import { RevocationStore, rejectRevokedTokens, type RequestLike } from '../client/middleware';
import { parseArgs } from '../client/cli';

/** A protocol server over an in-memory log: replay after `since`, live fan-out, ping/pong. */
class FakeServer {
  readonly log: SessionEvent[] = [];
  readonly authMessages: Record<string, unknown>[] = [];
  readonly live = new Set<WebSocket>();
  answerPings = true;
  pings = 0;
  /** Replay one event before `since` too (a server-side duplicate the client must drop). */
  overlapReplay = false;
  /** Live events sent during replay, before caught_up (the client must hold them). */
  injectLiveDuringReplay?: SessionEvent;
  /** Live events sent in one {"type":"events"} frame during replay, before caught_up. */
  injectLiveFrameDuringReplay?: SessionEvent[];
  private wss!: WebSocketServer;
  private server!: http.Server;
  url = '';

  async start() {
    this.server = http.createServer();
    this.wss = new WebSocketServer({ server: this.server });
    this.wss.on('connection', (ws, req) => {
      const tenant = new URL(req.url ?? '/', 'http://x').searchParams.get('tenant');
      if (tenant !== 'dev') return ws.close(4004, 'unknown tenant');
      ws.on('message', (raw) => {
        const msg = JSON.parse(raw.toString());
        if (msg.type === 'ping') {
          this.pings++;
          if (this.answerPings) ws.send('{"type":"pong"}');
          return;
        }
        if (msg.type !== 'authenticate') return;
        this.authMessages.push(msg);
        if (msg.access_token !== 'good') {
          ws.send(JSON.stringify({ type: 'authentication_failed', message: 'bad token' }));
          return ws.close();
        }
        ws.send(JSON.stringify({ type: 'authenticated', sub: 'auth0|ops', filter: '*', expires_at: new Date(Date.now() + 3600e3).toISOString() }));
        this.live.add(ws);
        ws.on('close', () => this.live.delete(ws));
        if (msg.since) {
          let from = this.log.findIndex((e) => e.id === msg.since) + 1;
          if (this.overlapReplay) from = Math.max(0, from - 1);
          const replay = this.log.slice(from);
          replay.forEach((e, i) => {
            ws.send(JSON.stringify({ type: 'event', replay: true, event: e }));
            if (i === 0 && this.injectLiveDuringReplay) ws.send(JSON.stringify({ type: 'event', event: this.injectLiveDuringReplay }));
            if (i === 0 && this.injectLiveFrameDuringReplay) ws.send(JSON.stringify({ type: 'events', events: this.injectLiveFrameDuringReplay }));
          });
          ws.send(JSON.stringify({ type: 'caught_up', count: replay.length }));
        }
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  publish(e: SessionEvent) {
    this.log.push(e);
    for (const ws of this.live) ws.send(JSON.stringify({ type: 'event', event: e }));
  }

  /** Sends a raw message to every authenticated connection (and closes none). */
  sendAll(message: unknown) {
    for (const ws of this.live) ws.send(JSON.stringify(message));
  }

  /** Drops every connection abruptly (no close frame). */
  dropAll() {
    for (const ws of this.wss.clients) ws.terminate();
  }

  async stop() {
    this.dropAll();
    await new Promise<void>((r) => this.wss.close(() => r()));
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let n = 0;
const ev = (user = 'auth0|u', type: SessionEvent['type'] = 'logout'): SessionEvent => ({
  id: `e${++n}`,
  type,
  tenant: 'dev',
  user_id: user,
  session_id: 's',
  date: new Date().toISOString(),
  log_type: 'slo',
});
const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

let server: FakeServer;
let client: SessionEventsClient | undefined;
beforeEach(async () => {
  server = new FakeServer();
  await server.start();
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await server.stop();
});

const newClient = (extra: Partial<ConstructorParameters<typeof SessionEventsClient>[0]> = {}) =>
  // ws's class is a WebSocketConstructor as it is: no cast (issue 23; the browser's is too, test/package-client.e2e.test.ts).
  new SessionEventsClient({ url: server.url, tenant: 'dev', token: 'good', WebSocket, backoff: { initialMs: 20, maxMs: 100 }, ...extra });

describe('SessionEventsClient', () => {
  it('reconnects after the server drops it and resumes with since: no loss, no duplicates, in order', async () => {
    client = newClient();
    const got: string[] = [];
    const states: string[] = [];
    client.on('event', (e) => got.push(e.id));
    client.on('state', (s) => states.push(s));
    client.start();
    await until(() => client!.state === 'open');
    const first = [ev(), ev(), ev()];
    first.forEach((e) => server.publish(e));
    await until(() => got.length === 3);

    server.dropAll();
    // Stored while the client is away.
    const missed = [ev(), ev()];
    missed.forEach((e) => server.publish(e));
    server.overlapReplay = true; // the replay repeats the last event seen: the client must drop it
    await until(() => got.length === 5);
    const after = ev();
    server.publish(after);
    await until(() => got.length === 6);

    expect(got).toEqual([...first, ...missed, after].map((e) => e.id));
    expect(server.authMessages.map((m) => m.since)).toEqual([undefined, first[2].id]);
    expect(states).toEqual(expect.arrayContaining(['connecting', 'authenticating', 'open', 'waiting']));
    expect(client.lastEventId).toBe(after.id);
  });

  it('drops a frame pushed twice (a POST retried after its answer was lost, issue 19): each event once, in order', async () => {
    client = newClient();
    const got: string[] = [];
    client.on('event', (e) => got.push(e.id));
    client.start();
    await until(() => client!.state === 'open');
    const [a, b, c] = [ev(), ev(), ev()];
    server.sendAll({ type: 'event', event: a });
    server.sendAll({ type: 'event', event: a }); // the retried single-event frame
    server.sendAll({ type: 'events', events: [a, b] });
    server.sendAll({ type: 'events', events: [a, b] }); // the retried packed frame
    server.sendAll({ type: 'event', event: c });
    await until(() => got.includes(c.id));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([a.id, b.id, c.id]);
  });

  it('on closing "missed_events" reconnects by itself and resumes from resume_from: the missed event arrives', async () => {
    // Issue 10, item 8: the push could not send `missed` to this client; it says so with `closing`
    // (its DeleteConnection may fail or come late: this server never closes the socket).
    client = newClient();
    const got: string[] = [];
    client.on('event', (e) => got.push(e.id));
    client.start();
    await until(() => client!.state === 'open');
    const [a, b, missed, later] = [ev(), ev(), ev(), ev()];
    server.publish(a);
    server.publish(b);
    server.log.push(missed); // stored, but its send to this client failed
    server.publish(later); // sent fine (another stream shard)
    await until(() => got.length === 3);
    server.sendAll({
      type: 'closing',
      reason: 'missed_events',
      message: 'An event could not be sent to this connection: reconnect with since.',
      resume_from: b.id,
    });
    await until(() => got.includes(missed.id));
    expect(got).toEqual([a.id, b.id, later.id, missed.id]);
    expect(server.authMessages.map((m) => m.since)).toEqual([undefined, b.id]);
    expect(server.authMessages[1].seen).toEqual([a.id, b.id, later.id]);
  });

  it('holds live events that arrive during a replay until caught_up', async () => {
    const old = [ev(), ev(), ev()];
    old.forEach((e) => server.publish(e));
    server.injectLiveDuringReplay = ev();
    client = newClient({ since: old[0].id });
    const got: string[] = [];
    client.on('event', (e) => got.push(e.id));
    client.start();
    await until(() => got.length === 3);
    expect(got).toEqual([old[1].id, old[2].id, server.injectLiveDuringReplay.id]);
  });

  it('takes several events in one frame ({"type":"events"}) in order, drops one it already has', async () => {
    const [a, b, c] = [ev(), ev(), ev()];
    client = newClient();
    const got: string[] = [];
    client.on('event', (e) => got.push(e.id));
    const authenticated = new Promise((r) => client!.on('authenticated', r));
    client.start();
    await authenticated;
    await until(() => server.live.size === 1);
    server.sendAll({ type: 'events', events: [a, b] });
    server.sendAll({ type: 'events', events: [b, c] });
    await until(() => got.length === 3);
    expect(got).toEqual([a.id, b.id, c.id]);
  });

  it('holds a live {"type":"events"} frame that arrives during a replay until caught_up', async () => {
    const old = [ev(), ev(), ev()];
    old.forEach((e) => server.publish(e));
    const live = [ev(), ev()];
    server.injectLiveFrameDuringReplay = live;
    client = newClient({ since: old[0].id });
    const got: string[] = [];
    client.on('event', (e) => got.push(e.id));
    client.start();
    await until(() => got.length === 4);
    expect(got).toEqual([old[1].id, old[2].id, live[0].id, live[1].id]);
  });

  it('pings to stay under the idle timeout and reconnects when pongs stop', async () => {
    client = newClient({ pingIntervalMs: 30, pongTimeoutMs: 60 });
    let opens = 0;
    client.on('authenticated', () => opens++);
    client.start();
    await until(() => server.pings >= 3);
    expect(opens).toBe(1);
    server.answerPings = false;
    await until(() => opens >= 2, 3000);
  });

  it('stops after authentication_failed with a fixed token, and retries with a token function', async () => {
    client = newClient({ token: 'bad' });
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.message));
    client.start();
    await until(() => client!.state === 'closed');
    expect(errors[0]).toMatch(/Authentication failed: bad token/);
    client.close();

    let calls = 0;
    client = newClient({ token: async () => (++calls === 1 ? 'bad' : 'good') });
    client.start();
    await until(() => client!.state === 'open');
    expect(calls).toBe(2);
  });

  it("onSessionEnded fires for that user's session-ending events only", async () => {
    client = newClient();
    const ended: string[] = [];
    client.onSessionEnded('auth0|alice', (e) => ended.push(e.type));
    client.start();
    await until(() => client!.state === 'open');
    const events = [ev('auth0|alice', 'logout'), ev('auth0|bob', 'logout'), ev('auth0|alice', 'refresh_token_revoked'), ev('auth0|alice', 'user_blocked')];
    events.forEach((e) => server.publish(e));
    await until(() => client!.lastEventId === events[3].id);
    expect(ended).toEqual(['logout', 'user_blocked']);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, {}, () => 0))).toEqual([250, 500, 1000, 2000, 15000]);
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, {}, () => 0.999999))).toEqual([500, 1000, 2000, 4000, 30000]);
  });
});

describe('CLI arguments', () => {
  it('reads --key value, --key=value and flags', () => {
    expect(parseArgs(['--url', 'wss://x/v1', '--tenant=acme', '--json', '--token', 't'])).toEqual({
      url: 'wss://x/v1',
      tenant: 'acme',
      json: true,
      token: 't',
    });
  });
});

describe('rejectRevokedTokens', () => {
  const token = (claims: Record<string, unknown>) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;
  const run = async (mw: ReturnType<typeof rejectRevokedTokens>, req: RequestLike) => {
    const res = {
      statusCode: 200,
      headers: {} as Record<string, string>,
      body: '',
      setHeader(k: string, v: string) {
        this.headers[k] = v;
      },
      end(b?: string) {
        this.body = b ?? '';
      },
    };
    const passed = await new Promise<boolean>((resolve) => {
      res.end = function (b?: string) {
        this.body = b ?? '';
        resolve(false);
      };
      mw(req, res, () => resolve(true));
    });
    return { passed, res };
  };
  const iat = (d: Date) => Math.floor(d.getTime() / 1000);

  it("rejects a token issued before the user's latest logout / password change / block / deletion", async () => {
    const store = new RevocationStore();
    const logoutAt = new Date('2030-01-01T12:00:00.500Z');
    store.record({ type: 'logout', user_id: 'auth0|a', date: logoutAt.toISOString() });
    store.record({ type: 'login_succeeded' as never, user_id: 'auth0|a', date: '2030-01-02T00:00:00Z' });
    store.record({ type: 'password_changed', user_id: 'auth0|a', date: '2029-01-01T00:00:00Z' }); // older: ignored
    const mw = rejectRevokedTokens({ latestRevocation: store.lookup });

    const before = await run(mw, { headers: { authorization: `Bearer ${token({ sub: 'auth0|a', iat: iat(logoutAt) - 60 })}` } });
    expect(before.passed).toBe(false);
    expect(before.res.statusCode).toBe(401);
    expect(JSON.parse(before.res.body)).toMatchObject({ error: 'token_revoked' });
    expect(before.res.headers['www-authenticate']).toMatch(/invalid_token/);
    // Same second as the event: rejected (iat has one-second precision).
    expect((await run(mw, { headers: { authorization: `Bearer ${token({ sub: 'auth0|a', iat: iat(logoutAt) })}` } })).passed).toBe(false);
    expect((await run(mw, { headers: { authorization: `Bearer ${token({ sub: 'auth0|a', iat: iat(logoutAt) + 1 })}` } })).passed).toBe(true);
    expect((await run(mw, { headers: { authorization: `Bearer ${token({ sub: 'auth0|other', iat: 1 })}` } })).passed).toBe(true);
  });

  it('takes claims from req.auth, passes requests without a token, refuses claims without iat, and fails closed on lookup errors', async () => {
    const mw = rejectRevokedTokens({ latestRevocation: async () => '2030-01-01T00:00:00Z' });
    expect((await run(mw, { headers: {}, auth: { payload: { sub: 'a', iat: iat(new Date('2029-12-31T00:00:00Z')) } } })).passed).toBe(false);
    expect((await run(mw, { headers: {}, auth: { sub: 'a', iat: iat(new Date('2030-01-01T00:00:01Z')) } })).passed).toBe(true);
    expect((await run(mw, { headers: {} })).passed).toBe(true);
    expect((await run(mw, { headers: { authorization: `Bearer ${token({ sub: 'a' })}` } })).res.statusCode).toBe(401);
    // Another scheme (Basic, an API key) is no access token: passed on, as requests without one.
    expect((await run(mw, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).passed).toBe(true);
    const broken = rejectRevokedTokens({
      latestRevocation: async () => {
        throw new Error('db down');
      },
    });
    const r = await run(broken, { headers: { authorization: `Bearer ${token({ sub: 'a', iat: 1 })}` } });
    expect(r.res.statusCode).toBe(503);
  });

  it('is fed by the client', async () => {
    client = newClient();
    const store = new RevocationStore();
    store.attach(client);
    client.start();
    await until(() => client!.state === 'open');
    const e = ev('auth0|fed', 'user_deleted');
    server.publish(e);
    await until(() => store.lookup('auth0|fed') !== undefined);
    expect(store.lookup('auth0|fed')!.toISOString()).toBe(e.date);
  });
});

describe('catch-up in parts and packed events messages (issue 18, item 2)', () => {
  it('delivers `events` messages, answers catch_up_paused with continue_catch_up after its last_id, holds live events until caught_up: each once, in order', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    const ev = (id: string) => ({ id, type: 'logout', tenant: 'dev', user_id: 'auth0|u', date: '2026-01-01T00:00:00.000Z', log_type: 'slo' });
    const continues: unknown[] = [];
    wss.on('connection', (ws) =>
      ws.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        if (m.type === 'authenticate') {
          ws.send(JSON.stringify({ type: 'authenticated', sub: 'auth0|ops', filter: '*', expires_at: new Date(Date.now() + 3600e3).toISOString() }));
          ws.send(JSON.stringify({ type: 'events', replay: true, events: [ev('r1'), ev('r2')] }));
          ws.send(JSON.stringify({ type: 'event', event: ev('live1') })); // live, during the replay
          ws.send(JSON.stringify({ type: 'catch_up_paused', count: 2, last_id: 'r2', reason: 'size_cap' }));
        }
        if (m.type === 'continue_catch_up') {
          continues.push(m);
          ws.send(JSON.stringify({ type: 'events', events: [ev('live2'), ev('live1')] })); // live (live1 again: a duplicate)
          ws.send(JSON.stringify({ type: 'events', replay: true, events: [ev('r3')] }));
          ws.send(JSON.stringify({ type: 'caught_up', count: 3, last_id: 'r3' }));
        }
      }),
    );
    const port = (wss.address() as { port: number }).port;
    const client = new SessionEventsClient({ url: `ws://127.0.0.1:${port}`, tenant: 'dev', token: 't', since: 'r0' });
    const got: string[] = [];
    client.on('event', (e) => got.push(e.id));
    client.start();
    const deadline = Date.now() + 5000;
    while (got.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    client.close();
    wss.close();
    expect(continues).toEqual([{ type: 'continue_catch_up', after: 'r2' }]);
    expect(got).toEqual(['r1', 'r2', 'r3', 'live1', 'live2']);
  });
});

describe('which WebSocket the client uses (issue 23: the package in browsers and in Node)', () => {
  type Loaded = typeof import('../client/session-events-client');
  /** The client module loaded afresh, with `ws` as given (a module, or missing as when it is not installed). */
  const loadWith = (ws: 'installed' | 'missing'): Loaded => {
    let mod!: Loaded;
    jest.isolateModules(() => {
      if (ws === 'missing') {
        jest.doMock('ws', () => {
          throw Object.assign(new Error("Cannot find module 'ws'"), { code: 'MODULE_NOT_FOUND' });
        });
      }
      mod = require('../client/session-events-client');
    });
    return mod;
  };
  const withGlobalWebSocket = <T>(value: unknown, fn: () => T): T => {
    const had = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    Object.defineProperty(globalThis, 'WebSocket', { value, configurable: true, writable: true });
    try {
      return fn();
    } finally {
      if (had) Object.defineProperty(globalThis, 'WebSocket', had);
      else delete (globalThis as { WebSocket?: unknown }).WebSocket;
    }
  };
  afterEach(() => jest.dontMock('ws'));

  // [where, global WebSocket, ws package, expected]
  const table: [string, 'a global' | 'none', 'installed' | 'missing', string][] = [
    ['a browser (or Node 22+), ws not installed', 'a global', 'missing', 'the global WebSocket'],
    ['a browser with ws installed too', 'a global', 'installed', 'the global WebSocket'],
    ['Node 20 with ws installed', 'none', 'installed', 'the ws package'],
    ['Node 20 without ws', 'none', 'missing', 'an error naming npm install ws'],
  ];
  it.each(table)('%s (global WebSocket: %s, ws: %s) -> %s', (_where, global, ws, expected) => {
    const FakeGlobal = function FakeGlobalWebSocket() {
      /* a browser's */
    };
    const mod = loadWith(ws);
    const pick = () => {
      try {
        const Ctor = mod.defaultWebSocket() as unknown;
        return Ctor === FakeGlobal ? 'the global WebSocket' : Ctor === require('ws') ? 'the ws package' : `something else: ${String(Ctor)}`;
      } catch (e) {
        return /npm install ws/.test((e as Error).message) && /WebSocket. option/.test((e as Error).message)
          ? 'an error naming npm install ws'
          : `another error: ${(e as Error).message}`;
      }
    };
    expect(global === 'a global' ? withGlobalWebSocket(FakeGlobal, pick) : withGlobalWebSocket(undefined, pick)).toBe(expected);
  });

  it('start() throws that error at once (before: an unhandled rejection later, and the client sat in "connecting")', () => {
    const mod = loadWith('missing');
    const client = new mod.SessionEventsClient({ url: 'ws://127.0.0.1:9', tenant: 'dev', token: 't' });
    withGlobalWebSocket(undefined, () =>
      expect(() => client.start()).toThrow(/no global WebSocket here \(Node before 22\) and the `ws` package is not installed: run `npm install ws`/),
    );
    expect(client.state).toBe('idle');
  });
});
