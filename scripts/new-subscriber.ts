/**
 * Scaffolds a subscriber: a handler, its test and the registry entry.
 *
 *   npm run new-subscriber -- <name> [--types user_blocked,user_unblocked] [--min-level 3] [--root <dir>]
 *
 * Writes lambda/<name>/handler.ts, test/subscribers/<name>.test.ts, and adds an entry to
 * lib/subscribers.ts (before the "new-subscriber" marker). --root writes into another copy of the
 * repository (default: this one). Refuses to overwrite anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVENT_TYPES, type EventType, type Level } from '../lambda/shared/event';
import { SUBSCRIBER_NAME, validateDefinition, type SubscriberDefinition } from '../lib/subscriber-definition';

export const REGISTRY_MARKER = '// new-subscriber: entries are added above this line';

export interface ScaffoldOptions {
  name: string;
  root: string;
  types?: EventType[];
  minLevel?: Level;
}

export interface ScaffoldResult {
  handler: string;
  test: string;
  registry: string;
}

const USAGE = 'usage: npm run new-subscriber -- <name> [--types type1,type2] [--min-level 0-4] [--root <dir>]';

export function parseArgs(argv: string[], cwd = process.cwd()): ScaffoldOptions {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2);
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`--${k} needs a value\n${USAGE}`);
      flags[k] = v;
    } else positional.push(a);
  }
  for (const k of Object.keys(flags)) if (!['types', 'min-level', 'root'].includes(k)) throw new Error(`unknown option --${k}\n${USAGE}`);
  if (positional.length !== 1) throw new Error(USAGE);
  const types = flags.types
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of types ?? [])
    if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new Error(`--types: ${JSON.stringify(t)} is not an event type; use ${EVENT_TYPES.join(', ')}`);
  const minLevel = flags['min-level'] === undefined ? undefined : Number(flags['min-level']);
  if (minLevel !== undefined && (!Number.isInteger(minLevel) || minLevel < 0 || minLevel > 4)) throw new Error('--min-level must be 0..4');
  return {
    name: positional[0],
    root: path.resolve(cwd, flags.root ?? path.join(__dirname, '..')),
    types: types as EventType[] | undefined,
    minLevel: minLevel as Level | undefined,
  };
}

function handlerSource(name: string): string {
  return `/**
 * Subscriber \`${name}\`: TODO say what it does with each event and which team owns it.
 *
 * Registered in lib/subscribers.ts (filter, batch size, concurrency, alarm thresholds). Each record
 * arrives as a validated CanonicalEvent; an invalid record never reaches handleEvent (it is reported
 * as a batch item failure). Throw to fail just this record: SQS retries it, then moves it to the DLQ.
 * The same event can arrive more than once: make the work idempotent on \`event.id\`.
 */
import type { CanonicalEvent } from '../shared/event';
import { createLogger } from '../shared/logger';
import { sqsEventHandler, type RecordContext } from '../shared/sqs-events';

const logger = createLogger('auth0-events-${name}');

export async function handleEvent(event: CanonicalEvent, { logger: log }: RecordContext): Promise<void> {
  // TODO: the work. Every line logged through \`log\` carries event_id, tenant and type.
  log.info('event received', { user_id: event.user_id, log_type: event.log_type });
}

export const handler = sqsEventHandler(handleEvent, { logger });
`;
}

function testSource(name: string, type: EventType): string {
  return `import { handler } from '../../lambda/${name}/handler';
import { validateDefinition } from '../../lib/subscriber-definition';
import { SUBSCRIBERS } from '../../lib/subscribers';
import { canonicalEvent, failedIds, sqsEvent, sqsRecord } from '../support/events';

