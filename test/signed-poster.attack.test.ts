/**
 * Attack tests for the undici-based sender (lambda/shared/signed-poster.ts, commit ba9e9da): answers a
 * well-behaved gateway may give (1xx, 204, bodies, close-delimited), broken connections, a stale keep-alive
 * socket after a freeze, synchronous errors from dispatch, the wire host/path against the signature.
 * Servers are local (127.0.0.1); expected values are written by hand.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { signedPoster } from '../lambda/shared/signed-poster';
import { Sha256 } from './support/sha256';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const frame = () => new TextEncoder().encode('{"type":"event","event":{"id":"e1"}}');
const FRAME = '{"type":"event","event":{"id":"e1"}}';

const portOf = (s: net.Server) => (s.address() as AddressInfo).port;
const listen = (s: net.Server) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
const posterAt = (port: number, opts: { maxAttempts?: number; timeoutMs?: number; maxSockets?: number; path?: string } = {}) =>
  signedPoster({
    endpoint: `http://127.0.0.1:${port}${opts.path ?? '/v1'}`,
    region: 'us-east-1',
    credentials: () => creds,
    maxAttempts: opts.maxAttempts ?? 3,
    timeoutMs: opts.timeoutMs,
    maxSockets: opts.maxSockets,
  });

/** Settles within ms or reports 'still pending' (a promise that never settles would otherwise hang jest). */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p.then(
      (v) => ({ ok: v as unknown }),
      (e: Error) => ({ error: `${e.name}: ${e.message}` }),
    ),
    new Promise<{ pending: true }>((r) => setTimeout(() => r({ pending: true }), ms).unref()),
  ]);

/**
 * A raw TCP server: reads one request head + content-length body per request, records the body, and writes
 * `answer(n)` (n = 1-based request count) as raw bytes. `afterAnswer` may end/destroy the socket.
 */
