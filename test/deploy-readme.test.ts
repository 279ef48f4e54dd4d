/**
 * The Deploy steps (docs/deploy.md), read against the template `cdk synth` makes from the shipped cdk.json
 * (issue 20): what a deployer copies from it must work on that template.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shippedTemplates, type CfnTemplate, type ShippedTemplates } from '../scripts/shipped-template';

// The full Deploy section lives in docs/deploy.md (the README keeps a short version).
const deploySection = readFileSync(join(__dirname, '..', 'docs', 'deploy.md'), 'utf8');
let templates: ShippedTemplates;
let template: CfnTemplate;
beforeAll(() => {
  templates = shippedTemplates();
  template = templates.root;
});

/**
 * The filter of a JMESPath `Outputs[?fn(OutputKey,'text')]` query, as the AWS CLI evaluates it: the
 * JMESPath string functions ends_with, starts_with and contains (https://jmespath.org/specification.html).
 */
function outputFilter(query: string): (key: string) => boolean {
  const m = /Outputs\[\?(ends_with|starts_with|contains)\(OutputKey,\s*'([^']+)'\)\]/.exec(query);
  if (!m) throw new Error(`no Outputs[?fn(OutputKey,'...')] filter in ${query}`);
  const [, fn, text] = m;
  return (key) => (fn === 'ends_with' ? key.endsWith(text) : fn === 'starts_with' ? key.startsWith(text) : key.includes(text));
}

describe("Deploy step 6: the query that lists each tenant's API key id", () => {
  const query = () => {
    const m = /aws cloudformation describe-stacks[^\n]*\\\n\s*--query "([^"]+)"/.exec(deploySection);
    if (!m) throw new Error('Deploy step 6 has no describe-stacks --query');
    return m[1];
  };

  it('the filter works the way the AWS CLI reads it (hand-written cases)', () => {
    expect(outputFilter("Outputs[?ends_with(OutputKey,'ApiKeyId')]")('IngestApiKeyId09D272FBB')).toBe(false);
    expect(outputFilter("Outputs[?contains(OutputKey,'ApiKeyId')]")('IngestApiKeyId09D272FBB')).toBe(true);
    expect(outputFilter("Outputs[?starts_with(OutputKey,'IngestApiKeyId')]")('IngestApiKeyId1183353EF')).toBe(true);
  });

  it('lists the nested stacks that hold the keys (TenantKeysN), and no other', () => {
    const m =
      /list-stack-resources[^\n]*\\\n\s*--query "StackResourceSummaries\[\?ResourceType=='AWS::CloudFormation::Stack' && starts_with\(LogicalResourceId,'([^']+)'\)\]/.exec(
        deploySection,
      );
    if (!m) throw new Error('Deploy step 6 has no list-stack-resources query of the nested stacks');
    const listed = Object.entries(template.Resources)
      .filter(([id, r]) => r.Type === 'AWS::CloudFormation::Stack' && id.startsWith(m[1]))
      .map(([id]) => id)
      .sort();
    const withKeys = Object.entries(templates.nested)
      .filter(([, t]) => Object.values(t.Resources).some((r) => r.Type === 'AWS::ApiGateway::ApiKey'))
      .map(([id]) => id)
      .sort();
    expect(listed).toEqual(withKeys);
    expect(listed.length).toBeGreaterThan(0);
  });

  it('matches exactly one output per tenant of cdk.json (2), each the id of an API key', () => {
    const keep = outputFilter(query());
    // Each nested stack the loop describes (the keys live there: lib/tenant-groups.ts), and the root.
    const matched = [template, ...Object.values(templates.nested)].flatMap((t) =>
      Object.entries(t.Outputs ?? {})
        .filter(([key]) => keep(key))
        .map(([, output]) => ({ t, output })),
    );
    expect(matched).toHaveLength(2);
    for (const { t, output } of matched) {
      const ref = (output.Value as { Ref?: string }).Ref!;
      expect(t.Resources[ref].Type).toBe('AWS::ApiGateway::ApiKey');
      expect(output.Description).toMatch(/^Id of tenant (acme|acme@eu)'s API key$/);
    }
  });
});
