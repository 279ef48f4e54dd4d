/** The push Lambda's SigV4 sender: signatures identical to the AWS SDK's signer; status handling. */
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestSigner, signedPoster, signRequest, uriEncode } from '../lambda/shared/signed-poster';
import { Sha256 } from './support/sha256';

/** A sender to a local server standing in for API Gateway's /v1 management endpoint, with fixed test credentials. */
const posterTo = (server: http.Server, opts: { maxAttempts: number; timeoutMs?: number }) =>
  signedPoster({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    region: 'us-east-1',
    credentials: () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
    ...opts,
  });

describe('signRequest', () => {
  it.each([
    ['plain id', 'L0SM9cOFvHcCIhw='],
    ['id with +/', 'ab+c/d=='],
  ])('matches the SDK signer (%s), with and without a session token', async (_n, connectionId) => {
    const body = JSON.stringify({ type: 'event', event: { id: 'x' } });
    for (const credentials of [
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token/with+chars=' },
    ]) {
      const date = new Date('2026-03-04T05:06:07.089Z');
      const host = 'abc123.execute-api.eu-west-1.amazonaws.com';
      const path = `/v1/@connections/${uriEncode(connectionId)}`;
      const sdk = new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials, sha256: Sha256 as never });
      const signed = await sdk.sign({ method: 'POST', protocol: 'https:', hostname: host, path, headers: { host }, body } as never, { signingDate: date });
      const ours = signRequest({
        method: 'POST',
        host,
        path,
        region: 'eu-west-1',
        credentials,
        date,
        payloadHash: createHash('sha256').update(body).digest('hex'),
      });
      expect(ours.authorization).toBe((signed as unknown as { headers: Record<string, string> }).headers.authorization);
      expect(ours['x-amz-date']).toBe('20260304T050607Z');
    }
  });
});

describe('requestSigner (cached date strings and signing key)', () => {
  it('matches the SDK signer on every request of one signer across seconds, a day change, a rotated key and session tokens', async () => {
    const host = 'abc123.execute-api.eu-west-1.amazonaws.com';
    const sign = requestSigner({ method: 'POST', host, region: 'eu-west-1' });
    const body = '{"type":"events","events":[]}';
    const hash = createHash('sha256').update(body).digest('hex');
    const a = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    const b = { accessKeyId: 'ASIAROTATED', secretAccessKey: 'other-secret', sessionToken: 'tok/1+=' };
    const b2 = { ...b, sessionToken: 'tok-2' };
    const cases: [string, typeof a, string][] = [
      ['2026-03-04T23:59:59.001Z', a, 'c1'],
      ['2026-03-04T23:59:59.999Z', a, 'c2='],
      ['2026-03-05T00:00:00.000Z', a, 'c3'], // a new day: a new signing key
      ['2026-03-05T00:00:00.500Z', b, 'c4'], // rotated credentials with a session token
      ['2026-03-05T00:00:01.000Z', b2, 'c5'], // a new token, same key
      ['2026-03-05T00:00:02.000Z', a, 'c/6'],
    ];
    for (const [iso, credentials, id] of cases) {
      const date = new Date(iso);
      const path = `/v1/@connections/${uriEncode(id)}`;
      const sdk = new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials, sha256: Sha256 as never });
      const signed = (await sdk.sign({ method: 'POST', protocol: 'https:', hostname: host, path, headers: { host }, body } as never, {
        signingDate: date,
      })) as unknown as { headers: Record<string, string> };
      const ours = sign(path, hash, credentials, date);
      expect([iso, ours.authorization]).toEqual([iso, signed.headers.authorization]);
      expect(ours['x-amz-date']).toBe(signed.headers['x-amz-date']);
      expect(ours['x-amz-security-token']).toBe(credentials === a ? undefined : (credentials as typeof b).sessionToken);
    }
  });
});

