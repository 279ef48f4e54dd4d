/**
 * A lean sender for the push fan-out: POST /@connections/{id} to the API Gateway management API,
 * signed with AWS Signature Version 4 (service execute-api), over a keep-alive agent with as many
 * sockets as the push concurrency.
 *
 * Why not the SDK's PostToConnectionCommand: its middleware stack costs about 0.8 ms of CPU per
 * request (measured in bench/push.ts), so one event to 10,000 listeners took ~8 s of CPU whatever
 * the concurrency. This sender signs with a cached signing key, a payload hash computed once per frame
 * and the canonical path's fixed part computed once (signing: about 6 us per request), and sends through
 * undici's connection pool at its lowest level (`dispatch` with a handler: no response stream, no
 * header object per request). Why undici and not Node's `http.request`: on the push function's CPU
 * share (1,024 MB is 0.58 vCPU) the sender is CPU-bound, and undici's client costs about a third less
 * CPU per request (bench/push.ts with BENCH_CPU_SHARE=0.58: 67-80 us against 91-133 us per request,
 * 10,000 sends in 1.40-1.41x the ideal against 1.68-2.31x; docs/testing.md, third pass). The socket and closer Lambdas (a few messages
 * per connection) keep the SDK client. The signature is checked against the SDK's own signer in
 * test/signed-poster.test.ts.
 */
import { createHash, createHmac } from 'node:crypto';
import { Pool, type Dispatcher } from 'undici';

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
  /** Per-request timeout, ms: to connect, to the answer's headers, between its body's chunks. Default 5000. */
  timeoutMs?: number;
}

export type PostResult = 'sent' | 'gone';
export type Post = (connectionId: string, data: Uint8Array) => Promise<PostResult>;

