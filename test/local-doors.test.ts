/**
 * Issue 19 item 3: the local runtime's doors, tried as a hostile web page in the developer's browser
 * would: a DNS-rebinding page (its requests carry `Host: evil.example:<port>`) and a plain cross-origin
 * page (a "simple" text/plain POST with an `Origin`, which a browser sends without a preflight).
 * Expected answers are written by hand; the control requests (the SDK's, the loopback names) show the
 * doors still open for the real callers.
 */
import './support/quiet-logs';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import type { LocalPipeline } from '../local/pipeline';
import { WebSocketGateway } from '../local/websocket-gateway';
import { RawListener, startRuntime, tokenFor, until } from '../harness/local-runtime';

interface Answer {
  status: number;
  body: any;
  upgraded: boolean;
}

/** One raw HTTP request to 127.0.0.1:port with exactly these headers (Host included, or none at all). */
function raw(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string; upgrade?: boolean }): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.upgrade)
    Object.assign(headers, {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
    });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => {
        let body: any = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, body, upgraded: false });
      });
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '', upgraded: true });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const forged = JSON.stringify({ type: 'event', event: { id: 'forged-1', type: 'user_deleted', tenant: 'dev', user_id: 'auth0|victim' } });

describe('the local WebSocket gateway (the management endpoint and the upgrade)', () => {
  let gateway: WebSocketGateway;
  let port: number;
  let listener: WebSocket;
  let connectionId: string;
  const received: string[] = [];

  beforeAll(async () => {
    gateway = new WebSocketGateway({ port: 0, routes: { $connect: async () => ({ statusCode: 200, body: '' }), $disconnect: async () => undefined } });
    await gateway.start();
    port = Number(new URL(gateway.endpoint).port);
    listener = new WebSocket(gateway.url);
    listener.on('message', (d) => received.push(d.toString()));
    await new Promise((r) => listener.once('open', r));
    connectionId = await until(async () => [...gateway.connections.keys()][0], 5000, "the listener's connection");
  });
  afterAll(async () => {
    listener?.terminate();
    await gateway?.stop();
  });

  test('a foreign Host or any Origin is refused with 403 and a JSON reason; nothing reaches the listener', async () => {
    const post = (headers: Record<string, string>) =>
      raw(port, {
        method: 'POST',
        path: `/v1/@connections/${encodeURIComponent(connectionId)}`,
        headers: { 'content-type': 'text/plain', ...headers },
        body: forged,
      });
    const cases: [string, Promise<Answer>, number, string | undefined][] = [
      ['POST, rebinding page (Host evil.example)', post({ host: `evil.example:${port}` }), 403, 'foreign_host'],
      ['POST, cross-origin page (Host 127.0.0.1, Origin evil)', post({ host: `127.0.0.1:${port}`, origin: 'http://evil.example' }), 403, 'browser_request'],
      ["POST, the local page's own origin", post({ host: `127.0.0.1:${port}`, origin: 'http://127.0.0.1:3000' }), 403, 'browser_request'],
      ['POST, Origin "null" (sandboxed frame)', post({ host: `localhost:${port}`, origin: 'null' }), 403, 'browser_request'],
      // Node's HTTP server itself answers an HTTP/1.1 request without Host with a bare 400.
      ['POST, no Host at all', post({}), 400, undefined],
      ['POST, a name ending in the loopback address', post({ host: `127.0.0.1.evil.example:${port}` }), 403, 'foreign_host'],
      ['POST, loopback name on another port', post({ host: `127.0.0.1:${port + 1}` }), 403, 'foreign_host'],
      [
        'GET connection info, rebinding page',
        raw(port, { path: `/v1/@connections/${encodeURIComponent(connectionId)}`, headers: { host: `evil.example:${port}` } }),
        403,
        'foreign_host',
      ],
      [
        'DELETE connection, cross-origin page',
        raw(port, {
          method: 'DELETE',
          path: `/v1/@connections/${encodeURIComponent(connectionId)}`,
          headers: { host: `127.0.0.1:${port}`, origin: 'https://evil.example' },
        }),
        403,
        'browser_request',
      ],
      [
        'WebSocket upgrade, rebinding page',
        raw(port, { path: '/?tenant=dev', headers: { host: `evil.example:${port}`, origin: `http://evil.example:${port}` }, upgrade: true }),
        403,
        'foreign_host',
      ],
    ];
    const observed = [];
    for (const [name, answer] of cases) {
      const a = await answer;
      observed.push([name, a.status, a.body?.error]);
      if (a.status === 403) expect(typeof a.body?.message).toBe('string');
    }
    expect(observed).toEqual(cases.map(([name, , status, error]) => [name, status, error]));
    await sleep(200);
    expect(received).toEqual([]);
    expect(listener.readyState).toBe(WebSocket.OPEN);
  });

  test('the real callers still get through: the AWS SDK (no Origin), and the loopback names localhost and [::1]', async () => {
    const client = new ApiGatewayManagementApiClient({
      endpoint: gateway.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('{"type":"from-sdk"}') }));
    const viaLocalhost = await raw(port, {
      method: 'POST',
      path: `/v1/@connections/${encodeURIComponent(connectionId)}`,
      headers: { host: `localhost:${port}` },
      body: '{"type":"from-localhost"}',
    });
    const upgrade = await raw(port, { path: '/?tenant=dev', headers: { host: `[::1]:${port}` }, upgrade: true });
    expect([viaLocalhost.status, upgrade.status, upgrade.upgraded]).toEqual([200, 101, true]);
    await until(async () => received.length >= 2, 5000, 'both messages');
    expect(received).toEqual(['{"type":"from-sdk"}', '{"type":"from-localhost"}']);
  });
});

