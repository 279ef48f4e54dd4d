/**
 * The local runtime runs each handler as Lambda does (issue 18, item 2): under its function's timeout
 * from the synthesized stack, with a context counting down from it, and stopped at the timeout; and
 * LOCAL_WS_LATENCY_MS delays every WebSocket management call.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { invokeWithTimeout, LambdaTimeoutError } from '../local/lambda-context';
import { localConfig, synthesized, wsLatencyMs } from '../local/pipeline';
import { WebSocketGateway } from '../local/websocket-gateway';

describe('invokeWithTimeout', () => {
  let server: http.Server;
  let url = '';
  let hits = 0;
  beforeAll(async () => {
    server = http.createServer((_, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const get = () =>
    new Promise<void>((resolve, reject) =>
      http
        .get(url, (r) => {
          r.resume();
          r.on('end', resolve);
        })
        .on('error', reject),
    );

  it('fails an invocation past its timeout like Lambda, and the handler reaches nothing afterwards', async () => {
    hits = 0;
    const remaining: number[] = [];
    let errorsAfterKill = 0;
    const started = Date.now();
    // A handler that calls out every 50 ms for 2 s (a catch-up that does not watch its budget).
    let handlerStarted = 0;
    const slow = async (_: unknown, ctx: { getRemainingTimeInMillis(): number }) => {
      handlerStarted = Date.now();
      remaining.push(ctx.getRemainingTimeInMillis());
      for (let i = 0; i < 40; i++) {
        try {
          await get();
        } catch {
          errorsAfterKill++;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return 'finished';
    };
    await expect(invokeWithTimeout('socket', 500, slow, {})).rejects.toThrow(new LambdaTimeoutError('socket', 500));
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(Date.now() - started).toBeLessThan(1500);
    // The budget counts from the invocation: what is left when the handler starts is 500 ms less the
    // start-up delay (a few ms, more on a loaded machine), never more than 500.
    expect(remaining[0]).toBeLessThanOrEqual(500);
    expect(remaining[0]).toBeGreaterThanOrEqual(500 - (handlerStarted - started) - 20);
    // A request already on the wire at the timeout may still arrive (as from a real Lambda); none starts after.
    // 300 ms for those to land: 50 ms was once too short in CI (a request made before the kill arrived later).
    await new Promise((r) => setTimeout(r, 300));
    const atKill = hits;
    expect(atKill).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 600));
    // Still running in the background (Node cannot kill it), but every request it tries is refused.
    expect(hits).toBe(atKill);
    expect(errorsAfterKill).toBeGreaterThan(0);
  });

  it('returns the answer of an invocation within its timeout; a concurrent timed-out one does not affect it', async () => {
    const quick = async () => {
      await get();
      return 'ok';
    };
    const slow = async () => {
      await new Promise((r) => setTimeout(r, 300));
      await get();
      return 'late';
    };
    const [a, b] = await Promise.allSettled([
      invokeWithTimeout('a', 100, slow, {}),
      invokeWithTimeout(
        'b',
        1000,
        async () => {
          await new Promise((r) => setTimeout(r, 200));
          return quick();
        },
        {},
      ),
    ]);
    expect(a.status).toBe('rejected');
    expect(b).toEqual({ status: 'fulfilled', value: 'ok' });
  });
});

describe('function timeouts from the synthesized stack', () => {
  // Hand-written: what lib/ sets (and why).
  const expected: [string, number][] = [
    ['lambda/socket/handler.ts', 29_000], // API Gateway's integration timeout
    ['lambda/push/handler.ts', 120_000],
    ['lambda/closer/handler.ts', 30_000],
    ['lambda/ingest/handler.ts', 28_000],
    ['lambda/events-query/handler.ts', 28_000],
  ];
  it.each(expected)('%s runs under %i ms', (entry, ms) => {
    expect(timeouts().byEntry.get(entry)).toBe(ms);
  });
  it('knows every registry subscriber consumer', () => {
    expect([...timeouts().bySubscriber.keys()].length).toBeGreaterThan(0);
  });
  let cached: ReturnType<typeof synthesized>['timeouts'] | undefined;
  const timeouts = () => (cached ??= synthesized(localConfig(3000).config).timeouts);
});

describe('LOCAL_WS_LATENCY_MS', () => {
  it.each([
    [undefined, undefined, 0],
    [undefined, '', 0],
    [undefined, '15', 15],
    [5, '15', 5],
  ] as const)('option %p, env %p -> %p ms', (option, env, ms) => {
    expect(wsLatencyMs(option, env)).toBe(ms);
  });
  it.each(['-1', 'abc', '1.5', '600000'])('refuses %p with the variable named', (env) => {
    expect(() => wsLatencyMs(undefined, env)).toThrow(/LOCAL_WS_LATENCY_MS must be a whole number of milliseconds/);
  });

  it('delays every management call by that many ms', async () => {
    const gw = new WebSocketGateway({ port: 0, routes: {}, managementLatencyMs: 120 });
    await gw.start();
    try {
      for (const method of ['POST', 'GET', 'DELETE']) {
        const t = Date.now();
        const res = await fetch(`${gw.endpoint}/@connections/nobody`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(res.status).toBe(410);
        expect(Date.now() - t).toBeGreaterThanOrEqual(115);
      }
    } finally {
      await gw.stop();
    }
  });
});