describe('subscriber ${name}', () => {
  it('is registered with a valid definition and this handler', () => {
    const definition = SUBSCRIBERS.find((s) => s.name === '${name}');
    expect(definition?.handler?.entry).toBe('lambda/${name}/handler.ts');
    expect(() => validateDefinition(definition!)).not.toThrow();
  });

  it('handles a matching event', async () => {
    expect(await handler(sqsEvent(canonicalEvent({ type: '${type}' })))).toEqual({ batchItemFailures: [] });
  });

  it('reports an invalid record as a batch item failure, and only that one', async () => {
    const res = await handler(sqsEvent(canonicalEvent({ type: '${type}' }), sqsRecord('not json', 'bad')));
    expect(failedIds(res)).toEqual(['bad']);
  });
});
`;
}

function registryEntry(d: SubscriberDefinition): string {
  const filter: string[] = [];
  if (d.filter?.types) filter.push(`types: [${d.filter.types.map((t) => `'${t}'`).join(', ')}]`);
  if (d.filter?.level) filter.push(`level: { min: ${d.filter.level.min} }`);
  return `  {
    name: '${d.name}',
    description: 'TODO: what ${d.name} does and which team owns it',
    // Fields: types, logTypes (exact or prefix*), level { min, max }, tenants, sources. See docs/fanout.md.
    filter: { ${filter.join(', ')} },
    handler: { entry: '${d.handler!.entry}' },
  },
`;
}

export function scaffold(opts: ScaffoldOptions): ScaffoldResult {
  const { name, root } = opts;
  if (!SUBSCRIBER_NAME.test(name))
    throw new Error(`name ${JSON.stringify(name)}: use 2-40 lower-case letters, digits and dashes, starting with a letter (e.g. billing-sync)`);
  const registry = path.join(root, 'lib', 'subscribers.ts');
  const handler = path.join(root, 'lambda', name, 'handler.ts');
  const test = path.join(root, 'test', 'subscribers', `${name}.test.ts`);
  if (!fs.existsSync(registry)) throw new Error(`${registry} not found: is --root a copy of this repository?`);
  const source = fs.readFileSync(registry, 'utf8');
  if (!source.includes(REGISTRY_MARKER)) throw new Error(`${registry} has lost its marker line "${REGISTRY_MARKER}": add the entry by hand`);
  if (new RegExp(`name: '${name}'`).test(source)) throw new Error(`a subscriber named ${name} is already in lib/subscribers.ts`);
  for (const f of [path.dirname(handler), test]) if (fs.existsSync(f)) throw new Error(`${path.relative(root, f)} already exists; pick another name`);

  const types = opts.types?.length ? opts.types : ['user_registered' as EventType];
  const definition: SubscriberDefinition = {
    name,
    filter: { types, ...(opts.minLevel !== undefined ? { level: { min: opts.minLevel } } : {}) },
    handler: { entry: `lambda/${name}/handler.ts` },
  };
  validateDefinition(definition);

  fs.mkdirSync(path.dirname(handler), { recursive: true });
  fs.writeFileSync(handler, handlerSource(name));
  fs.mkdirSync(path.dirname(test), { recursive: true });
  fs.writeFileSync(test, testSource(name, types[0]));
  const at = source.indexOf(REGISTRY_MARKER);
  const lineStart = source.lastIndexOf('\n', at) + 1;
  fs.writeFileSync(registry, source.slice(0, lineStart) + registryEntry(definition) + source.slice(lineStart));
  return { handler, test, registry };
}

if (require.main === module) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const out = scaffold(opts);
    const rel = (f: string) => path.relative(process.cwd(), f) || f;
    process.stdout.write(
      [
        `Subscriber ${opts.name} scaffolded:`,
        `  ${rel(out.handler)}   the handler: put the work in handleEvent (idempotent on event.id)`,
        `  ${rel(out.test)}   its test`,
        `  ${rel(out.registry)}   the registry entry: adjust filter, description and options`,
        'Next: npx jest ' + path.relative(opts.root, out.test) + ' && npx cdk synth --quiet',
        '',
      ].join('\n'),
    );
  } catch (e) {
    process.stderr.write(`new-subscriber: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