export class PostError extends Error {
  constructor(
    readonly status: number | undefined,
    message: string,
  ) {
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

/** The parts of a SigV4 signature that change per request (see signerCore). */
interface Signed {
  amzDate: string;
  authorization: string;
}

/**
 * The SigV4 core for one method, host, region and service. What does not change per request is
 * computed once: the signed header names, the canonical request's fixed parts, the date strings (once
 * a second, from the epoch milliseconds: no Date per request) and the derived signing key (once a day
 * per access key). Per request: one SHA-256 of the canonical request and one HMAC. `canonicalUri` is
 * the path as SigV4 wants it (each segment encoded once more than on the wire).
 */
function signerCore(opts: {
  method: string;
  host: string;
  region: string;
  service?: string;
}): (canonicalUri: string, payloadHash: string, credentials: Credentials, epochMs: number) => Signed {
  const service = opts.service ?? 'execute-api';
  const scopeTail = `/${opts.region}/${service}/aws4_request`;
  const methodLine = `${opts.method}\n`;
  const hostLine = `\n\nhost:${opts.host}\nx-amz-content-sha256:`;
  let second = NaN;
  let amzDate = '';
  let day = '';
  let scope = '';
  let keyFor = '';
  let key: Buffer | undefined;
  return (canonicalUri, payloadHash, credentials, epochMs) => {
    const s = Math.floor(epochMs / 1000);
    if (s !== second) {
      second = s;
      amzDate = new Date(s * 1000).toISOString().replace(/[:-]|\.\d{3}/g, '');
      day = amzDate.slice(0, 8);
      scope = `${day}${scopeTail}`;
    }
    const token = credentials.sessionToken;
    const signedHeaders = token ? 'host;x-amz-content-sha256;x-amz-date;x-amz-security-token' : 'host;x-amz-content-sha256;x-amz-date';
    const canonical = `${methodLine}${canonicalUri}${hostLine}${payloadHash}\nx-amz-date:${amzDate}\n${token ? `x-amz-security-token:${token}\n` : ''}\n${signedHeaders}\n${payloadHash}`;
    const cacheKey = `${credentials.accessKeyId}/${credentials.secretAccessKey}/${day}`;
    if (cacheKey !== keyFor || !key) {
      key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), opts.region), service), 'aws4_request');
      keyFor = cacheKey;
    }
    const signature = createHmac('sha256', key)
      .update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`)
      .digest('hex');
    return {
      amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    };
  };
}

/** Non-S3 services: every path segment is encoded twice in the canonical URI (the request path is already encoded once). */
const canonicalUriOf = (path: string) => path.split('/').map(uriEncode).join('/');

/**
 * A SigV4 signer for one method, host, region and service (signerCore), giving the headers of one
 * request as an object.
 */
export function requestSigner(opts: {
  method: string;
  host: string;
  region: string;
  service?: string;
}): (path: string, payloadHash: string, credentials: Credentials, date: Date) => Record<string, string> {
  const core = signerCore(opts);
  return (path, payloadHash, credentials, date) => {
    const { amzDate, authorization } = core(canonicalUriOf(path), payloadHash, credentials, date.getTime());
    const headers: Record<string, string> = { host: opts.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate, authorization };
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    return headers;
  };
}

/** SigV4 headers for one request (requestSigner for a single request). Exported for the reference test. */
export function signRequest(opts: {
  method: string;
  host: string;
  path: string;
  region: string;
  service?: string;
  credentials: Credentials;
  date: Date;
  payloadHash: string;
}): Record<string, string> {
  return requestSigner(opts)(opts.path, opts.payloadHash, opts.credentials, opts.date);
}

/** undici's timeout errors, reported as one failure ("request timed out"). */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Creates the sender. Payload hashes are cached per data buffer (one event, many listeners). */
export function signedPoster(options: PosterOptions): Post {
  const url = new URL(options.endpoint);
  const timeout = options.timeoutMs ?? 5000;
  // As many keep-alive connections as the push concurrency, one request at a time on each (POST is not
  // pipelined); each request fails when it waits longer than the timeout ('timed out' below).
  const pool = new Pool(url.origin, {
    connections: options.maxSockets ?? 50,
    pipelining: 1,
    connectTimeout: timeout,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  const basePath = url.pathname.replace(/\/$/, '');
  const credentials = options.credentials ?? envCredentials;
  const sign = signerCore({ method: 'POST', host: url.host, region: options.region });
  const pathPrefix = `${basePath}/@connections/`;
  const canonicalPrefix = canonicalUriOf(pathPrefix);
  // Per data buffer (one frame, many listeners): its payload hash, computed once. undici sends the
  // host (url.host, as signed) and the content length of the buffer.
  const hashes = new WeakMap<Uint8Array, string>();
  const maxAttempts = options.maxAttempts ?? 3;

  const once = (connectionId: string, data: Uint8Array): Promise<number> => {
    let hash = hashes.get(data);
    if (!hash) hashes.set(data, (hash = sha256Hex(data)));
    const id = uriEncode(connectionId);
    const creds = credentials();
    const { amzDate, authorization } = sign(canonicalPrefix + uriEncode(id), hash, creds, Date.now());
    // Headers as a flat array: undici writes them as given.
    const headers = ['x-amz-content-sha256', hash, 'x-amz-date', amzDate, 'authorization', authorization, 'content-type', 'application/json'];
    if (creds.sessionToken) headers.push('x-amz-security-token', creds.sessionToken);
    return new Promise<number>((resolve, reject) => {
      let status = 0;
      const handler: Dispatcher.DispatchHandler = {
        // undici takes a handler of this (its current) interface when it has onRequestStart.
        onRequestStart: () => undefined,
        onResponseStart: (_controller, statusCode) => {
          status = statusCode;
        },
        // The answer's body (an error's JSON message at most) is read and dropped: the status says it all.
        onResponseData: () => undefined,
        onResponseEnd: () => resolve(status),
        onResponseError: (_controller, error) =>
          reject(TIMEOUT_CODES.has((error as { code?: string }).code ?? '') ? new PostError(undefined, 'request timed out') : error),
      };
      pool.dispatch({ path: pathPrefix + id, method: 'POST', headers, body: data }, handler);
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
