/**
 * The fault run's ledger (docs/stress.md, "Ledger"): what was observed (deliveries seen at each
 * subscriber's handler, the tables, the DLQs, what the listeners received) against what the oracle
 * (harness/stress/oracle.ts) says by hand. No production code computes an expectation here.
 */
import { COMPARED_FIELDS, expectedUsers, oracleRow, orderingKey, userDifferences, type BuiltInSubscriber, type UserStateEvent } from './oracle';
import type { PlannedEvent } from './fault-plan';

/** What the wrapper around a subscriber's handler saw. */
export interface Observed {
  /** Event ids that reached the subscriber (any receive), with the type and log_type of the message. */
  delivered: Map<string, { type?: string; log_type?: string; user_id?: string }>;
  /** Ids the deployed handler finished without reporting them failed (at least once). */
  completed: Set<string>;
  /** Successful conditional writes per write (same key twice = written twice). */
  writes: Map<string, number>;
}

export interface SubscriberLedger {
  expected: number;
  delivered: number;
  processed: number;
  inDlq: number;
  inDlqAlsoProcessed: number;
  dlqMessages: number;
  lost: number;
  writtenTwice: number;
  unexpected: number;
  unexpectedDeliveries: number;
  misclassified: number;
  samples: string[];
  /** Ids in the DLQ whose effect is not applied (a redrive applies them). */
  inDlqIds: string[];
}

export interface UsersLedger {
  users: number;
  items: number;
  matching: number;
  mismatched: number;
  byField: Record<(typeof COMPARED_FIELDS)[number], number>;
  /** Users per cause of a difference (a user may have several). */
  byCause: Record<string, number>;
  samples: string[];
}

export function subscriberLedger(
  name: BuiltInSubscriber,
  accepted: PlannedEvent[],
  obs: Observed,
  dlqBodies: string[],
  table: { ids?: Set<string> } = {},
): SubscriberLedger {
  const inDlqIds = new Set(
    dlqBodies.map((b) => {
      try {
        return JSON.parse(b).id as string;
      } catch {
        return b;
      }
    }),
  );
  const expectedIds = new Set(accepted.filter((e) => oracleRow(e.row).deliver[name]).map((e) => e.id!));
  const byId = new Map(accepted.map((e) => [e.id!, e]));
  const s: SubscriberLedger = {
    expected: expectedIds.size,
    delivered: 0,
    processed: 0,
    inDlq: 0,
    inDlqAlsoProcessed: 0,
    dlqMessages: dlqBodies.length,
    lost: 0,
    writtenTwice: 0,
    unexpected: 0,
    unexpectedDeliveries: 0,
    misclassified: 0,
    samples: [],
    inDlqIds: [],
  };
  for (const id of expectedIds) {
    if (obs.delivered.has(id)) s.delivered++;
    // session-events: the item is in the events table; users: the handler finished it (its effect is
    // checked as a whole against the oracle's final state, since a newer event may supersede it).
    const done = table.ids ? table.ids.has(id) : obs.completed.has(id);
    if (done) s.processed++;
    if (inDlqIds.has(id)) {
      if (done) s.inDlqAlsoProcessed++;
      else {
        s.inDlq++;
        s.inDlqIds.push(id);
      }
    }
    if (!done && !inDlqIds.has(id)) {
      s.lost++;
      if (s.samples.length < 5) s.samples.push(`lost ${id} (${byId.get(id)?.row})`);
    }
  }
  for (const [id, m] of obs.delivered) {
    const e = byId.get(id);
    if (!expectedIds.has(id)) {
      s.unexpectedDeliveries++;
      if (s.samples.length < 5) s.samples.push(`delivered but not expected: ${id} type ${m.type} (${e ? e.row : 'not sent'})`);
      continue;
    }
    const row = oracleRow(e!.row);
    if (m.type !== row.type || m.log_type !== row.logType || m.user_id !== e!.params.user) {
      s.misclassified++;
      if (s.samples.length < 5)
        s.samples.push(`${id} (${e!.row}): type ${m.type} log_type ${m.log_type} user ${m.user_id}; oracle ${row.type} ${row.logType} ${e!.params.user}`);
    }
  }
  s.writtenTwice = [...obs.writes.values()].filter((n) => n > 1).length;
  if (table.ids) s.unexpected = [...table.ids].filter((id) => !expectedIds.has(id)).length;
  s.unexpected += s.unexpectedDeliveries;
  return s;
}

/** The users table item by item against the oracle's reducer (`items`: the table's items of the run's tenant). */
export function usersLedger(
  accepted: PlannedEvent[],
  items: Record<string, unknown>[],
  inDlqNotProcessed: ReadonlySet<string> = new Set(),
): UsersLedger & { unexplainedItems: number } {
  const events: UserStateEvent[] = accepted
    .filter((e) => oracleRow(e.row).effect)
    .map((e) => ({
      id: e.id!,
      user: e.params.user,
      effect: oracleRow(e.row).effect!,
      date: e.params.date,
      receivedAt: e.acceptedAt!,
      ...(e.params.email ? { email: e.params.email } : {}),
    }));
  const expected = expectedUsers(events);
  const byUser = new Map(items.map((i) => [i.user_id as string, i]));
  const l: UsersLedger & { unexplainedItems: number } = {
    users: expected.size,
    items: items.length,
    matching: 0,
    mismatched: 0,
    byField: { blocked: 0, deleted: 0, email: 0, last_password_change: 0 },
    byCause: {},
    samples: [],
    unexplainedItems: items.filter((i) => !expected.has(i.user_id as string)).length,
  };
  for (const [user, want] of expected) {
    const item = byUser.get(user);
    const diff = userDifferences(want, item);
    if (diff.length === 0) {
      l.matching++;
      continue;
    }
    l.mismatched++;
    for (const f of diff) l.byField[f]++;
    const mine = events.filter((e) => e.user === user);
    const newest = (effects: string[]) => mine.filter((e) => effects.includes(e.effect)).sort((a, b) => (orderingKey(a) < orderingKey(b) ? 1 : -1))[0];
    const scenario = accepted.find((e) => e.params.user === user && e.scenario)?.scenario;
    const parked = mine.filter((e) => inDlqNotProcessed.has(e.id));
    const causes = new Set(
      parked.length
        ? [`an event of the user is in the DLQ, not redriven (${parked.map((e) => e.effect).join(', ')})`]
        : diff.map((f) => {
            const got = item?.[f];
            if (f === 'blocked' && scenario) return `${scenario} dates`;
            if ((f === 'blocked' || f === 'deleted') && want[f] === false && got === undefined) return `registration leaves ${f} unset (oracle: false)`;
            if (f === 'deleted' && want.deleted === false && got === true) return 're-registration after deletion';
            if (f === 'blocked' && want.blocked === false && got === true && newest(['register', 'block', 'unblock'])?.effect === 'register')
              return 're-registration after a block';
            return `other (${f})`;
          }),
    );
    const cause = [...causes].join(' + ');
    for (const c of causes) l.byCause[c] = (l.byCause[c] ?? 0) + 1;
    if (l.samples.length < 6) {
      const got = Object.fromEntries(COMPARED_FIELDS.map((f) => [f, item?.[f]]));
      l.samples.push(
        `${user} [${cause}]: expected ${JSON.stringify(want)}, table ${JSON.stringify(got)}; events by date: ${[...mine]
          .sort((a, b) => (orderingKey(a) < orderingKey(b) ? -1 : 1))
          .map((e) => `${e.effect}@${e.date.slice(11, 16)}`)
          .join(' ')}`,
      );
    }
  }
  return l;
}
