/**
 * A loopback HTTP proxy in front of the local SNS (fauxqs) that makes PublishBatch fail now and then,
 * the ways SNS can: the whole call answered 500 (InternalError), some entries reported in `Failed`
 * (SenderFault false: retryable) while the rest are published, or the call published and its answer
 * lost (the connection reset). An optional outage window fails every call. Every other request passes
 * through unchanged. No handler code changes: the ingest's SNS client is pointed here through the
 * standard AWS_ENDPOINT_URL_SNS variable.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface SnsFaultOptions {
  /** Where fauxqs listens, e.g. http://127.0.0.1:4566. */
  target: string;
  /** Probability a PublishBatch call is answered 500 without being forwarded. */
  callFailure: number;
  /** Probability some entries of a call are failed (the others published). */
  partialFailure: number;
  /** Probability a call is published and its answer lost (socket destroyed). */
  lostResponse: number;
  random: () => number;
}

export interface SnsFaultStats {
  publishBatchCalls: number;
  failedCalls: number;
  partialCalls: number;
  failedEntries: number;
  lostResponses: number;
  outageCalls: number;
  forwardedEntries: number;
}

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

export class SnsFaultProxy {
  readonly stats: SnsFaultStats = {
    publishBatchCalls: 0,
    failedCalls: 0,
    partialCalls: 0,
    failedEntries: 0,
    lostResponses: 0,
    outageCalls: 0,
    forwardedEntries: 0,
  };
  private server?: Server;
  private outageUntil = 0;
  enabled = true;
  url = '';

  constructor(private readonly opts: SnsFaultOptions) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this.url;
  }

  /** Fails every PublishBatch call for `ms` from now. */
  outage(ms: number): void {
    this.outageUntil = Date.now() + ms;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks).toString('utf8');
    const params = new URLSearchParams(body);
    const { random } = this.opts;
    let failedIds: string[] = [];
    let loseAnswer = false;
    if (this.enabled && params.get('Action') === 'PublishBatch') {
      this.stats.publishBatchCalls++;
      const outage = Date.now() < this.outageUntil;
      if (outage || random() < this.opts.callFailure) {
        if (outage) this.stats.outageCalls++;
        else this.stats.failedCalls++;
        const xml = `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Receiver</Type><Code>InternalError</Code><Message>injected failure</Message></Error><RequestId>fault</RequestId></ErrorResponse>`;
        res.writeHead(500, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
        return void res.end(xml);
      }
      const members = [...new Set([...params.keys()].map((k) => /^PublishBatchRequestEntries\.member\.(\d+)\./.exec(k)?.[1]).filter((m): m is string => !!m))];
      if (members.length > 0 && random() < this.opts.partialFailure) {
        const drop = members.filter(() => random() < 0.5);
        if (drop.length === 0) drop.push(members[Math.floor(random() * members.length)]);
        for (const m of drop) {
          failedIds.push(params.get(`PublishBatchRequestEntries.member.${m}.Id`) ?? '');
          for (const k of [...params.keys()]) if (k.startsWith(`PublishBatchRequestEntries.member.${m}.`)) params.delete(k);
        }
        this.stats.partialCalls++;
        this.stats.failedEntries += drop.length;
        body = params.toString();
      } else failedIds = [];
      this.stats.forwardedEntries += members.length - failedIds.length;
      loseAnswer = random() < this.opts.lostResponse;
    }
    const target = new URL(this.opts.target);
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host, 'content-length': String(Buffer.byteLength(body)) },
      },
      (up) => {
        const parts: Buffer[] = [];
        up.on('data', (d: Buffer) => parts.push(d));
        up.on('end', () => {
          if (loseAnswer) {
            this.stats.lostResponses++;
            return void req.socket.destroy();
          }
          let out = Buffer.concat(parts).toString('utf8');
          if (failedIds.length) {
            const failed = failedIds
              .map((id) => `<member><Id>${id}</Id><Code>InternalError</Code><Message>injected entry failure</Message><SenderFault>false</SenderFault></member>`)
              .join('');
            out = out.replace(/<Failed>/, `<Failed>${failed}`).replace(/<Failed\s*\/>/, `<Failed>${failed}</Failed>`);
          }
          const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(out)) };
          delete headers['transfer-encoding'];
          res.writeHead(up.statusCode ?? 502, headers);
          res.end(out);
        });
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    upstream.end(body);
  }
}
