/**
 * The page's flow counts (local/flow.ts) from the other side: answers a front door must not count
 * (refused, malformed, lying), and SQS redeliveries that must not count as new deliveries.
 * The end-to-end counts in a browser are in local-page.browser.test.ts.
 */
import { acceptedBy, FlowCounter } from '../local/flow';

describe('acceptedBy: what a front door answer counts (hand-written table)', () => {
  const cases: [string, { statusCode: number; body: string } | undefined, { count: number; ids: string[] }][] = [
    ['Log Stream 200 with published', { statusCode: 200, body: '{"received":3,"published":3}' }, { count: 3, ids: [] }],
    ['Action 202 with its id', { statusCode: 202, body: '{"id":"act_1"}' }, { count: 1, ids: ['act_1'] }],
    ['503: nothing on the topic', { statusCode: 503, body: '{"published":2,"error":"publish_failed"}' }, { count: 0, ids: [] }],
    ['400 with an id in the body', { statusCode: 400, body: '{"id":"x","error":"invalid_body"}' }, { count: 0, ids: [] }],
    ['2xx, body not JSON', { statusCode: 200, body: 'ok' }, { count: 0, ids: [] }],
    ['2xx, JSON null', { statusCode: 200, body: 'null' }, { count: 0, ids: [] }],
    ['published negative', { statusCode: 200, body: '{"published":-1}' }, { count: 0, ids: [] }],
    ['published a fraction', { statusCode: 200, body: '{"published":1.5}' }, { count: 0, ids: [] }],
    ['published a string', { statusCode: 200, body: '{"published":"7"}' }, { count: 0, ids: [] }],
    ['empty id', { statusCode: 202, body: '{"id":""}' }, { count: 0, ids: [] }],
    ['no answer', undefined, { count: 0, ids: [] }],
  ];
  test.each(cases)('%s', (_what, result, expected) => {
    expect(acceptedBy(result)).toEqual(expected);
  });
});

test('a message received again after its visibility timeout is one delivery; a failed attempt is counted as failed', () => {
  const flow = new FlowCounter({ stores: ['events', 'users'] });
  flow.declareSubscriber('users');
  flow.declareDoor('eventbridge');
  expect(
    flow.delivered('users', [
      { messageId: 'm1', ok: true },
      { messageId: 'm2', ok: false },
    ]),
  ).toBe(1);
  expect(flow.delivered('users', [{ messageId: 'm1', ok: true }])).toBe(0); // redelivered m1
  expect(flow.delivered('users', [{ messageId: 'm2', ok: true }])).toBe(1); // m2 retried and done
  flow.door('log-stream', 2);
  flow.topic();
  flow.stored('events', 1);
  flow.pushed();
  expect(flow.snapshot()).toEqual({
    doors: { eventbridge: 0, 'log-stream': 2 },
    topic: 1,
    subscribers: { users: { delivered: 2, failed: 1 } },
    stored: { events: 1, users: 0 },
    pushed: 1,
  });
});