function rawServer(answer: (n: number, socket: net.Socket) => string | null) {
  const bodies: string[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        const len = m ? Number(m[1]) : 0;
        if (buf.length < end + 4 + len) return;
        bodies.push(buf.subarray(end + 4, end + 4 + len).toString('utf8'));
        buf = buf.subarray(end + 4 + len);
        const out = answer(bodies.length, socket);
        if (out !== null && !socket.destroyed) socket.write(out);
      }
    });
  });
  return {
    server,
    bodies,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Runs `run` against a rawServer listening on 127.0.0.1, and closes the server whatever happens. */
async function withRawServer(answer: Parameters<typeof rawServer>[0], run: (s: ReturnType<typeof rawServer>) => Promise<void>) {
  const s = rawServer(answer);
  await listen(s.server);
  try {
    await run(s);
  } finally {
    s.close();
  }
}

describe('signedPoster attack: status lines and bodies', () => {
  // RFC 9110 15.2: "A client MUST be able to parse one or more 1xx responses received prior to a final
  // response, even if the client does not expect one." Node's http client (the sender before ba9e9da)
  // skips an unexpected 100 Continue; undici destroys the socket ('bad response') after the gateway has
  // the frame, and the sender posts it again (maxAttempts times) and then fails. A known limit, recorded
  // here as it behaves (API Gateway answers 100 only to `Expect: 100-continue`, which undici never
  // sends): nothing is lost (the failure closes the listener with missed_events, push.test.ts) and the
  // copies are the at-least-once case listeners already drop by id (docs/realtime.md).
  it('an unsolicited "100 Continue" before the final 200: undici refuses the answer; the frame goes 3 times, then the send fails', async () => {
    await withRawServer(
      () => 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
      async (s) => {
        const result = await within(posterAt(portOf(s.server))('abc', frame()), 5000);
        expect({ result, deliveries: s.bodies.length }).toEqual({ result: { error: 'PostError: POST /@connections failed: bad response' }, deliveries: 3 });
      },
    );
  });

  it('"103 Early Hints" then 200: sent once', async () => {
    await withRawServer(
      () => 'HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
      async (s) => {
        const result = await within(posterAt(portOf(s.server))('abc', frame()), 5000);
        expect({ result, deliveries: s.bodies.length }).toEqual({ result: { ok: 'sent' }, deliveries: 1 });
      },
    );
  });

  it('"102 Processing" then 410 with a JSON body: gone, not retried', async () => {
    const body = '{"message":"Gone"}';
    await withRawServer(
      () => `HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 410 Gone\r\ncontent-type: application/json\r\ncontent-length: 18\r\n\r\n${body}`,
      async (s) => {
        const result = await within(posterAt(portOf(s.server))('abc', frame()), 5000);
        expect({ result, deliveries: s.bodies.length }).toEqual({ result: { ok: 'gone' }, deliveries: 1 });
      },
    );
  });

  it('204 No Content (and a 204 that wrongly claims a content-length) : sent, the connection reused', async () => {
    await withRawServer(
      (n) => (n === 1 ? 'HTTP/1.1 204 No Content\r\n\r\n' : 'HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n'),
      async (s) => {
        const post = posterAt(portOf(s.server), { maxAttempts: 1 });
        expect(await within(post('a', frame()), 5000)).toEqual({ ok: 'sent' });
        expect(await within(post('b', frame()), 5000)).toEqual({ ok: 'sent' });
        expect(s.bodies).toEqual([FRAME, FRAME]);
      },
    );
  });

  it('410 with a 1 MB chunked body: gone (the body is drained, not kept), and the connection serves the next send', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    await withRawServer(
      (n) => {
        if (n === 1) {
          let out = 'HTTP/1.1 410 Gone\r\ntransfer-encoding: chunked\r\n\r\n';
          for (let i = 0; i < 16; i++) out += `${(64 * 1024).toString(16)}\r\n${chunk}\r\n`;
          return `${out}0\r\n\r\n`;
        }
        return 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
      },
      async (s) => {
        const post = posterAt(portOf(s.server), { maxAttempts: 1 });
        expect(await within(post('a', frame()), 5000)).toEqual({ ok: 'gone' });
        expect(await within(post('b', frame()), 5000)).toEqual({ ok: 'sent' });
        expect(s.bodies).toEqual([FRAME, FRAME]);
      },
    );
  });

  it('200 delimited by the connection closing (no content-length): sent, not retried', async () => {
    await withRawServer(
      (_n, socket) => {
        socket.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{"partial":');
        return null;
      },
      async (s) => {
        const result = await within(posterAt(portOf(s.server))('abc', frame()), 5000);
        expect({ result, deliveries: s.bodies.length }).toEqual({ result: { ok: 'sent' }, deliveries: 1 });
      },
    );
  });

  it('a 200 followed by stray bytes on the same connection: the next send goes out once on a fresh connection', async () => {
    await withRawServer(
      (n) => (n === 1 ? 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nGARBAGE' : 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'),
      async (s) => {
        const post = posterAt(portOf(s.server), { maxAttempts: 1 });
        expect(await within(post('a', frame()), 5000)).toEqual({ ok: 'sent' });
        await new Promise((r) => setTimeout(r, 50));
        expect(await within(post('b', frame()), 5000)).toEqual({ ok: 'sent' });
        expect(s.bodies).toEqual([FRAME, FRAME]);
      },
    );
  });

  it('403 with a body: PostError "HTTP 403", not retried', async () => {
    await withRawServer(
      () => 'HTTP/1.1 403 Forbidden\r\ncontent-length: 24\r\n\r\n{"message":"Forbidden"}\n',
      async (s) => {
        const result = await within(posterAt(portOf(s.server), { maxAttempts: 3 })('abc', frame()), 5000);
        expect(result).toEqual({ error: 'PostError: POST /@connections failed: HTTP 403' });
        expect(s.bodies.length).toBe(1);
      },
    );
  });
});

describe('signedPoster attack: broken connections settle', () => {
  it('the server closes the connection after reading the request, without an answer: fails (1 attempt), does not hang', async () => {
    await withRawServer(
      (_n, socket) => {
        socket.destroy();
        return null;
      },
      async (s) => {
        const result = await within(posterAt(portOf(s.server), { maxAttempts: 1, timeoutMs: 5000 })('abc', frame()), 3000);
        expect(result).toEqual({ error: 'PostError: POST /@connections failed: other side closed' });
      },
    );
  });

  it('the server closes mid-body (content-length 100, 10 bytes sent): fails (1 attempt), does not hang', async () => {
    await withRawServer(
      (_n, socket) => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789', () => socket.destroy());
        return null;
      },
      async (s) => {
        const result = await within(posterAt(portOf(s.server), { maxAttempts: 1, timeoutMs: 5000 })('abc', frame()), 3000);
        expect('error' in result).toBe(true);
        expect((result as { error: string }).error).toMatch(/^PostError: POST \/@connections failed: /);
      },
    );
  });

  it('headers then a stalled body: "request timed out" (bodyTimeout), within about a second of a 300 ms timeout', async () => {
    await withRawServer(
      (_n, socket) => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123');
        return null;
      },
      async (s) => {
        const t0 = Date.now();
        const result = await within(posterAt(portOf(s.server), { maxAttempts: 1, timeoutMs: 300 })('abc', frame()), 4000);
        expect(result).toEqual({ error: 'PostError: POST /@connections failed: request timed out' });
        expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
        expect(Date.now() - t0).toBeLessThan(5000);
      },
    );
  });

  it('connection refused: PostError after maxAttempts, settles quickly', async () => {
    const tmp = net.createServer();
    await listen(tmp);
    const port = portOf(tmp);
    await new Promise((r) => tmp.close(r));
    const result = await within(posterAt(port, { maxAttempts: 2 })('abc', frame()), 3000);
    expect(result).toEqual({ error: expect.stringMatching(/^PostError: POST \/@connections failed: .*ECONNREFUSED/) });
  });

  it('a session token with a newline (undici refuses the header synchronously): rejects with PostError, does not hang or throw out of dispatch', async () => {
    await withRawServer(
      () => 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
      async (s) => {
        const post = signedPoster({
          endpoint: `http://127.0.0.1:${portOf(s.server)}/v1`,
          region: 'us-east-1',
          credentials: () => ({ ...creds, sessionToken: 'tok\r\nx-injected: 1' }),
          maxAttempts: 2,
        });
        const result = await within(post('abc', frame()), 3000);
        expect(result).toEqual({ error: expect.stringMatching(/^PostError: POST \/@connections failed: invalid x-amz-security-token header/) });
        expect(s.bodies).toEqual([]);
      },
    );
  });

  it('a connection id that is not a string-safe value (lone surrogate): rejects, does not hang', async () => {
    await withRawServer(
      () => 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
      async (s) => {
        const result = await within(posterAt(portOf(s.server), { maxAttempts: 1 })('a\uD800b', frame()), 3000);
        expect('pending' in result).toBe(false);
      },
    );
  });
});