describe("the local runtime (npm start's code): REST :PORT and WebSocket :WS_PORT", () => {
  let p: LocalPipeline;
  beforeAll(async () => {
    p = await startRuntime();
  }, 120_000);
  afterAll(async () => {
    await p?.stop();
  });

  test('GET /local/state and the page answer only the loopback names of the REST port', async () => {
    const listener = new RawListener(p.wsUrl);
    const authenticated = await listener.open(await tokenFor(p, 'auth0|doors-1', 'listen:events'));
    expect(authenticated.type).toBe('authenticated');
    try {
      const rebound = await raw(p.port, { path: '/local/state', headers: { host: `evil.example:${p.port}` } });
      const page = await raw(p.port, { path: '/', headers: { host: `evil.example:${p.port}` } });
      const ingest = await raw(p.port, {
        method: 'POST',
        path: '/dev/log-stream',
        headers: { host: `evil.example:${p.port}`, 'x-api-key': 'local-test-key-0123456789', 'content-type': 'application/json' },
        body: '[]',
      });
      expect([
        [rebound.status, rebound.body.error],
        [page.status, page.body.error],
        [ingest.status, ingest.body.error],
      ]).toEqual([
        [403, 'foreign_host'],
        [403, 'foreign_host'],
        [403, 'foreign_host'],
      ]);
      expect(JSON.stringify(rebound.body)).not.toMatch(/doors-1|connectionId/);
      for (const host of [`127.0.0.1:${p.port}`, `localhost:${p.port}`]) {
        const own = await raw(p.port, { path: '/local/state', headers: { host } });
        expect([host, own.status, own.body.listeners.some((l: { sub?: string }) => l.sub === 'auth0|doors-1')]).toEqual([host, 200, true]);
      }
    } finally {
      listener.close();
    }
  });

  test('a cross-origin text/plain POST to the management endpoint is refused and no listener receives the forged user_deleted', async () => {
    const listener = new RawListener(p.wsUrl);
    await listener.open(await tokenFor(p, 'auth0|doors-2', 'listen:events'));
    try {
      const state = await raw(p.port, { path: '/local/state', headers: { host: `127.0.0.1:${p.port}` } });
      const id = state.body.listeners.find((l: { sub?: string }) => l.sub === 'auth0|doors-2').connectionId as string;
      const path = `/v1/@connections/${encodeURIComponent(id)}`;
      const crossOrigin = await raw(p.wsPort, {
        method: 'POST',
        path,
        headers: { host: `127.0.0.1:${p.wsPort}`, origin: 'http://evil.example', 'content-type': 'text/plain' },
        body: forged,
      });
      const rebound = await raw(p.wsPort, { method: 'POST', path, headers: { host: `evil.example:${p.wsPort}`, 'content-type': 'text/plain' }, body: forged });
      expect([
        [crossOrigin.status, crossOrigin.body.error],
        [rebound.status, rebound.body.error],
      ]).toEqual([
        [403, 'browser_request'],
        [403, 'foreign_host'],
      ]);
      await sleep(300);
      expect(listener.frames.filter((f) => f.type !== 'authenticated')).toEqual([]);
    } finally {
      listener.close();
    }
  });
});
