/**
 * WebSocket abuse against the local runtime (shared by test/websocket-abuse.test.ts and
 * `npm run prove -- --only ws`): malformed and binary frames, an oversized frame, unknown types,
 * authenticating twice, ten authenticates with `since` on one connection, an 11th connection of one user,
 * other tenants' tokens, expired and junk tokens, a ping flood, an
 * unauthenticated listener. Each must be answered or closed cleanly, and a control listener
 * connected throughout must still receive a session event posted afterwards, exactly once.
 *
 * A second local tenant `acme` (own RS256 key, JWKS on loopback) is configured through TENANTS, so
 * that cross-tenant tokens are checked without reaching the Internet.
 */
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import { WebSocket } from 'ws';
import { devAudience, devIssuer, devKey, devTenantConfig, devToken } from '../local/dev-tenant';
import type { LocalPipeline } from '../local/pipeline';

/**
 * What a check exercises. `deployed`: the deployed handlers (socket Lambda: $connect, authenticate,
 * $disconnect; push Lambda), run unchanged by the local runtime. `emulator`: only the local gateway
 * emulator (local/websocket-gateway.ts), standing in for what API Gateway itself does in AWS: route
 * selection on `$request.body.type`, the constant mock answers to `ping` and `$default`, and the frame
 * size limit. For those, the deployed part is the stack's configuration (route selection expression, mock
 * integrations and their answers), asserted on the template by test/session-events-socket.test.ts;
 * API Gateway's own behaviour is not tested here.
 */
export type AbuseScope = 'deployed' | 'emulator';
export interface AbuseResult {
  name: string;
  expected: string;
  observed: string;
  ok: boolean;
  scope: AbuseScope;
}

/** The checks answered by the gateway emulator alone (see AbuseScope). */
export const GATEWAY_EMULATOR_ONLY: ReadonlySet<string> = new Set([
  'malformed frame (not JSON)',
  'binary frame',
  'oversized frame (200 KB)',
  'unknown message type',
  'type is not a string',
  'route key injection ($connect)',
]);
const scopeOf = (name: string): AbuseScope => (GATEWAY_EMULATOR_ONLY.has(name) || name.startsWith('ping flood') ? 'emulator' : 'deployed');

interface Probe {
  frames: any[];
  closeCode?: number;
  closed: Promise<number>;
  ws: WebSocket;
  opened: Promise<boolean>;
}

function probe(url: string, tenant: string): Probe {
  const ws = new WebSocket(`${url}/?tenant=${encodeURIComponent(tenant)}`);
  const p: Partial<Probe> = { frames: [], ws };
  p.opened = new Promise((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('error', () => resolve(false));
    ws.once('unexpected-response', () => resolve(false));
  });
  p.closed = new Promise((resolve) =>
    ws.once('close', (code) => {
      p.closeCode = code;
      resolve(code);
    }),
  );
  ws.on('message', (d) => {
    try {
      p.frames!.push(JSON.parse(d.toString()));
    } catch {
      p.frames!.push({ raw: d.toString().slice(0, 100) });
    }
  });
  ws.on('error', () => undefined);
  return p as Probe;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

/** A second tenant with its own key and a loopback JWKS. */
async function acmeTenant(): Promise<{
  server: Server;
  issuer: string;
  audience: string;
  sign: (claims: Record<string, unknown>, opts?: { issuer?: string; audience?: string }) => Promise<string>;
}> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'acme-local', alg: 'RS256', use: 'sig' };
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const audience = 'https://events.acme.example';
  const sign = (claims: Record<string, unknown>, opts: { issuer?: string; audience?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'acme-local' })
      .setIssuer(opts.issuer ?? issuer)
      .setAudience(opts.audience ?? audience)
      .setSubject(String(claims.sub ?? 'auth0|acme-user'))
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
  return { server, issuer, audience, sign };
}

/** A token signed by the dev tenant's key with any issuer and audience (what a forger holding the dev key could make). */
async function devSigned(claims: Record<string, unknown>, issuer: string, audience: string, expiresIn = '1h'): Promise<string> {
  const key = await devKey();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(String(claims.sub ?? 'auth0|forger'))
    .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
    .setExpirationTime(expiresIn)
    .sign(await importJWK(key.privateJwk, 'RS256'));
}

