#!/usr/bin/env node
/**
 * Prints a tenant's session events as they come:
 *   npm run listen -- --url wss://<api>.execute-api.<region>.amazonaws.com/v1 --tenant acme --token <access token> [--since <event id>] [--json]
 * The token may also come from the environment variable AUTH0_EVENTS_TOKEN. Reconnects and resumes by
 * itself; Ctrl-C stops.
 */
import { SessionEventsClient } from './session-events-client';

export function parseArgs(argv: string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const [k, inline] = a.slice(2).split('=', 2);
    if (inline !== undefined) out[k] = inline;
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) out[k] = argv[++i];
    else out[k] = true;
  }
  return out;
}

const USAGE = 'usage: npm run listen -- --url <wss URL of the WebSocket stage> --tenant <tenant> --token <access token> [--since <event id>] [--json]';

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const token = (typeof args.token === 'string' ? args.token : undefined) ?? process.env.AUTH0_EVENTS_TOKEN;
  if (args.help || typeof args.url !== 'string' || typeof args.tenant !== 'string' || !token) {
    process.stderr.write(`${USAGE}\n(the token may also be set in AUTH0_EVENTS_TOKEN)\n`);
    process.exit(args.help ? 0 : 2);
  }
  const json = Boolean(args.json);
  const client = new SessionEventsClient({ url: args.url, tenant: args.tenant, token, since: typeof args.since === 'string' ? args.since : undefined });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  client.on('state', (s) => log(`# ${s}`));
  client.on('authenticated', (m) => log(`# listening as ${m.sub} (filter ${m.filter}, token expires ${m.expires_at})`));
  client.on('caught_up', (m) => log(`# caught up: ${m.count} stored event(s) replayed`));
  client.on('error', (e) => log(`# ${e.message}`));
  client.on('event', (e) => {
    process.stdout.write(json ? `${JSON.stringify(e)}\n` : `${e.date}  ${e.type.padEnd(22)} ${e.user_id ?? '-'}  session=${e.session_id ?? '-'}  id=${e.id}\n`);
  });
  process.on('SIGINT', () => {
    client.close();
    process.exit(0);
  });
  client.start();
}

if (require.main === module) main();
