/**
 * Catch-up seam (no duplicates, nothing lost): the connection is marked live with
 * live_from = now + SEAM_MS. The push Lambda sends only events stored strictly after live_from;
 * catch-up sends only events stored at or before it: every event is on exactly one side. Catch-up
 * sends the events after `since` at once, waits until live_from + SETTLE_MS (so that events stored
 * just before the seam are readable), then sends the rest up to the seam, and ends with
 * {"type":"caught_up","count","last_id"}. Catch-up events carry "replay": true, so that a client can
 * hold live events until `caught_up` and deliver strictly in order (the client in client/ does).
 *
 * Resume with `seen`: live pushes come in stream order, which can differ a little from stored
 * (cursor) order when writers run concurrently, so the last id a client received is not always the
 * newest by cursor. A client that also sends `seen` (the ids it received recently) gets a replay that
 * starts CATCH_UP_LOOKBACK_MS (default 10 s) before the `since` event and skips every id in `seen`:
 * nothing it missed is left out, nothing it has is sent again.
 */
import { postJson } from '../shared/management';
import { cursorOf, pushedEvent } from '../shared/stores';
import { eventsAfter, visibleEvent, type Viewer } from '../shared/history';
import { logger, type SocketDeps } from './deps';

/**
 * Sends the viewer every event stored after the `since` event and at or before `liveFrom`, in
 * stored order, each once; then `caught_up`. With `seen`, from `lookbackMs` before the `since`
 * event, skipping the ids in `seen` (see the top of this file). Returns the number of events sent.
 */
export async function catchUp(connectionId: string, viewer: Viewer, since: string, liveFrom: string, deps: SocketDeps, seen?: readonly string[]): Promise<number> {
  const start = await visibleEvent(deps.ddb, deps.eventsTable, viewer, since);
  if (!start) {
    await postJson(deps.mgmt, connectionId, {
      type: 'error', error: 'unknown_since',
      message: `Event ${JSON.stringify(since.slice(0, 100))} is not a stored event you may see (unknown, or older than 30 days): nothing was replayed; GET /${viewer.tenant}/events lists what is stored.`,
    });
    await postJson(deps.mgmt, connectionId, { type: 'caught_up', count: 0 });
    return 0;
  }
  const skip = new Set([since, ...(seen ?? [])]);
  let cursor = seen ? cursorOf(new Date(Date.parse(start.stored_at) - (deps.lookbackMs ?? 10_000)).toISOString(), '') : start.cursor;
  let lastId: string | undefined;
  let count = 0;
  /** Sends events after `cursor` stored at or before the seam; false when the connection is gone or the cap is reached. */
  const pass = async (): Promise<boolean> => {
    for await (const e of eventsAfter(deps.ddb, deps.eventsTable, viewer, cursor)) {
      // Stored after the seam: the push sends it. Not the end of the replay: an event stored before the
      // seam can sort after it when its late write moved its cursor (REST_SETTLE_MS, lambda/shared/stores.ts).
      if (e.stored_at > liveFrom) continue;
      if (count >= deps.catchUpMax) {
        await postJson(deps.mgmt, connectionId, {
          type: 'error', error: 'catch_up_truncated',
          message: `More than ${deps.catchUpMax} events to replay: the first ${deps.catchUpMax} were sent; fetch the rest with GET /${viewer.tenant}/events?since=${lastId ?? since}.`,
        });
        return false;
      }
      cursor = e.cursor;
      if (skip.has(e.id)) continue;
      if ((await postJson(deps.mgmt, connectionId, { type: 'event', replay: true, event: pushedEvent(e) })) === 'gone') return false;
      lastId = e.id;
      count++;
    }
    return true;
  };
  if (await pass()) {
    const wait = Date.parse(liveFrom) + deps.settleMs - deps.now().getTime();
    if (wait > 0) await deps.sleep(wait);
    await pass();
  }
  await postJson(deps.mgmt, connectionId, { type: 'caught_up', count, ...(lastId ? { last_id: lastId } : {}) });
  logger.info('caught up', { connectionId, tenant: viewer.tenant, count });
  return count;
}

