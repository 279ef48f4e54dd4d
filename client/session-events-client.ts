/**
 * A small typed client for the real-time session events WebSocket (Node and browsers).
 *
 *   const client = new SessionEventsClient({ url: 'wss://.../v1', tenant: 'acme', token: () => getAccessToken() });
 *   client.onSessionEnded('auth0|123', (e) => endLocalSessions(e.user_id));
 *   client.on('event', (e) => console.log(e.type, e.user_id));
 *   client.start();
 *
 * It connects with ?tenant=, authenticates, keeps the connection alive with pings (every 5 minutes,
 * under API Gateway's 10-minute idle timeout; a missing pong means a dead connection), reconnects
 * with exponential backoff and jitter, resumes with `since` = the last event id it delivered (or the
 * server's `resume_from` after a `closing` with reason `missed_events`, on which it reconnects), holds
 * live events until the replay is over (`caught_up`) so delivery stays in order, and delivers each
 * event id once (a window of recent ids). In Node it uses the `ws` package unless a WebSocket
 * constructor is given; in browsers the global WebSocket.
 */

// The one definition of the session event types (lambda/shared/event.ts has no imports: safe for browsers).
import { SESSION_EVENT_TYPES, type SessionEventType } from '../lambda/shared/event';
// The one definition of the WebSocket messages (types only: nothing of it is in the browser bundle).
import type { ClientMessage, ServerMessage, SessionEvent } from '../lambda/shared/protocol';
export { SESSION_EVENT_TYPES, type SessionEventType };
export type { ClientMessage, ServerMessage, SessionEvent };
/** The events after which a user's existing sessions and tokens should end. */
export const SESSION_ENDING_TYPES: readonly SessionEventType[] = ['password_changed', 'user_blocked', 'logout', 'user_deleted'];

/**
 * An event handler property, checked bivariantly (as methods are) so that the browser's WebSocket
 * (`(this: WebSocket, ev: MessageEvent) => any`) and `ws`'s (`(event: WebSocket.MessageEvent) => void`)
 * are both WebSocketLike without a cast.
 */
type Handler<E> = { bivarianceHack(ev: E): void }['bivarianceHack'];

/** What the client needs of a WebSocket: the browser API, which `ws` implements too. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface BackoffOptions {
  /** First delay, ms. Default 500. */
  initialMs?: number;
  /** Largest delay, ms. Default 30000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
}

export interface SessionEventsClientOptions {
  /** The WebSocket URL, e.g. wss://abc.execute-api.eu-west-1.amazonaws.com/v1 */
  url: string;
  tenant: string;
  /** An access token, or a function returning a fresh one (called on every (re)connect). */
  token: string | (() => string | Promise<string>);
  /** Resume after this event id on the first connect (later connects use the last id seen). */
  since?: string;
  /** WebSocket constructor. Default: globalThis.WebSocket, else the `ws` package (Node). */
  WebSocket?: WebSocketConstructor;
  /** Ping interval, ms. Default 300000 (5 min; API Gateway closes idle connections after 10 min). */
  pingIntervalMs?: number;
  /** Reconnect when no pong arrives within this time, ms. Default 10000. */
  pongTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** How many recent event ids are remembered to drop duplicates. Default 1000. */
  dedupeWindow?: number;
  /** Longest time live events are held while a replay (or one part of it) runs, ms. Default 30000. */
  replayHoldMs?: number;
  /** Random number in [0, 1), for jitter (tests). Default Math.random. */
  random?: () => number;
}

export type ClientState = 'idle' | 'connecting' | 'authenticating' | 'open' | 'waiting' | 'closed';

interface Listeners {
  event: (e: SessionEvent) => void;
  authenticated: (m: { sub: string; filter: '*' | 'self'; expires_at: string }) => void;
  caught_up: (m: { count: number; last_id?: string }) => void;
  error: (e: Error) => void;
  state: (s: ClientState) => void;
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const base = Math.min(max, initial * (options.factor ?? 2) ** Math.max(0, attempt));
  return Math.round(base / 2 + (random() * base) / 2);
}

/**
 * The WebSocket constructor to use: the global one (browsers, Node 22+), else the `ws` package (Node 20,
 * an optional peer dependency of the package). Browser bundles never reach the `require`: the package's
 * "browser" field maps `ws` to nothing, so a bundler neither needs nor includes it.
 */
export function defaultWebSocket(): WebSocketConstructor {
  const g = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (g) return g;
  let ws: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ws = require('ws');
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') throw e;
  }
  const Ctor = (ws as { WebSocket?: unknown } | undefined)?.WebSocket ?? ws;
  if (typeof Ctor !== 'function') {
    throw new Error(
      'SessionEventsClient: there is no global WebSocket here (Node before 22) and the `ws` package is not installed: run `npm install ws` (an optional peer dependency of auth0-events), or pass the `WebSocket` option.',
    );
  }
  return Ctor as WebSocketConstructor;
}

