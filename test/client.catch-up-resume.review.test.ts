/**
 * Review of the client's catch-up handling (issue 18, item 2) as a failing server would try it: a replay
 * that ends without `caught_up` (its `continue_catch_up` refused because the token expired meanwhile,
 * then the connection closed). The live events it held are delivered on close, but the next connect must
 * resume from where the REPLAY got to, not from the newest live event: otherwise the events not replayed
 * yet (between the pause and the live ones) are never delivered. Expected values by hand.
 */
import { WebSocketServer } from 'ws';
import { SessionEventsClient } from '../client/session-events-client';

const ev = (id: string) => ({ id, type: 'logout', tenant: 'dev', user_id: 'auth0|u', date: '2026-01-01T00:00:00.000Z', log_type: 'slo' });

it('a replay cut before caught_up (continue refused, then closed): the next connect resumes from the last replayed event', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const sinces: unknown[] = [];
  wss.on('connection', (ws) =>
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw));
      if (m.type === 'authenticate') {
        sinces.push(m.since);
        ws.send(JSON.stringify({ type: 'authenticated', sub: 'auth0|ops', filter: '*', expires_at: new Date(Date.now() + 3600e3).toISOString() }));
        if (sinces.length > 1) return;
        ws.send(JSON.stringify({ type: 'events', replay: true, events: [ev('r1'), ev('r2')] }));
        ws.send(JSON.stringify({ type: 'event', event: ev('live9') })); // live, stored after the seam
        ws.send(JSON.stringify({ type: 'catch_up_paused', count: 2, last_id: 'r2', reason: 'time_budget' }));
      }
      if (m.type === 'continue_catch_up') {
        // The token expired between the parts: the server refuses, and the closer closes the connection.
        ws.send(
          JSON.stringify({
            type: 'error',
            error: 'no_catch_up_pending',
            message: 'No catch-up of this connection is paused at "r2" (... or the token expired).',
          }),
        );
        ws.send(JSON.stringify({ type: 'closing', reason: 'token_expired', message: 'The access token expired' }));
        ws.close(1000);
      }
    }),
  );
  const port = (wss.address() as { port: number }).port;
  const client = new SessionEventsClient({
    url: `ws://127.0.0.1:${port}`,
    tenant: 'dev',
    token: async () => 'fresh',
    since: 'r0',
    backoff: { initialMs: 10, maxMs: 20 },
  });
  const got: string[] = [];
  client.on('event', (e) => got.push(e.id));
  client.on('error', () => undefined);
  client.start();
  const deadline = Date.now() + 5000;
  while (sinces.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  client.close();
  await new Promise((r) => wss.close(r));
  expect(got).toEqual(['r1', 'r2', 'live9']);
  // r3.. (stored between r2 and the seam) were never replayed: resume after r2, not after live9.
  expect(sinces).toEqual(['r0', 'r2']);
});