export async function wsAbuse(
  p: LocalPipeline,
  opts: { pingFlood?: number; postSessionEvent: (user: string) => Promise<string>; apiKey?: string },
): Promise<AbuseResult[]> {
  const results: AbuseResult[] = [];
  const record = (name: string, expected: string, observed: string, ok: boolean) => results.push({ name, expected, observed, ok, scope: scopeOf(name) });
  const acme = await acmeTenant();
  const previousTenants = process.env.TENANTS;
  process.env.TENANTS = JSON.stringify([devTenantConfig(p.port), { name: 'acme', audience: acme.audience, issuer: acme.issuer }]);
  const url = p.wsUrl;
  const auth = (token: string, extra: Record<string, unknown> = {}) => JSON.stringify({ type: 'authenticate', access_token: token, ...extra });
  const admin = await devToken({ sub: 'auth0|abuse-admin', scope: 'listen:events', port: p.port });
  try {
    // The control listener: connected through all the abuse.
    const control = probe(url, 'dev');
    await control.opened;
    control.ws.send(auth(admin));
    await waitFor(() => control.frames.some((f) => f.type === 'authenticated'), 10_000);

    const answeredOrClosed = async (name: string, send: (ws: WebSocket) => void, expected: string, check: (pr: Probe) => boolean, authenticate = false) => {
      const pr = probe(url, 'dev');
      if (!(await pr.opened)) {
        record(name, expected, 'could not connect', false);
        return;
      }
      if (authenticate) {
        pr.ws.send(auth(admin));
        await waitFor(() => pr.frames.some((f) => f.type === 'authenticated'), 10_000);
      }
      const before = pr.frames.length;
      send(pr.ws);
      await waitFor(() => pr.frames.length > before || pr.closeCode !== undefined, 5_000);
      // A check that expects a close waits for it (under load the close may follow the answer by more
      // than a moment); the others give a late close 100 ms to show.
      if (/\bclosed?\b/.test(expected) && !/kept/.test(expected)) await waitFor(() => pr.closeCode !== undefined, 5_000);
      else await sleep(100);
      const got = pr.frames.slice(before);
      const observed = `${got.length ? `answered ${JSON.stringify(got[0]).slice(0, 120)}` : 'no answer'}${pr.closeCode !== undefined ? `; closed ${pr.closeCode}` : '; still open'}`;
      record(name, expected, observed, check({ ...pr, frames: got }));
      pr.ws.terminate();
    };
    const isError = (pr: Probe) => pr.frames.some((f) => f.type === 'error' || typeof f.message === 'string');

    await answeredOrClosed(
      'malformed frame (not JSON)',
      (ws) => ws.send('{"type": "authenticate", oops'),
      'an error frame, connection kept',
      (pr) => isError(pr) && pr.closeCode === undefined,
    );
    await answeredOrClosed(
      'binary frame',
      (ws) => ws.send(Buffer.from([0, 255, 1, 254, 2, 253])),
      'an error frame or a clean close',
      (pr) => isError(pr) || pr.closeCode !== undefined,
    );
    await answeredOrClosed(
      'oversized frame (200 KB)',
      (ws) => ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(200 * 1024) })),
      'closed 1009 (message too big)',
      (pr) => pr.closeCode === 1009,
    );
    await answeredOrClosed(
      'unknown message type',
      (ws) => ws.send(JSON.stringify({ type: 'subscribe', channel: '*' })),
      'an error frame, connection kept',
      (pr) => isError(pr) && pr.closeCode === undefined,
    );
    await answeredOrClosed(
      'type is not a string',
      (ws) => ws.send(JSON.stringify({ type: { $ne: 1 } })),
      'an error frame, connection kept',
      (pr) => isError(pr) && pr.closeCode === undefined,
    );
    await answeredOrClosed(
      'route key injection ($connect)',
      (ws) => ws.send(JSON.stringify({ type: '$connect' })),
      'an error frame, connection kept',
      (pr) => isError(pr) && pr.closeCode === undefined,
    );
    await answeredOrClosed(
      'authenticate with a junk token',
      (ws) => ws.send(auth('not-a-jwt')),
      'authentication_failed, closed',
      (pr) => pr.frames.some((f) => f.type === 'authentication_failed') && pr.closeCode !== undefined,
    );
    await answeredOrClosed(
      'authenticate with an expired token',
      async (ws) =>
        ws.send(
          auth(
            await devSigned({ permissions: ['listen:events'] }, devIssuer(p.port), devAudience(), (Math.floor(Date.now() / 1000) - 60) as unknown as string),
          ),
        ),
      'authentication_failed, closed',
      (pr) => pr.frames.some((f) => f.type === 'authentication_failed') && pr.closeCode !== undefined,
    );
    await answeredOrClosed(
      'authenticate with an alg=none token',
      (ws) =>
        ws.send(
          auth(
            `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', permissions: ['listen:events'], iss: devIssuer(p.port), aud: devAudience(), exp: 9999999999 })).toString('base64url')}.`,
          ),
        ),
      'authentication_failed, closed',
      (pr) => pr.frames.some((f) => f.type === 'authentication_failed') && pr.closeCode !== undefined,
    );

    // Another tenant's tokens.
    const crossTenant = async (name: string, tenant: string, token: string) => {
      const pr = probe(url, tenant);
      if (!(await pr.opened)) {
        record(name, 'authentication_failed, closed', 'could not connect', false);
        return;
      }
      pr.ws.send(auth(token));
      await waitFor(() => pr.closeCode !== undefined, 10_000);
      const ok = pr.frames.some((f) => f.type === 'authentication_failed') && !pr.frames.some((f) => f.type === 'authenticated') && pr.closeCode !== undefined;
      record(
        name,
        'authentication_failed, closed',
        `${pr.frames.map((f) => f.type).join(',')}; closed ${pr.closeCode} (${String(pr.frames.find((f) => f.message)?.message ?? '').slice(0, 90)})`,
        ok,
      );
    };
    await crossTenant('acme token (acme-signed) on ?tenant=dev', 'dev', await acme.sign({ sub: 'auth0|acme-user', permissions: ['listen:events'] }));
    await crossTenant(
      'token claiming acme, signed by the dev key, on ?tenant=acme',
      'acme',
      await devSigned({ permissions: ['listen:events'] }, acme.issuer, acme.audience, '1h'),
    );
    await crossTenant('dev token on ?tenant=acme', 'acme', admin);
    {
      // Control: a genuine acme token on acme is accepted (the rejections above are not vacuous).
      const pr = probe(url, 'acme');
      await pr.opened;
      pr.ws.send(auth(await acme.sign({ sub: 'auth0|acme-user', permissions: ['listen:events'] })));
      const ok = await waitFor(() => pr.frames.some((f) => f.type === 'authenticated'), 10_000);
      record('control: acme token on ?tenant=acme', 'authenticated', pr.frames.map((f) => f.type).join(',') || 'nothing', ok);
      pr.ws.terminate();
    }

    // Authenticate twice, then an event: answered both times and the event arrives once.
    const twice = probe(url, 'dev');
    await twice.opened;
    twice.ws.send(auth(admin));
    await waitFor(() => twice.frames.filter((f) => f.type === 'authenticated').length >= 1, 10_000);
    twice.ws.send(auth(admin));
    await waitFor(() => twice.frames.filter((f) => f.type === 'authenticated' || f.type === 'error').length >= 2 || twice.closeCode !== undefined, 10_000);

    // An unauthenticated listener: must receive no event.
    const silent = probe(url, 'dev');
    await silent.opened;

    // Ping flood on an authenticated connection: every ping answered, in order, nothing else disturbed.
    const flood = opts.pingFlood ?? 1000;
    const pinger = probe(url, 'dev');
    await pinger.opened;
    pinger.ws.send(auth(admin));
    await waitFor(() => pinger.frames.some((f) => f.type === 'authenticated'), 10_000);
    const t0 = Date.now();
    for (let i = 0; i < flood; i++) pinger.ws.send('{"type":"ping"}');
    const allPongs = await waitFor(() => pinger.frames.filter((f) => f.type === 'pong').length >= flood || pinger.closeCode !== undefined, 60_000);
    const pongs = pinger.frames.filter((f) => f.type === 'pong').length;
    record(
      `ping flood (${flood} pings)`,
      `${flood} pongs or a clean close`,
      `${pongs} pongs in ${Date.now() - t0} ms${pinger.closeCode !== undefined ? `; closed ${pinger.closeCode}` : ''}`,
      allPongs && (pongs === flood || pinger.closeCode !== undefined),
    );

    // Re-authentication amplification (issue 19.1): ten authenticates with since on one connection start one replay.
    {
      const pr = probe(url, 'dev');
      await pr.opened;
      const token = await devToken({ sub: 'auth0|abuse-replayer', scope: 'listen:events:self', port: p.port });
      for (let i = 0; i < 10; i++) pr.ws.send(auth(token, { since: 'abuse-no-such-event' }));
      await waitFor(() => pr.frames.filter((f) => f.type === 'authenticated').length >= 10 || pr.closeCode !== undefined, 20_000);
      await sleep(500);
      const replays = pr.frames.filter((f) => f.type === 'caught_up').length;
      record(
        'ten authenticates with since on one connection',
        'ten answered, one replay (one caught_up)',
        `${pr.frames.filter((f) => f.type === 'authenticated').length} authenticated; ${replays} replay(s)${pr.closeCode !== undefined ? `; closed ${pr.closeCode}` : ''}`,
        replays === 1 && pr.closeCode === undefined,
      );
      pr.ws.terminate();
    }
    // One user opening an 11th live connection (the default limit is 10 per user).
    {
      const token = await devToken({ sub: 'auth0|abuse-hoarder', scope: 'listen:events:self', port: p.port });
      const conns: Probe[] = [];
      for (let i = 0; i < 11; i++) {
        const pr = probe(url, 'dev');
        await pr.opened;
        pr.ws.send(auth(token));
        await waitFor(() => pr.frames.length > 0 || pr.closeCode !== undefined, 10_000);
        conns.push(pr);
      }
      const last = conns[10];
      await waitFor(() => last.closeCode !== undefined, 5_000);
      const accepted = conns.slice(0, 10).filter((c) => c.frames[0]?.type === 'authenticated').length;
      const refusal = last.frames.find((f) => f.type === 'authentication_failed');
      record(
        'an 11th live connection of one user',
        'ten authenticated; the 11th authentication_failed naming the limit, closed',
        `${accepted} authenticated; 11th: ${refusal ? String(refusal.message).slice(0, 90) : last.frames.map((f) => f.type).join(',') || 'nothing'}${last.closeCode !== undefined ? `; closed ${last.closeCode}` : ''}`,
        accepted === 10 && /at most 10 live connections per user/.test(String(refusal?.message)) && last.closeCode !== undefined,
      );
      for (const c of conns) c.ws.terminate();
    }

    // After all that: a session event reaches the control listener, the double-authenticated one and the pinger exactly once, and not the unauthenticated one.
    const id = await opts.postSessionEvent('auth0|abuse-target');
    const got = (pr: Probe) => pr.frames.filter((f) => f.type === 'event' && f.event?.id === id).length;
    await waitFor(() => got(control) >= 1 && got(twice) >= 1 && got(pinger) >= 1, 15_000);
    await sleep(1000);
    record('control listener still served after the abuse', 'the event once', `${got(control)} time(s)`, got(control) === 1);
    record(
      'authenticated twice',
      'both answered; the event once',
      `${twice.frames.filter((f) => f.type === 'authenticated').length} authenticated; ${twice.frames.filter((f) => f.type === 'error').length} errors; event ${got(twice)} time(s)${twice.closeCode !== undefined ? `; closed ${twice.closeCode}` : ''}`,
      twice.frames.filter((f) => f.type === 'authenticated' || f.type === 'error').length >= 2 && got(twice) === 1,
    );
    record('pinger still served after the flood', 'the event once', `${got(pinger)} time(s)`, got(pinger) === 1);
    record('unauthenticated listener', 'receives nothing', `${silent.frames.length} frame(s)`, silent.frames.length === 0);
    for (const pr of [control, twice, silent, pinger]) pr.ws.terminate();
  } finally {
    process.env.TENANTS = previousTenants;
    await new Promise<void>((r) => acme.server.close(() => r()));
  }
  return results;
}
