/**
 * The local stand-in for an API Gateway WebSocket API: accepts connections, invokes the unchanged
 * route handlers ($connect with the query string, message routes chosen by the route selection
 * expression `$request.body.type`, $default, $disconnect), and serves the management endpoint the
 * push Lambda calls: POST/GET/DELETE `[/{stage}]/@connections/{id}`, 410 Gone for unknown ids.
 * Frames over API Gateway's 128 KB message limit close the connection (1009); 10 minutes idle closes it.
 * Both the upgrade and the management endpoint answer only a loopback `Host` (127.0.0.1, localhost or
 * [::1] with this port), and the management endpoint refuses any request with an `Origin` (a browser's):
 * local/loopback.ts says why.
 * `managementLatencyMs` delays every management call, as API Gateway's endpoint takes its time.
 */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { hostRefusal, managementOriginRefusal } from './loopback';

export type WsRouteHandler = (
  event: APIGatewayProxyWebsocketEventV2 & { queryStringParameters?: Record<string, string>; headers?: Record<string, string> },
) => Promise<APIGatewayProxyResult | void>;

export interface WebSocketGatewayOptions {
  port: number;
  host?: string;
  stage?: string;
  /** Route key -> handler: `$connect`, `$disconnect`, `$default` and message types such as `authenticate`. */
  routes: Record<string, WsRouteHandler>;
  /** Milliseconds of silence after which a connection is closed. Default 10 minutes (API Gateway's). */
  idleTimeoutMs?: number;
  maxMessageBytes?: number;
  /**
   * Milliseconds added to every management call (POST, GET, DELETE /@connections/{id}), to rehearse
   * API Gateway's latency (LOCAL_WS_LATENCY_MS in the local runtime). Default 0.
   */
  managementLatencyMs?: number;
  onEvent?: (info: { kind: 'connect' | 'disconnect' | 'message' | 'push' | 'error'; connectionId: string; detail?: string }) => void;
}

interface Conn {
  socket: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  idle?: NodeJS.Timeout;
}

export class WebSocketGateway {
  readonly connections = new Map<string, Conn>();
  private server?: Server;
  private wss?: WebSocketServer;
  /** Requests the management endpoint served (for tests and the dashboard). */
  managementRequests = 0;

  /** The route handlers; may be filled in after construction (before start). */
  readonly routes: Record<string, WsRouteHandler>;

  constructor(private readonly opts: WebSocketGatewayOptions) {
    this.routes = opts.routes;
  }

