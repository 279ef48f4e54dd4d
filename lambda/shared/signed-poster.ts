/**
 * A lean sender for the push fan-out: POST /@connections/{id} to the API Gateway management API,
 * signed with AWS Signature Version 4 (service execute-api), over a keep-alive agent with as many
 * sockets as the push concurrency.
 *
 * Why not the SDK's PostToConnectionCommand: its middleware stack costs about 0.8 ms of CPU per
 * request (measured in bench/push.ts), so one event to 10,000 listeners took ~8 s of CPU whatever
 * the concurrency. This sender signs with a cached signing key and a payload hash computed once per
 * event, about 0.1 ms per request. The socket and closer Lambdas (a few messages per connection)
 * keep the SDK client. The signature is checked against the SDK's own signer in test/signed-poster.test.ts.
 */
import { createHash, createHmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface PosterOptions {
  /** The stage's callback URL (https://<api>.execute-api.<region>.amazonaws.com/v1) or a local endpoint. */
  endpoint: string;
  region: string;
  /** Default: the Lambda execution role's credentials from the environment, read on every request. */
  credentials?: () => Credentials;
  maxSockets?: number;
  /** Attempts for throttling (429) and 5xx answers and network errors. Default 3. */
  maxAttempts?: number;
  /** Per-request timeout, ms. Default 5000. */
  timeoutMs?: number;
}

export type PostResult = 'sent' | 'gone';
export type Post = (connectionId: string, data: Uint8Array) => Promise<PostResult>;

export class PostError extends Error {
  constructor(readonly status: number | undefined, message: string) {
    super(message);
    this.name = 'PostError';
  }
}

const envCredentials = (): Credentials => {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = process.env;
  if (!accessKeyId || !secretAccessKey) throw new Error('No AWS credentials in the environment');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
};

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
export const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** SigV4 headers for one request. Exported for the reference test. */
export function signRequest(opts: {
  method: string; host: string; path: string; region: string; service?: string; credentials: Credentials; date: Date; payloadHash: string;
  signingKeyCache?: Map<string, Buffer>;
}): Record<string, string> {
  const service = opts.service ?? 'execute-api';
  const amzDate = opts.date.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host: opts.host, 'x-amz-content-sha256': opts.payloadHash, 'x-amz-date': amzDate, ...(opts.credentials.sessionToken ? { 'x-amz-security-token': opts.credentials.sessionToken } : {}) };
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  // Non-S3 services: every path segment is encoded twice (the request path is already encoded once).
  const canonicalUri = opts.path.split('/').map(uriEncode).join('/');
  const canonicalHeaders = names.map((n) => `${n}:${headers[n]}\n`).join('');
  const canonical = `${opts.method}\n${canonicalUri}\n\n${canonicalHeaders}\n${signedHeaders}\n${opts.payloadHash}`;
  const scope = `${day}/${opts.region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const cacheKey = `${opts.credentials.accessKeyId}/${scope}`;
  let key = opts.signingKeyCache?.get(cacheKey);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${opts.credentials.secretAccessKey}`, day), opts.region), service), 'aws4_request');
    opts.signingKeyCache?.clear();
    opts.signingKeyCache?.set(cacheKey, key);
  }
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}` };
}

/** Creates the sender. Payload hashes are cached per data buffer (one event, many listeners). */
export function signedPoster(options: PosterOptions): Post {
  const url = new URL(options.endpoint);
  const secure = url.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 50 }) : new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 50 });
  const request = secure ? https.request : http.request;
  const basePath = url.pathname.replace(/\/$/, '');
  const credentials = options.credentials ?? envCredentials;
  const keys = new Map<string, Buffer>();
  const hashes = new WeakMap<Uint8Array, string>();
  const maxAttempts = options.maxAttempts ?? 3;

  const once = (connectionId: string, data: Uint8Array): Promise<number> => {
    let payloadHash = hashes.get(data);
    if (!payloadHash) {
      payloadHash = sha256Hex(data);
      hashes.set(data, payloadHash);
    }
    const path = `${basePath}/@connections/${uriEncode(connectionId)}`;
    const headers = signRequest({ method: 'POST', host: url.host, path, region: options.region, credentials: credentials(), date: new Date(), payloadHash, signingKeyCache: keys });
    return new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path, method: 'POST', agent, timeout: options.timeoutMs ?? 5000, headers: { ...headers, 'content-type': 'application/json', 'content-length': data.byteLength } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new PostError(undefined, 'request timed out')));
      req.on('error', reject);
      req.end(data);
    });
  };

  return async (connectionId, data) => {
    for (let attempt = 1; ; attempt++) {
      let status: number | undefined;
      let failure: string;
      try {
        status = await once(connectionId, data);
        if (status >= 200 && status < 300) return 'sent';
        if (status === 410) return 'gone';
        failure = `HTTP ${status}`;
      } catch (e) {
        failure = (e as Error).message;
      }
      const retryable = status === undefined || status === 429 || status >= 500;
      if (!retryable || attempt >= maxAttempts) throw new PostError(status, `POST /@connections failed: ${failure}`);
      await new Promise((r) => setTimeout(r, 2 ** attempt * 25 * (0.5 + Math.random() / 2)));
    }
  };
}