describe('signedPoster attack: keep-alive across a freeze (Lambda thaw)', () => {
  it('the gateway closed the idle connection while the process was frozen: the next send goes out once, without a failed attempt', async () => {
    const serverSockets = new Set<net.Socket>();
    const answer = (_n: number, socket: net.Socket) => {
      serverSockets.add(socket);
      return 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n';
    };
    await withRawServer(answer, async (s) => {
      // maxAttempts 1: a write to the dead socket would fail the send ('other side closed' / ECONNRESET).
      const post = posterAt(portOf(s.server), { maxAttempts: 1 });
      expect(await post('a', frame())).toBe('sent');
      await new Promise((r) => setTimeout(r, 20)); // idle on the pool
      // The gateway drops the idle connection (FIN now), and the process is frozen meanwhile: the FIN
      // waits in the kernel unread, as after a thaw.
      for (const c of serverSockets) c.destroy();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      const result = await within(post('b', frame()), 5000);
      expect({ result, bodies: s.bodies, connections: s.connections() }).toEqual({ result: { ok: 'sent' }, bodies: [FRAME, FRAME], connections: 2 });
    });
  });
});

describe('signedPoster attack: wire path and host against the signature', () => {
  const cases: [string, string, string][] = [
    ['stage with a trailing slash', '/v1/', '/v1/@connections/abc%3D'],
    ['only a slash', '/', '/@connections/abc%3D'],
    ['nothing after the port', '', '/@connections/abc%3D'],
    ['a query string on the endpoint', '/v1?x=1', '/v1/@connections/abc%3D'],
  ];
  it.each(cases)('%s: the path is %s, host is 127.0.0.1:port, the signature verifies', async (_n, path, expectedUrl) => {
    const seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url!, headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await listen(server);
    try {
      const port = portOf(server);
      expect(await posterAt(port, { path })('abc=', frame())).toBe('sent');
      expect(seen.map((r) => [r.url, r.headers.host])).toEqual([[expectedUrl, `127.0.0.1:${port}`]]);
      const r = seen[0];
      const sdk = new SignatureV4({ service: 'execute-api', region: 'us-east-1', credentials: creds, sha256: Sha256 as never });
      const amz = String(r.headers['x-amz-date']);
      const date = new Date(`${amz.slice(0, 4)}-${amz.slice(4, 6)}-${amz.slice(6, 8)}T${amz.slice(9, 11)}:${amz.slice(11, 13)}:${amz.slice(13, 15)}Z`);
      const signed = (await sdk.sign(
        { method: 'POST', protocol: 'http:', hostname: `127.0.0.1:${port}`, path: r.url, headers: { host: `127.0.0.1:${port}` }, body: r.body } as never,
        { signingDate: date },
      )) as unknown as { headers: Record<string, string> };
      expect(r.headers.authorization).toBe(signed.headers.authorization);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a frame that is a view into a larger buffer: only the view is sent, content-length and hash match it', async () => {
    const seen: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await listen(server);
    try {
      const whole = new TextEncoder().encode('XXXX{"type":"event"}YYYY');
      expect(await posterAt(portOf(server))('abc', whole.subarray(4, 20))).toBe('sent');
      expect(seen[0].body).toBe('{"type":"event"}');
      expect(seen[0].headers['content-length']).toBe('16');
      expect(seen[0].headers['x-amz-content-sha256']).toBe(createHash('sha256').update('{"type":"event"}').digest('hex'));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('signedPoster attack: no per-request growth', () => {
  it('300 sequential sends on maxSockets 1 reuse one keep-alive connection', async () => {
    await withRawServer(
      () => 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
      async (s) => {
        const post = posterAt(portOf(s.server), { maxAttempts: 1, maxSockets: 1 });
        for (let i = 0; i < 300; i++) expect(await post(`c${i}`, frame())).toBe('sent');
        expect(s.connections()).toBe(1);
        expect(s.bodies.length).toBe(300);
      },
    );
  });

  // Observed: with maxSockets > 1, a send started as soon as the previous one resolves finds that
  // connection not yet drained (undici re-arms it on setImmediate) and the pool opens a second one.
  // Bounded by maxSockets, so not a leak; recorded here as at most maxSockets.
  it('300 sequential then 20 concurrent sends on maxSockets 4: at most 4 connections, every frame once', async () => {
    await withRawServer(
      () => 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
      async (s) => {
        const post = posterAt(portOf(s.server), { maxAttempts: 1, maxSockets: 4 });
        for (let i = 0; i < 300; i++) expect(await post(`c${i}`, frame())).toBe('sent');
        expect(s.connections()).toBeLessThanOrEqual(4);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`d${i}`, frame())));
        expect(results).toEqual(Array(20).fill('sent'));
        expect(s.connections()).toBeLessThanOrEqual(4);
        expect(s.bodies.length).toBe(320);
      },
    );
  });
});