  get stage(): string {
    return this.opts.stage ?? 'v1';
  }
  get endpoint(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.opts.port}/${this.stage}`;
  }
  get url(): string {
    return `ws://${this.opts.host ?? '127.0.0.1'}:${this.opts.port}`;
  }

  private requestContext(connectionId: string, routeKey: string, eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT', conn?: Conn) {
    return {
      routeKey,
      eventType,
      connectionId,
      stage: this.stage,
      apiId: 'local',
      domainName: `${this.opts.host ?? '127.0.0.1'}:${this.opts.port}`,
      requestId: randomUUID(),
      extendedRequestId: randomUUID(),
      messageId: randomUUID(),
      requestTimeEpoch: Date.now(),
      requestTime: new Date().toISOString(),
      connectedAt: conn?.connectedAt ?? Date.now(),
      messageDirection: 'IN',
      identity: { sourceIp: conn?.sourceIp ?? '127.0.0.1' },
    } as unknown as APIGatewayProxyWebsocketEventV2['requestContext'];
  }

  private async invoke(
    routeKey: string,
    connectionId: string,
    eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT',
    extra: Record<string, unknown> = {},
    conn?: Conn,
  ) {
    const handler = this.routes[routeKey];
    if (!handler) return undefined;
    return handler({ requestContext: this.requestContext(connectionId, routeKey, eventType, conn), isBase64Encoded: false, ...extra } as never);
  }

  private touch(conn: Conn): void {
    conn.lastActiveAt = Date.now();
    if (conn.idle) clearTimeout(conn.idle);
    conn.idle = setTimeout(() => conn.socket.close(1001, 'Going away: idle timeout'), this.opts.idleTimeoutMs ?? 600_000);
    conn.idle.unref();
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.management(req, res));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxMessageBytes ?? 128 * 1024 });
    this.server.on('upgrade', async (req, socket, head) => {
      const connectionId = randomUUID().replace(/-/g, '').slice(0, 16) + '=';
      const foreign = hostRefusal(req.headers.host, this.opts.port);
      if (foreign) {
        const body = JSON.stringify(foreign.body);
        socket.end(
          `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
        this.opts.onEvent?.({ kind: 'error', connectionId, detail: 'upgrade refused: foreign Host' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://local');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
      let result: APIGatewayProxyResult | void;
      try {
        result = await this.invoke('$connect', connectionId, 'CONNECT', { queryStringParameters: Object.fromEntries(url.searchParams), headers });
      } catch {
        result = { statusCode: 500, body: 'Internal server error' };
      }
      const status = result?.statusCode ?? 200;
      if (status < 200 || status >= 300) {
        socket.end(
          `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(result?.body ?? '')}\r\nconnection: close\r\n\r\n${result?.body ?? ''}`,
        );
        this.opts.onEvent?.({ kind: 'error', connectionId, detail: `$connect refused with ${status}` });
        return;
      }
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.accept(connectionId, ws, req));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    const addr = this.server.address();
    if (addr && typeof addr === 'object') this.opts.port = addr.port;
  }

  private accept(connectionId: string, ws: WebSocket, req: IncomingMessage): void {
    const conn: Conn = { socket: ws, connectedAt: Date.now(), lastActiveAt: Date.now(), sourceIp: req.socket.remoteAddress ?? '127.0.0.1' };
    this.connections.set(connectionId, conn);
    this.touch(conn);
    this.opts.onEvent?.({ kind: 'connect', connectionId });
    ws.on('message', async (data, isBinary) => {
      this.touch(conn);
      const body = isBinary ? Buffer.from(data as Buffer).toString('base64') : data.toString();
      let routeKey = '$default';
      try {
        const type = (JSON.parse(body) as { type?: unknown })?.type;
        if (typeof type === 'string' && this.routes[type] && !type.startsWith('$')) routeKey = type;
      } catch {
        // Not JSON: $default.
      }
      this.opts.onEvent?.({ kind: 'message', connectionId, detail: routeKey });
      try {
        const result = await this.invoke(routeKey, connectionId, 'MESSAGE', { body, isBase64Encoded: isBinary }, conn);
        // Two-way routes: a returned body goes back to the caller, as a route response does.
        if (result && typeof result === 'object' && result.body && ws.readyState === WebSocket.OPEN) ws.send(result.body);
      } catch (e) {
        this.opts.onEvent?.({ kind: 'error', connectionId, detail: (e as Error).message });
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ message: 'Internal server error', connectionId, requestId: randomUUID() }));
      }
    });
    ws.on('close', () => {
      if (conn.idle) clearTimeout(conn.idle);
      this.connections.delete(connectionId);
      this.opts.onEvent?.({ kind: 'disconnect', connectionId });
      void this.invoke('$disconnect', connectionId, 'DISCONNECT', {}, conn).catch(() => undefined);
    });
    ws.on('error', () => ws.terminate());
  }

  /** The management endpoint: `[/{stage}]/@connections/{id}`. */
  private async management(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.managementRequests++;
    const m = /^(?:\/[^/]+)?\/@connections\/([^/?]+)/.exec(req.url ?? '');
    const reply = (status: number, body = '') => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    // Before anything is read or sent: a rebinding page (foreign Host) or any browser page (Origin).
    const refused = hostRefusal(req.headers.host, this.opts.port) ?? managementOriginRefusal(req.headers.origin);
    if (refused) {
      req.resume();
      this.opts.onEvent?.({ kind: 'error', connectionId: m ? m[1] : '', detail: `management request refused: ${refused.body.error}` });
      return reply(refused.status, JSON.stringify(refused.body));
    }
    const latency = this.opts.managementLatencyMs ?? 0;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (!m) return reply(404, JSON.stringify({ message: 'Not Found' }));
    const id = decodeURIComponent(m[1]);
    const conn = this.connections.get(id);
    if (!conn || conn.socket.readyState !== WebSocket.OPEN) return reply(410, JSON.stringify({ message: 'Gone' }));
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      if (data.length > (this.opts.maxMessageBytes ?? 128 * 1024)) return reply(413, JSON.stringify({ message: 'Payload too large' }));
      await new Promise<void>((resolve) => conn.socket.send(data.toString(), () => resolve()));
      this.opts.onEvent?.({ kind: 'push', connectionId: id, detail: data.toString() });
      return reply(200);
    }
    if (req.method === 'DELETE') {
      conn.socket.close(1000, 'Closed by the server');
      return reply(204);
    }
    if (req.method === 'GET') {
      return reply(
        200,
        JSON.stringify({
          ConnectedAt: new Date(conn.connectedAt).toISOString(),
          LastActiveAt: new Date(conn.lastActiveAt).toISOString(),
          Identity: { SourceIp: conn.sourceIp },
        }),
      );
    }
    return reply(405, JSON.stringify({ message: 'Method Not Allowed' }));
  }

  async stop(): Promise<void> {
    for (const c of this.connections.values()) c.socket.terminate();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