describe('signedPoster', () => {
  it('sends, reports 410 as gone, retries 429/5xx, and fails on 403', async () => {
    const seen: { url: string; auth?: string; body: string }[] = [];
    let flaky = 2;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url!, auth: req.headers.authorization, body });
        if (req.url!.endsWith('gone')) return void res.writeHead(410).end();
        if (req.url!.endsWith('forbidden')) return void res.writeHead(403).end();
        if (req.url!.endsWith('hang')) return; // never answers
        if (req.url!.endsWith('flaky') && flaky-- > 0) return void res.writeHead(flaky ? 429 : 503).end();
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const post = posterTo(server, { maxAttempts: 3 });
    const data = new TextEncoder().encode('{"type":"event"}');
    try {
      expect(await post('abc=', data)).toBe('sent');
      expect(seen[0]).toMatchObject({ url: '/v1/@connections/abc%3D', body: '{"type":"event"}' });
      expect(seen[0].auth).toMatch(
        /^AWS4-HMAC-SHA256 Credential=a\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
      );
      expect(await post('gone', data)).toBe('gone');
      expect(await post('flaky', data)).toBe('sent');
      await expect(post('forbidden', data)).rejects.toThrow('HTTP 403');
      // A request with no answer fails after the timeout (undici's, about 0.5 s resolution), and the sender still works after it.
      const quick = posterTo(server, { maxAttempts: 1, timeoutMs: 300 });
      const t0 = Date.now();
      await expect(quick('hang', data)).rejects.toThrow('request timed out');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await quick('abc=', data)).toBe('sent');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('signedPoster: a POST whose answer is lost', () => {
  // Issue 19, item 5: under load (`npm run prove -- --only load --rate 100 --seconds 10 --listeners 30`) the
  // local gateway delivered frames but answered after the 5 s timeout; each was sent again (9 retries, 9
  // listeners got an event twice). The outcome of a timed-out request is unknown, so it is retried: push is
  // at least once for such a send, and listeners drop duplicates by id (docs/realtime.md, docs/contract.md).
  it('is retried after the timeout: the receiving side gets the same frame twice and the send counts as sent once', async () => {
    const bodies: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        bodies.push(body); // the frame is with the listener from here on, whatever the answer
        if (bodies.length === 1)
          setTimeout(() => res.writeHead(200).end(), 1_500); // answered after the sender gave up (undici's timers fire within about 0.5 s past the timeout)
        else res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const post = posterTo(server, { maxAttempts: 3, timeoutMs: 200 });
    try {
      expect(await post('abc=', new TextEncoder().encode('{"type":"event","event":{"id":"e1"}}'))).toBe('sent');
      expect(bodies).toEqual(['{"type":"event","event":{"id":"e1"}}', '{"type":"event","event":{"id":"e1"}}']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('signedPoster requests, checked by the receiving side with the SDK signer', () => {
  /** What API Gateway does: recompute the signature of the request as received (method, path, headers, body). */
  async function sdkSignatureOf(
    req: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string },
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  ) {
    const amz = String(req.headers['x-amz-date']);
    const date = new Date(`${amz.slice(0, 4)}-${amz.slice(4, 6)}-${amz.slice(6, 8)}T${amz.slice(9, 11)}:${amz.slice(11, 13)}:${amz.slice(13, 15)}Z`);
    const host = String(req.headers.host);
    const sdk = new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials, sha256: Sha256 as never });
    const signed = (await sdk.sign({ method: req.method, protocol: 'http:', hostname: host, path: req.url, headers: { host }, body: req.body } as never, {
      signingDate: date,
    })) as unknown as { headers: Record<string, string> };
    return signed.headers.authorization;
  }

  // Written by hand: connection ids as API Gateway makes them (base64: + / =), stage paths, with and without a session token.
  const cases: [string, string, string, boolean][] = [
    ['stage /v1, plain id', '/v1', 'L0SM9cOFvHcCIhw=', false],
    ['stage /v1, id with + and /', '/v1', 'ab+c/d==', true],
    ['no stage path', '', 'Zz9+/x=', true],
    ['stage with a space', '/my stage', 'abc', false],
  ];
  it.each(cases)('%s: the signature verifies, the wire path and headers are as sent', async (_name, stage, connectionId, withToken) => {
    const credentials = withToken
      ? { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret/+=', sessionToken: 'IQoJb3JpZ2luX2VjE/token+=' }
      : { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}${stage.replace(' ', '%20')}`;
      const post = signedPoster({ endpoint, region: 'eu-west-1', credentials: () => credentials });
      const frame = new TextEncoder().encode('{"type":"events","events":[{"id":"é"}]}');
      // The same buffer twice (its hash and length are cached), then another one.
      expect(await post(connectionId, frame)).toBe('sent');
      expect(await post(connectionId, frame)).toBe('sent');
      expect(await post(connectionId, new TextEncoder().encode('{"type":"event"}'))).toBe('sent');
      expect(seen).toHaveLength(3);
      const expectedPath = `${stage.replace(' ', '%20')}/@connections/${encodeURIComponent(connectionId)}`;
      for (const r of seen) {
        expect(r.url).toBe(expectedPath);
        expect(r.headers['content-type']).toBe('application/json');
        expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
        expect(r.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(r.body).digest('hex'));
        expect(r.headers['x-amz-security-token']).toBe(withToken ? 'IQoJb3JpZ2luX2VjE/token+=' : undefined);
        expect(r.headers.authorization).toBe(await sdkSignatureOf(r, credentials));
      }
      expect(seen.map((r) => r.body)).toEqual(['{"type":"events","events":[{"id":"é"}]}', '{"type":"events","events":[{"id":"é"}]}', '{"type":"event"}']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
