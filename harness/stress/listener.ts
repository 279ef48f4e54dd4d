/**
 * A lightweight WebSocket listener for the stress runs: speaks the raw protocol, counts every event
 * frame per id (so a duplicate shows), and, when `resume` is on, reconnects after any close with
 * `since` = the last event id it received, as the client in client/ does.
 */
import { WebSocket } from 'ws';

export interface ListenerOptions {
  url: string;
  tenant?: string;
  token: () => Promise<string>;
  resume?: boolean;
  onEvent?: (event: { id: string; date?: string; type?: string; user_id?: string }, replay: boolean, at: number) => void;
}

export class StressListener {
  readonly counts = new Map<string, number>();
  lastId?: string;
  connects = 0;
  unexpectedCloses = 0;
  failedAttempts = 0;
  errors: string[] = [];
  caughtUp = 0;
  /** What happened when (ms): authenticated, closed; and each arrival of an id seen more than once. */
  readonly timeline: string[] = [];
  readonly arrivals = new Map<string, string[]>();
  replayed = 0;
  private ws?: WebSocket;
  private stopped = false;
  private authenticated?: (ok: boolean) => void;

  constructor(private readonly opts: ListenerOptions) {}

  /** Connects and authenticates; resolves true when authenticated. */
  async connect(): Promise<boolean> {
    const token = await this.opts.token();
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const settle = (ok: boolean) => {
        if (!settled) {
          settled = true;
          resolve(ok);
        }
      };
      const ws = new WebSocket(`${this.opts.url}/?tenant=${encodeURIComponent(this.opts.tenant ?? 'dev')}`);
      this.ws = ws;
      const timer = setTimeout(() => {
        settle(false);
        ws.terminate();
      }, 15_000);
      let live = false;
      ws.on('open', () => {
        this.authenticated = (ok) => {
          clearTimeout(timer);
          settle(ok);
        };
        // Like the client in client/: `since` plus the ids received recently (`seen`).
        const seen = [...this.counts.keys()].slice(-1000);
        ws.send(JSON.stringify({ type: 'authenticate', access_token: token, ...(this.lastId ? { since: this.lastId, seen } : {}) }));
      });
      ws.on('message', (data) => {
        const at = Date.now();
        let msg: any;
        try {
          msg = JSON.parse(data.toString());
        } catch {
          this.errors.push('non-JSON frame');
          return;
        }
        if (msg.type === 'event' || msg.type === 'events') {
          // {"type":"events"} carries several events in one frame: the same as that many event messages.
          for (const event of msg.type === 'event' ? [msg.event] : Array.isArray(msg.events) ? msg.events : []) {
            const id = event?.id as string;
            this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
            const a = this.arrivals.get(id) ?? [];
            a.push(`${msg.replay ? 'replay' : 'live'}@${at}`);
            this.arrivals.set(id, a);
            this.lastId = id;
            if (msg.replay) this.replayed++;
            this.opts.onEvent?.(event, !!msg.replay, at);
          }
        } else if (msg.type === 'authenticated') {
          this.connects++;
          live = true;
          this.timeline.push(`authenticated@${Date.now()} since=${this.lastId ?? '-'}`);
          this.authenticated?.(true);
        } else if (msg.type === 'authentication_failed') {
          this.errors.push(`authentication_failed: ${msg.message}`);
          this.authenticated?.(false);
        } else if (msg.type === 'caught_up') {
          this.caughtUp++;
        } else if (msg.type === 'error') {
          this.errors.push(`${msg.error}: ${msg.message}`);
        } else if (msg.message === 'Internal server error') {
          this.authenticated?.(false);
          ws.close();
        }
      });
      ws.on('error', () => undefined);
      ws.on('unexpected-response', () => undefined);
      ws.on('close', () => {
        clearTimeout(timer);
        settle(false);
        if (live) this.timeline.push(`closed@${Date.now()}`);
        // Only a live connection's close starts a reconnect; a failed attempt is retried by reconnect().
        if (this.ws !== ws || this.stopped || !live) return;
        this.unexpectedCloses++;
        if (this.opts.resume) void this.reconnect();
      });
    });
  }

  /** Connects until authenticated (bounded: 60 attempts with backoff up to 2 s). */
  async reconnect(): Promise<boolean> {
    for (let attempt = 0; attempt < 60 && !this.stopped; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random() / 2)));
      if (this.stopped) return false;
      if (await this.connect()) return true;
      this.failedAttempts++;
    }
    return false;
  }

  /** A network drop seen from the client side: the socket is destroyed without a close frame. */
  drop(): void {
    this.ws?.terminate();
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(data: string): void {
    this.ws?.send(data);
  }

  close(): void {
    this.stopped = true;
    this.ws?.close();
  }
}