/**
 * Most bytes of ids listed in `seen`: the `authenticate` message must fit in one API Gateway WebSocket
 * message (128 KB, the access token included; past it the connection is closed before it authenticates).
 * 1,000 Auth0 log ids (about 60 bytes each in JSON) fit; longer ids (up to 512 bytes) keep only the newest.
 */
const SEEN_MAX_BYTES = 64 * 1024;

/** The newest ids (at most 1,000, the server's limit, and SEEN_MAX_BYTES of JSON), oldest first. */
function recentIds(order: readonly string[]): string[] {
  const encoder = new TextEncoder();
  const out: string[] = [];
  let bytes = 0;
  for (let i = order.length - 1; i >= 0 && out.length < 1000; i--) {
    bytes += encoder.encode(JSON.stringify(order[i])).length + 1;
    if (bytes > SEEN_MAX_BYTES) break;
    out.push(order[i]);
  }
  return out.reverse();
}

function text(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data as Uint8Array);
  return String(data);
}

export class SessionEventsClient {
  private readonly opts: SessionEventsClientOptions;
  private readonly handlers: { [K in keyof Listeners]: Set<Listeners[K]> } = {
    event: new Set(),
    authenticated: new Set(),
    caught_up: new Set(),
    error: new Set(),
    state: new Set(),
  };
  private socket?: WebSocketLike;
  /** The WebSocket constructor, chosen by start(). */
  private Ctor?: WebSocketConstructor;
  private attempt = 0;
  private stopped = true;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private pongTimer?: ReturnType<typeof setTimeout>;
  private holdTimer?: ReturnType<typeof setTimeout>;
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private held: SessionEvent[] | undefined;
  /** `since` for the next connect when the server said where to resume (closing `missed_events`). */
  private resumeFrom?: string;
  /**
   * While a replay runs (until `caught_up`): the id it has reached (its `since`, then each replayed
   * event). If the connection closes first, the next connect resumes from here: the held live events
   * are delivered on close and move lastEventId past events the replay had not sent yet.
   */
  private replayAt?: string;
  private _state: ClientState = 'idle';
  /** The id of the last event delivered: the `since` of the next connect. */
  lastEventId?: string;

  constructor(options: SessionEventsClientOptions) {
    this.opts = options;
    this.lastEventId = options.since;
  }

  get state(): ClientState {
    return this._state;
  }

  on<K extends keyof Listeners>(type: K, listener: Listeners[K]): () => void {
    this.handlers[type].add(listener);
    return () => this.handlers[type].delete(listener);
  }

  /** Calls `cb` when `userId`'s sessions end (password changed, blocked, logged out, deleted). */
  onSessionEnded(userId: string, cb: (e: SessionEvent) => void): () => void {
    return this.on('event', (e) => {
      if (e.user_id === userId && SESSION_ENDING_TYPES.includes(e.type)) cb(e);
    });
  }

  /** Calls `cb` for every session-ending event, whoever the user. */
  onAnySessionEnded(cb: (e: SessionEvent) => void): () => void {
    return this.on('event', (e) => {
      if (e.user_id && SESSION_ENDING_TYPES.includes(e.type)) cb(e);
    });
  }

  /** Starts connecting. Throws at once when there is no WebSocket to use (see the `WebSocket` option). */
  start(): this {
    if (!this.stopped) return this;
    this.Ctor = this.opts.WebSocket ?? defaultWebSocket();
    this.stopped = false;
    void this.connect();
    return this;
  }

