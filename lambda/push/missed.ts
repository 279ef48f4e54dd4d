/**
 * A listener the push could not reach (after the sender's retries) has missed an event: it must not
 * stay connected as if nothing happened (issue 10, item 8). It is sent
 *   {"type":"closing","reason":"missed_events","message":"...","resume_from":"<id>"}
 * (best effort: its connection may be what failed) and closed with DeleteConnection, so that it
 * reconnects and resumes with `since`. `resume_from` is the event just before the missed one among
 * those the listener may see (the tenant's for `*`, its user's for `self`): resuming from it replays the
 * missed event. It is left out when there is none (the missed event is the first in 30 days) or when it
 * cannot be read; the client then resumes from the last event it got.
 */
import { mapWithConcurrency } from '../shared/concurrency';
import type { ListenFilter } from '../shared/connections';
import { eventsAfter } from '../shared/history';
import type { Logger } from '@aws-lambda-powertools/logger';
import { encodeMessage } from '../shared/management';
import type { StoredEvent } from '../shared/stores';
import type { PushDeps } from './deps';

export interface MissedListener {
  connection_id: string;
  filter: ListenFilter;
}

const MESSAGE =
  'An event could not be delivered to this connection: reconnect and authenticate with "since" (resume_from, else the last event you got) to receive what you missed.';

/** The id of the event before `event` that a listener with `filter` may see, or undefined. */
async function predecessorOf(event: StoredEvent, filter: ListenFilter, deps: PushDeps): Promise<string | undefined> {
  const viewer = { tenant: event.tenant, sub: event.user_id ?? '', filter };
  for await (const e of eventsAfter(deps.ddb, deps.eventsTable, viewer, undefined, { before: event.cursor, descending: true, pageSize: 1 })) return e.id;
  return undefined;
}

/** Tells each listener that it missed `event` and closes it; returns how many could not be closed. */
export async function closeMissed(event: StoredEvent, listeners: MissedListener[], deps: PushDeps, logger: Logger): Promise<number> {
  const resumeFrom = new Map<ListenFilter, string | undefined>();
  for (const filter of new Set(listeners.map((l) => l.filter))) {
    try {
      resumeFrom.set(filter, await predecessorOf(event, filter, deps));
    } catch (e) {
      logger.warn('could not read the event before a missed one: closing without resume_from', { event_id: event.id, error: (e as Error).name });
    }
  }
  let unclosed = 0;
  await mapWithConcurrency(listeners, deps.concurrency, async (listener) => {
    const from = resumeFrom.get(listener.filter);
    await deps
      .post(listener.connection_id, encodeMessage({ type: 'closing', reason: 'missed_events', message: MESSAGE, ...(from ? { resume_from: from } : {}) }))
      .catch(() => undefined); // the connection may be what failed: closing it is what matters
    try {
      await deps.close(listener.connection_id);
    } catch (e) {
      unclosed++;
      logger.warn('could not close a listener that missed an event', {
        event_id: event.id,
        connectionId: listener.connection_id,
        error: (e as Error).name,
        detail: (e as Error).message,
      });
    }
  });
  return unclosed;
}
