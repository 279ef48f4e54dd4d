/**
 * Review (frames > 128 KB): the client's `authenticate` must fit in one API Gateway WebSocket message
 * (128 KB; the local gateway closes with 1009 past it, API Gateway too), whatever the ids it lists in
 * `seen`. Event ids may be up to 512 bytes (lambda/shared/event-rules.ts LIMITS.idBytes): 1,000 of them
 * would be over 500 KB, the connection would be closed before it authenticates, and the client would
 * reconnect with the same message for ever. Expected: the message stays under 128 KB and keeps the
 * newest ids (hand-written sizes).
 */
import { WebSocketServer } from 'ws';
import { SessionEventsClient } from '../client/session-events-client';

it('after 1,000 events with 300-character ids, the resume authenticate is at most 128 KB and keeps since and the newest seen ids', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 128 * 1024 });
  await new Promise((r) => wss.once('listening', r));
  const id = (i: number) => `${String(i).padStart(6, '0')}-${'x'.repeat(293)}`; // 300 characters
  const auths: { size: number; msg: any }[] = [];
  wss.on('connection', (ws) =>
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw));
      if (m.type !== 'authenticate') return;
      auths.push({ size: Buffer.byteLength(String(raw)), msg: m });
      ws.send(JSON.stringify({ type: 'authenticated', sub: 'auth0|ops', filter: '*', expires_at: new Date(Date.now() + 3600e3).toISOString() }));
      if (auths.length === 1) {
        for (let i = 0; i < 1000; i += 100)
          ws.send(
            JSON.stringify({
              type: 'events',
              events: Array.from({ length: 100 }, (_, j) => ({
                id: id(i + j),
                type: 'logout',
                tenant: 'dev',
                date: '2026-01-01T00:00:00.000Z',
                log_type: 'slo',
              })),
            }),
          );
        setTimeout(() => ws.terminate(), 100);
      }
    }),
  );
  const port = (wss.address() as { port: number }).port;
  const client = new SessionEventsClient({ url: `ws://127.0.0.1:${port}`, tenant: 'dev', token: 'tok', backoff: { initialMs: 10, maxMs: 20 } });
  client.on('error', () => undefined);
  client.start();
  const deadline = Date.now() + 5000;
  while (auths.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  client.close();
  await new Promise((r) => wss.close(r));
  expect(auths.length).toBe(2);
  const resume = auths[1];
  expect(resume.size).toBeLessThanOrEqual(128 * 1024);
  expect(resume.msg.since).toBe(id(999));
  expect(resume.msg.seen.at(-1)).toBe(id(999));
  // The newest ids are kept: at least 200 of them (200 x 303 bytes = 60 KB).
  expect(resume.msg.seen.length).toBeGreaterThanOrEqual(200);
  expect(resume.msg.seen).toEqual(Array.from({ length: resume.msg.seen.length }, (_, k) => id(1000 - resume.msg.seen.length + k)));
});
