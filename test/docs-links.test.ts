/**
 * The documentation holds together (issue 22): every relative link and anchor of README.md and
 * docs/*.md resolves, every alarm's runbook link lands on a heading of docs/operations.md, and no file
 * of the repository cites the outside design page (a clone has no such file: the contract is
 * docs/contract.md).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNBOOK } from '../lib/config';
import { brokenLinks, documentationFiles, headingSlugs, links, slug } from './support/markdown-links';

const ROOT = join(__dirname, '..');

describe('GitHub heading slugs (hand-written from GitHub rendering)', () => {
  it.each([
    ['Try it in two minutes (no AWS account)', 'try-it-in-two-minutes-no-aws-account'],
    ['Configuration (`cdk.json`, context `auth0-events`)', 'configuration-cdkjson-context-auth0-events'],
    ["Backfill a new team's subscriber, end to end", 'backfill-a-new-teams-subscriber-end-to-end'],
    ['Proof before deploy (cfn-lint and rehearsal)', 'proof-before-deploy-cfn-lint-and-rehearsal'],
    ['Client (`client/`)', 'client-client'],
    ['Stores (DynamoDB)', 'stores-dynamodb'],
    ['ArchiveFreshness', 'archivefreshness'],
    ['Auth0 → EventBridge', 'auth0--eventbridge'],
    ['6. Cost model (`npm run cost`)', '6-cost-model-npm-run-cost'],
    ['snake_case stays', 'snake_case-stays'],
  ])('%s -> %s', (heading, expected) => {
    expect(slug(heading)).toBe(expected);
  });

  it('numbers a repeated heading -1, -2, and ignores headings in code blocks', () => {
    const text = '# T\n## Overview\n```sh\n## Overview\n```\n## Overview\n### Overview\n';
    expect([...headingSlugs(text)]).toEqual(['t', 'overview', 'overview-1', 'overview-2']);
  });

  it('finds links outside code only', () => {
    const text = 'see [a](a.md#x) and `[b](b.md)`\n```\n[c](c.md)\n```\n![img](p.png)';
    expect(links(text).map((l) => l.target)).toEqual(['a.md#x', 'p.png']);
  });
});

describe('the checker, against a broken tree (each case written by hand)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'docs-links-'));
  writeFileSync(
    join(dir, 'a.md'),
    '# A\n## Here it is\n[ok](#here-it-is) [ok2](b.md#b-part) [bad anchor](#nowhere)\n[missing](gone.md) [bad other](b.md#nope) [web](https://example.com/x#y)\n',
  );
  writeFileSync(join(dir, 'b.md'), '# B\n## B part\n');
  it('reports exactly the missing file and the two missing anchors', () => {
    expect(brokenLinks([join(dir, 'a.md')], dir)).toEqual([
      'a.md:3: #nowhere: no heading #nowhere in a.md',
      'a.md:4: gone.md: no such file gone.md',
      'a.md:4: b.md#nope: no heading #nope in b.md',
    ]);
  });
});

describe('README.md and docs/*.md', () => {
  const files = documentationFiles(ROOT);

  it('include the README, the contract and the runbook', () => {
    expect(files.map((f) => f.slice(ROOT.length + 1))).toEqual(expect.arrayContaining(['README.md', 'docs/contract.md', 'docs/operations.md']));
  });

  it('every relative link and anchor resolves', () => {
    expect(brokenLinks(files, ROOT)).toEqual([]);
  });

  it('each doc starts with who it is for and what it answers', () => {
    const docs = files.filter((f) => f.includes('/docs/'));
    const without = docs.filter((f) => !/\*\*For\*\* [^]*?\*\*Answers\*\*/.test(readFileSync(f, 'utf8').split('\n## ')[0]));
    expect(without.map((f) => f.slice(ROOT.length + 1))).toEqual([]);
  });
});

describe('alarm runbook links', () => {
  // Every alarm of lib/ names its runbook entry as `${RUNBOOK}#<alarm id in lower case>`; the alarm ids
  // are read from the code that makes them (the description templates), the headings from the doc.
  const runbook = headingSlugs(readFileSync(join(ROOT, RUNBOOK), 'utf8'));

  it('point into docs/operations.md', () => {
    expect(RUNBOOK).toBe('docs/operations.md');
  });

  it.each([
    // hand-written: the operations alarms (lib/monitoring.ts), the archive's (lib/event-archive.ts)
    'ingesterrors',
    'ingestthrottles',
    'api5xxrate',
    'apilatencyp99',
    'ingest4xxrate',
    'publishfailures',
    'topicdeliveryfailures',
    'topicredrivefailures',
    'noevents',
    'lag',
    'dlqdepth',
    'deliverydlqdepth',
    'errors',
    'throttles',
    'pushiteratorage',
    'pusherrors',
    'pushfailuresdepth',
    'pushsendfailures',
    'closechecksdlqdepth',
    'socketintegrationerrors',
    'eventbridgelag',
    'eventbridgedlqdepth',
    'eventbridgedeliverydlqdepth',
    'eventbridgeingesterrors',
    'eventbridgefailedinvocations',
    'eventbridgedlqsendfailed',
    'archivefreshness',
    'archivedeliveryfailures',
    'archivedeliverydlqdepth',
    'pollererrors',
    'pollerbehind',
    'pollerrefused',
    'pollernotrunning', // lib/log-poller.ts
  ])('#%s is a heading of the runbook', (anchor) => {
    expect(runbook.has(anchor)).toBe(true);
  });
});

describe('the contract lives in the repository', () => {
  // Built from parts so that this file does not cite it itself.
  const outside = ['shared', 'design.md'].join('/');

  it(`no tracked file cites ${outside}`, () => {
    const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f !== '' && !/\.(png|jpg|gz|tgz|ico)$/.test(f));
    const citing = tracked.filter((f) => {
      try {
        return readFileSync(join(ROOT, f), 'utf8').includes(outside);
      } catch {
        return false; // listed but absent (deleted in the work tree)
      }
    });
    expect(citing).toEqual([]);
  });
});
