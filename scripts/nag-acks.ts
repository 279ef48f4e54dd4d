/**
 * npm run nag-acks — every cdk-nag finding the stack acknowledges, with its reason, read from the
 * synthesized app's `aws:cdk:acknowledged-rules` metadata (config from cdk.json, no bundling).
 * `--markdown` prints a table for docs.
 */
import { shippedStack } from './shipped-template';

export interface NagAck {
  path: string;
  rule: string;
  reason: string;
}

export function nagAcknowledgements(): NagAck[] {
  const { app } = shippedStack();
  const acks: NagAck[] = [];
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata.filter((x) => x.type === 'aws:cdk:acknowledged-rules')) {
      for (const [rule, reason] of Object.entries(m.data as Record<string, string>)) acks.push({ path: c.node.path, rule, reason: String(reason) });
    }
  }
  return acks.sort((a, b) => a.rule.localeCompare(b.rule) || a.path.localeCompare(b.path));
}

export function formatAcks(acks: NagAck[], markdown: boolean): string {
  if (!markdown) return [`${acks.length} acknowledged cdk-nag findings`, ...acks.map((a) => `- ${a.rule} at ${a.path}: ${a.reason}`)].join('\n');
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return ['| rule | construct | reason |', '|---|---|---|', ...acks.map((a) => `| ${esc(a.rule)} | \`${esc(a.path)}\` | ${esc(a.reason)} |`)].join('\n');
}

if (require.main === module) console.log(formatAcks(nagAcknowledgements(), process.argv.includes('--markdown')));