  /** Closes the connection and stops reconnecting. */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    clearTimeout(this.reconnectTimer);
    const s = this.socket;
    this.socket = undefined;
    if (s && s.readyState <= 1) s.close(1000, 'client closed');
    this.setState('closed');
  }

  private emit<K extends keyof Listeners>(type: K, arg: Parameters<Listeners[K]>[0]): void {
    for (const h of this.handlers[type]) {
      try {
        (h as (a: typeof arg) => void)(arg);
      } catch (e) {
        if (type !== 'error') this.emit('error', e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private setState(s: ClientState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit('state', s);
  }

  private clearTimers(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    clearTimeout(this.holdTimer);
    this.pingTimer = this.pongTimer = this.holdTimer = undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState('connecting');
    let token: string;
    try {
      token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    } catch (e) {
      this.emit('error', new Error(`Could not get an access token: ${(e as Error).message}`));
      return this.scheduleReconnect();
    }
    if (this.stopped) return;
    const url = `${this.opts.url}${this.opts.url.includes('?') ? '&' : '?'}tenant=${encodeURIComponent(this.opts.tenant)}`;
    let socket: WebSocketLike;
    try {
      socket = new this.Ctor!(url);
    } catch (e) {
      this.emit('error', e as Error);
      return this.scheduleReconnect();
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.setState('authenticating');
      const since = this.resumeFrom ?? this.lastEventId;
      this.resumeFrom = undefined;
      this.replayAt = since || undefined;
      this.held = since ? [] : undefined;
      if (since) this.startHold();
      // `seen`: the ids delivered recently, so that the server can replay from a little before
      // `since` (live pushes may arrive slightly out of stored order) without repeating any of them.
      const seen = recentIds(this.seenOrder);
      socket.send(
        JSON.stringify({ type: 'authenticate', access_token: token, ...(since ? { since, ...(seen.length ? { seen } : {}) } : {}) } satisfies ClientMessage),
      );
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(text(ev.data)) as ServerMessage;
      } catch {
        return this.emit('error', new Error('The server sent a message that is not JSON'));
      }
      this.onMessage(socket, msg);
    };
    socket.onerror = () => {
      // The close event follows; reconnecting happens there.
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.clearTimers();
      // A replay cut before caught_up: resume from where it got to (before any live event it held).
      if (this.replayAt !== undefined) this.resumeFrom = this.replayAt;
      this.replayAt = undefined;
      this.release();
      if (this.stopped) return this.setState('closed');
      if (ev.code !== 1000 && ev.code !== 1005)
        this.emit('error', new Error(`Connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}); reconnecting`));
      this.scheduleReconnect();
    };
  }

  private onMessage(socket: WebSocketLike, msg: ServerMessage): void {
    switch (msg.type) {
      case 'authenticated':
        this.attempt = 0;
        this.setState('open');
        this.startPings(socket);
        this.emit('authenticated', { sub: msg.sub, filter: msg.filter, expires_at: msg.expires_at });
        return;
      case 'event':
      case 'events':
        // `events`: many events in one message, same meaning as that many `event` messages in order.
        for (const e of msg.type === 'event' ? [msg.event] : Array.isArray(msg.events) ? msg.events : []) {
          if (this.held && !msg.replay) this.held.push(e);
          else this.deliver(e);
          if (msg.replay && this.replayAt !== undefined && typeof e?.id === 'string') this.replayAt = e.id;
        }
        return;
      case 'catch_up_paused':
        // The replay continues in another part: ask for it from where the server stopped, and keep
        // holding live events (the hold timer restarts) until caught_up.
        if (this.held) this.startHold();
        socket.send(JSON.stringify({ type: 'continue_catch_up', after: msg.last_id } satisfies ClientMessage));
        return;
      case 'caught_up':
        this.replayAt = undefined;
        this.release();
        this.emit('caught_up', { count: msg.count, ...(msg.last_id ? { last_id: msg.last_id } : {}) });
        return;
      case 'pong':
        clearTimeout(this.pongTimer);
        this.pongTimer = undefined;
        return;
      case 'authentication_failed':
        this.emit('error', new Error(`Authentication failed: ${msg.message}`));
        // A fixed token will not get better: stop. A token function may return a fresh one.
        if (typeof this.opts.token !== 'function') this.close();
        return;
      case 'closing':
        this.emit('error', new Error(`Server is closing the connection (${msg.reason}): ${msg.message}`));
        if (msg.reason === 'token_expired' && typeof this.opts.token !== 'function') return this.close();
        if (msg.reason === 'missed_events') {
          // An event could not be delivered: reconnect now (without waiting for the server's close)
          // and resume from where the server says (else the last event delivered), with `seen`.
          if (typeof msg.resume_from === 'string' && msg.resume_from) this.resumeFrom = msg.resume_from;
          socket.close(4001, 'missed events: resuming');
        }
        return;
      case 'error':
        this.emit('error', new Error(`${msg.error}: ${msg.message}`));
        return;
      default:
        return;
    }
  }

  /** (Re)starts the longest wait for the end of a replay (or its next part). */
  private startHold(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.release(), this.opts.replayHoldMs ?? 30_000);
  }

  /** Ends the replay hold: live events received meanwhile are delivered (duplicates dropped). */
  private release(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const held = this.held;
    this.held = undefined;
    for (const e of held ?? []) this.deliver(e);
  }

  private deliver(e: SessionEvent): void {
    if (!e || typeof e.id !== 'string' || this.seen.has(e.id)) return;
    this.seen.add(e.id);
    this.seenOrder.push(e.id);
    const window = this.opts.dedupeWindow ?? 1000;
    while (this.seenOrder.length > window) this.seen.delete(this.seenOrder.shift()!);
    this.lastEventId = e.id;
    this.emit('event', e);
  }

  private startPings(socket: WebSocketLike): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (this.socket !== socket || socket.readyState !== 1) return;
      socket.send(JSON.stringify({ type: 'ping' } satisfies ClientMessage));
      if (!this.pongTimer) {
        this.pongTimer = setTimeout(() => {
          this.pongTimer = undefined;
          if (this.socket === socket) socket.close(4000, 'no pong');
        }, this.opts.pongTimeoutMs ?? 10_000);
      }
    }, this.opts.pingIntervalMs ?? 300_000);
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState('waiting');
    const delay = backoffDelay(this.attempt++, this.opts.backoff, this.opts.random);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }
}
