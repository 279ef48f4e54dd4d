/** Starting the local runtime (the code behind `npm start`) in a test, and raw WebSocket listeners. */
import { WebSocket } from 'ws';
import { devToken } from '../local/dev-tenant';
import { freePort } from '../local/emulators';
import { LocalPipeline, type PipelineOptions } from '../local/pipeline';

export const API_KEY = 'local-test-key-0123456789';

export async function startRuntime(opts: Partial<PipelineOptions> = {}): Promise<LocalPipeline> {
  const [port, wsPort] = [await freePort(), await freePort()];
  const pipeline = new LocalPipeline({ port, wsPort, apiKey: API_KEY, visibilityTimeoutSeconds: 1, ...opts });
  await pipeline.start();
  return pipeline;
}

export async function postLogStream(p: LocalPipeline, records: unknown[], tenant = 'dev'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${p.restUrl}/${tenant}/log-stream`, {
    method: 'POST',
    headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(records),
  });
  return { status: res.status, body: await res.json() };
}

export const tokenFor = (p: LocalPipeline, sub: string, scope: string) => devToken({ sub, scope, port: p.port });

export { eventsOf } from './realtime';
import { eventsOf } from './realtime';

/** A listener speaking the raw protocol: every frame is kept, so duplicates would show. */

export class RawListener {
  /** Every message received, as parsed JSON. */
  readonly frames: any[] = [];
  readonly arrivals = new Map<string, number>();
  private ws!: WebSocket;
  constructor(private readonly url: string) {}

  async open(token: string, since?: string): Promise<any> {
    this.ws = new WebSocket(`${this.url}/?tenant=dev`);
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    const authenticated = new Promise<any>((resolve) => {
      this.ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        this.frames.push(msg);
        for (const e of eventsOf(msg)) this.arrivals.set(e.id, Date.now());
        if (msg.type === 'authenticated' || msg.type === 'authentication_failed') resolve(msg);
      });
    });
    this.ws.send(JSON.stringify({ type: 'authenticate', access_token: token, ...(since ? { since } : {}) }));
    return authenticated;
  }

  events(): any[] {
    return this.frames.flatMap(eventsOf);
  }

  // A bound on a failure, not a speed target: the whole pipeline on a loaded two-core CI machine can take seconds.
  async waitFor(predicate: (events: any[]) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events())) {
      if (Date.now() > deadline) throw new Error(`listener timed out; has ${JSON.stringify(this.events().map((e) => e.id))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.ws?.close();
  }
}

export async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
