/**
 * A stand-in for Athena over the archive, for the one query form docs/archive.md documents: there is no
 * Athena locally. It parses
 *   SELECT <columns> FROM <database>.<table> WHERE <conjunction of  col = 'x'  |  col BETWEEN 'a' AND 'b'> [ORDER BY <column>]
 * and evaluates it as Athena would over a partition-projected table: the partition predicates pick the
 * folders from the table's `storage.location.template` (an injected key must have an equality, as
 * Athena requires), the rest filter the rows of those folders' gzip JSON-lines objects, read by column
 * name as the OpenX JSON SerDe reads them (a nested object into a string column: its JSON text).
 * Anything outside that form is refused, so a documented query the stand-in cannot check fails the test.
 */
import { gunzipSync } from 'node:zlib';

export interface GlueTable {
  name: string;
  columns: { Name: string; Type: string }[];
  partitionKeys: { Name: string; Type: string }[];
  parameters: Record<string, string>;
}

export interface ParsedQuery {
  database: string;
  table: string;
  select: string[];
  where: ({ column: string; op: '='; value: string } | { column: string; op: 'between'; low: string; high: string })[];
  orderBy?: string;
}

const ident = (s: string) => s.trim().replace(/^"(.*)"$/, '$1');

export function parseQuery(sql: string): ParsedQuery {
  const text = sql.replace(/--.*$/gm, '').replace(/\s+/g, ' ').trim().replace(/;$/, '');
  const m = /^SELECT (.+?) FROM ([a-z0-9_]+)\.([a-z0-9_]+) WHERE (.+?)(?: ORDER BY ("?[a-z_]+"?))?$/i.exec(text);
  if (!m) throw new Error(`not of the form SELECT ... FROM db.table WHERE ... [ORDER BY col]: ${text}`);
  const select = m[1].split(',').map(ident);
  const where: ParsedQuery['where'] = [];
  const predicate = /("?[a-z_]+"?) (?:= '([^']*)'|BETWEEN '([^']*)' AND '([^']*)')(?: AND |$)/iy;
  const clause = m[4];
  while (predicate.lastIndex < clause.length) {
    const at = predicate.lastIndex;
    const p = predicate.exec(clause);
    if (!p) throw new Error(`predicate not supported by the stand-in: ${clause.slice(at)}`);
    if (p[2] !== undefined) where.push({ column: ident(p[1]), op: '=', value: p[2] });
    else where.push({ column: ident(p[1]), op: 'between', low: p[3], high: p[4] });
  }
  return { database: m[2], table: m[3], select, where, ...(m[5] ? { orderBy: ident(m[5]) } : {}) };
}

/** Every column the query names that the table does not have (columns and partition keys). */
export function unknownColumns(q: ParsedQuery, t: GlueTable): string[] {
  const known = new Set([...t.columns, ...t.partitionKeys].map((c) => c.Name));
  const named = [...q.select, ...q.where.map((w) => w.column), ...(q.orderBy ? [q.orderBy] : [])];
  return [...new Set(named.filter((c) => !known.has(c)))];
}

function days(low: string, high: string): string[] {
  const out: string[] = [];
  for (let d = Date.parse(`${low}T00:00:00Z`); d <= Date.parse(`${high}T00:00:00Z`); d += 86_400_000) out.push(new Date(d).toISOString().slice(0, 10));
  return out;
}

/** The folders the query reads: the projection's location template with each combination of partition values. */
export function projectedLocations(q: ParsedQuery, t: GlueTable): string[] {
  let locations = [t.parameters['storage.location.template']];
  for (const key of t.partitionKeys.map((k) => k.Name)) {
    const type = t.parameters[`projection.${key}.type`];
    const p = q.where.find((w) => w.column === key);
    let values: string[];
    if (type === 'injected') {
      if (!p || p.op !== '=') throw new Error(`CONSTRAINT_VIOLATION: injected projection column ${key} must have an equality predicate`);
      values = [p.value];
    } else if (type === 'date') {
      if (t.parameters[`projection.${key}.format`] !== 'yyyy-MM-dd' || t.parameters[`projection.${key}.interval.unit`] !== 'DAYS')
        throw new Error(`the stand-in reads only daily yyyy-MM-dd projections (${key})`);
      if (!p) throw new Error(`the stand-in needs a bound on ${key}`);
      values = p.op === '=' ? [p.value] : days(p.low, p.high);
    } else throw new Error(`projection type ${type} of ${key} not supported by the stand-in`);
    locations = locations.flatMap((l) => values.map((v) => l.split(`\${${key}}`).join(v)));
  }
  return locations;
}

/** Evaluates the query over objects: `read(location)` gives the gzip bodies under an s3:// folder. */
export async function runQuery(q: ParsedQuery, t: GlueTable, read: (location: string) => Promise<Buffer[]>): Promise<Record<string, unknown>[]> {
  const partitionKeys = new Set(t.partitionKeys.map((k) => k.Name));
  const rows: Record<string, unknown>[] = [];
  for (const location of projectedLocations(q, t)) {
    const values = Object.fromEntries(
      t.partitionKeys.map((k) => {
        const m = new RegExp(`${k.Name}=([^/]+)/`).exec(location);
        return [k.Name, m?.[1]];
      }),
    );
    for (const body of await read(location)) {
      for (const line of gunzipSync(body).toString('utf8').split('\n')) {
        if (!line) continue;
        const json = JSON.parse(line) as Record<string, unknown>;
        const row: Record<string, unknown> = { ...values };
        for (const c of t.columns) {
          const v = json[c.Name];
          row[c.Name] = v === undefined ? null : c.Type === 'string' && typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
        }
        const keep = q.where.every((w) => {
          if (partitionKeys.has(w.column)) return true; // chosen by location
          const v = row[w.column];
          return w.op === '=' ? v === w.value : typeof v === 'string' && v >= w.low && v <= w.high;
        });
        if (keep) rows.push(row);
      }
    }
  }
  if (q.orderBy) rows.sort((a, b) => String(a[q.orderBy!]).localeCompare(String(b[q.orderBy!])));
  return rows.map((r) => Object.fromEntries(q.select.map((c) => [c, r[c]])));
}
