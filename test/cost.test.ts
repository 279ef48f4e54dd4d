/** The cost model's arithmetic (scripts/cost.ts): tiers, request counts, and where each design wins. */
import { costReport, monthlyCost, perActionExtra, tiered } from '../scripts/cost';
import { PRICES } from '../scripts/prices';

test('tiered prices: REST requests cost $3.50/M up to 333 M, then $2.80/M', () => {
  expect(tiered(1e6, PRICES.apiGateway.restPerMillionTiers)).toBeCloseTo(3.5, 6);
  expect(tiered(333e6, PRICES.apiGateway.restPerMillionTiers)).toBeCloseTo(333 * 3.5, 6);
  expect(tiered(334e6, PRICES.apiGateway.restPerMillionTiers)).toBeCloseTo(333 * 3.5 + 2.8, 6);
  expect(tiered(0, PRICES.apiGateway.restPerMillionTiers)).toBe(0);
});

test('request counts: batches of 50 need 1/50 of the REST requests and 5 PublishBatch calls each', () => {
  const r = monthlyCost({ eventsPerMonth: 1e6, batchSize: 50, actionShare: 0, listeners: 0 });
  expect(r.usage.restRequests).toBeCloseTo(20_000, 6);
  expect(r.usage.publishRequests).toBeCloseTo(100_000, 6);
  expect(r.original['API Gateway REST requests']).toBeCloseTo(3.5, 6);
  expect(r.design['API Gateway REST requests']).toBeCloseTo(0.07, 6);
  expect(r.original['SNS requests']).toBeCloseTo(0.5, 6);
  expect(r.design['SNS requests']).toBeCloseTo(0.05, 6);
  // Everything after the topic is the same in both designs.
  for (const k of ['SQS requests', 'DynamoDB writes and reads', 'WebSocket messages', 'WebSocket connection minutes']) expect(r.design[k]).toBe(r.original[k]);
  expect(r.designTotal).toBeCloseTo(Object.values(r.design).reduce((a, b) => a + b, 0), 9);
});

test('single Action calls cost more than the original (authorizer + ingest Lambda); batches cost less', () => {
  expect(perActionExtra()).toBeGreaterThan(0);
  const actions = monthlyCost({ eventsPerMonth: 1e8, batchSize: 50, actionShare: 1, listeners: 100 });
  expect(actions.ratio).toBeGreaterThan(1);
  const batched = monthlyCost({ eventsPerMonth: 1e8, batchSize: 50, actionShare: 0.02, listeners: 100 });
  expect(batched.ratio).toBeLessThan(0.5);
  // The ratio falls as batches grow.
  expect(monthlyCost({ eventsPerMonth: 1e8, batchSize: 100, actionShare: 0, listeners: 100 }).ratio).toBeLessThan(monthlyCost({ eventsPerMonth: 1e8, batchSize: 10, actionShare: 0, listeners: 100 }).ratio);
});

test('the report prints 1 M, 100 M and 1 B a month with the prices\' date, and rejects bad arguments', () => {
  const text = costReport([]);
  for (const n of ['1,000,000 events', '100,000,000 events', '1,000,000,000 events', PRICES.asOf, 'ratio']) expect(text).toContain(n);
  expect(() => monthlyCost({ eventsPerMonth: 1e6, batchSize: 0, actionShare: 0, listeners: 0 })).toThrow(/batch-size/);
  expect(() => monthlyCost({ eventsPerMonth: 1e6, batchSize: 10, actionShare: 2, listeners: 0 })).toThrow(/action-share/);
});
