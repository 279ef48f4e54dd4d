/**
 * IAM in the synthesized template: no Allow statement in any policy (identity policies, inline role
 * policies, managed policies, KMS key policies, topic and queue policies) grants every action (`*`) or
 * uses NotAction; a whole-service wildcard (`kms:*`) appears only in KMS key policies for the account
 * root (the key policy AWS documents, which delegates to IAM). test/stack.ingest.test.ts checks
 * AWS::IAM::Policy only; this covers every policy-bearing resource.
 */
import { buildStack } from './support/stack';

const { template } = buildStack();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, any> }>;

interface Found {
  resource: string;
  type: string;
  statement: any;
}
function statements(): Found[] {
  const out: Found[] = [];
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    const docs: any[] = [];
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::SNS::TopicPolicy' || r.Type === 'AWS::SQS::QueuePolicy')
      docs.push(p.PolicyDocument);
    if (r.Type === 'AWS::IAM::Role') docs.push(...(p.Policies ?? []).map((x: any) => x.PolicyDocument));
    if (r.Type === 'AWS::KMS::Key') docs.push(p.KeyPolicy);
    for (const d of docs) for (const s of d?.Statement ?? []) out.push({ resource: id, type: r.Type, statement: s });
  }
  return out;
}

test('the template has policies of several kinds to check', () => {
  const types = new Set(statements().map((s) => s.type));
  expect([...types]).toEqual(expect.arrayContaining(['AWS::IAM::Policy', 'AWS::KMS::Key']));
  expect(statements().length).toBeGreaterThan(20);
});

test('no Allow statement grants every action or uses NotAction', () => {
  const bad = statements().filter(
    ({ statement: s }) => s.Effect === 'Allow' && (s.NotAction !== undefined || [s.Action].flat().some((a: unknown) => a === '*')),
  );
  expect(bad.map((b) => `${b.type} ${b.resource}: ${JSON.stringify(b.statement).slice(0, 200)}`)).toEqual([]);
});

test('whole-service wildcards (svc:*) only in KMS key policies, for the account root', () => {
  const wide = statements().filter(
    ({ statement: s }) => s.Effect === 'Allow' && [s.Action].flat().some((a: unknown) => typeof a === 'string' && /^[a-z0-9-]+:\*$/.test(a)),
  );
  for (const w of wide) {
    expect(w.type).toBe('AWS::KMS::Key');
    expect(JSON.stringify(w.statement.Principal)).toMatch(/:root/);
  }
});
