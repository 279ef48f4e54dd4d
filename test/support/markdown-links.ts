/**
 * Relative links and anchors of Markdown files, resolved the way GitHub renders them: a link is
 * `[text](target)` or `![alt](target)` outside code (fenced blocks and inline code spans); a target is
 * a path relative to the file, optionally with `#anchor`, or `#anchor` alone (the same file). An anchor
 * must be the slug of a heading of the target file, by GitHub's rules (`headingSlugs`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * GitHub's heading anchor: the heading's text (link targets dropped, HTML tags removed), lower case,
 * every character that is not a letter, a digit, a space, `-` or `_` removed, each space a `-`.
 */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Lines outside fenced code blocks, with their line numbers (1-based). */
function proseLines(text: string): Array<{ line: string; n: number }> {
  const out: Array<{ line: string; n: number }> = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1][0];
      else if (m[1][0] === fence) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line, n: i + 1 });
  });
  return out;
}

/** The anchors of a Markdown text: its headings' slugs, a repeated slug numbered `-1`, `-2`, ... as GitHub does. */
export function headingSlugs(text: string): Set<string> {
  const seen = new Map<string, number>();
  const slugs = new Set<string>();
  for (const { line } of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base);
    slugs.add(n === undefined ? base : `${base}-${n + 1}`);
    seen.set(base, n === undefined ? 0 : n + 1);
  }
  return slugs;
}

/** The links of a Markdown text (outside code), with their line numbers. */
export function links(text: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  for (const { line, n } of proseLines(text)) {
    const prose = line.replace(/(`+)[^`]*?\1/g, '');
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1], line: n });
  }
  return out;
}

/** Every relative link of these files that does not resolve: a missing file, or an anchor no heading of the target has. */
export function brokenLinks(files: string[], root: string): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const { target, line } of links(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
      const at = `${relative(root, file)}:${line}: ${target}`;
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const dest = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
      if (!existsSync(dest)) {
        problems.push(`${at}: no such file ${relative(root, dest)}`);
        continue;
      }
      if (anchor === undefined || statSync(dest).isDirectory() || !dest.endsWith('.md')) continue;
      if (!headingSlugs(readFileSync(dest, 'utf8')).has(decodeURIComponent(anchor))) {
        problems.push(`${at}: no heading #${anchor} in ${relative(root, dest)}`);
      }
    }
  }
  return problems;
}

/** README.md and every docs/*.md of the repository at `root`. */
export function documentationFiles(root: string): string[] {
  const docs = join(root, 'docs');
  return [
    join(root, 'README.md'),
    ...readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => join(docs, f)),
  ];
}
