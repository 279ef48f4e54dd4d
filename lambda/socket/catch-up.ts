/**
 * Catch-up seam (no duplicates, nothing lost): the connection is marked live with
 * live_from = now + SEAM_MS. The push Lambda sends only events stored strictly after live_from;
 * catch-up sends only events stored at or before it: every event is on exactly one side. Catch-up
 * sends the settled events after `since` at once (phase 1: cursors at least SETTLE_MS old, so its
 * cursor never steps past an event not yet readable on the index), waits until live_from + SETTLE_MS
 * (so that every event stored up to the seam is readable), then sends the rest up to the seam (phase
 * 2), and ends with {"type":"caught_up","count","last_id"}. SETTLE_MS defaults to REST_SETTLE_MS
 * (5 s, lambda/shared/stores.ts): the writer's budget, its cursor move and the GSI allowance, the
 * bound within which a stored event is readable on the index at its final cursor. Catch-up messages
 * carry "replay": true, so that a client can hold live events until `caught_up` and deliver strictly
 * in order (the client in client/ does).
 *
 * Many events per message: {"type":"events","events":[...],"replay":true}, packed up to 32 KB
 * (lambda/shared/frames.ts): about 150 session events per management call instead of one.
 *
 * In parts (issue 18, item 2): one invocation sends events only while its time budget lasts (the
 * Lambda context's remaining time minus BUDGET_MARGIN_MS; the socket function's timeout is 29 s, as
 * API Gateway's integration timeout) and at most CATCH_UP_PART_MAX events. When either ends the part
 * before the replay is done, the position (cursor of the last event sent, count, phase, the ids to
 * skip) is stored on the connection item as `catch_up`, and the client gets
 * {"type":"catch_up_paused","count":<sent so far, all parts>,"last_id":"<last event sent, else since>","reason":"time_budget"|"size_cap"}.
 * It answers {"type":"continue_catch_up","after":"<that last_id>"} (continue-catch-up.ts), which
 * claims the stored position (once) and runs the next part. The seam (live_from) is the connection's
 * and does not move between parts, so live events stored meanwhile are pushed (the client holds
 * them) and never replayed. Every part sends at least one message, so a replay always ends.
 *
 * Resume with `seen`: live pushes come in stream order, which can differ a little from stored
 * (cursor) order when writers run concurrently, so the last id a client received is not always the
 * newest by cursor. A client that also sends `seen` (the ids it received recently) gets a replay that
 * starts CATCH_UP_LOOKBACK_MS (default 10 s) before the `since` event and skips every id in `seen`
 * (in every part: their digests are part of the stored position): nothing it missed is left out,
 * nothing it has is sent again. The lookback reaches back at most MAX_SEEN events (the `since` event
 * included): the client lists at most that many ids and remembers that many to drop duplicates (its
 * dedupe window, client/), so after a burst (more than MAX_SEEN events within the lookback) an
 * older event, which the client delivered and forgot, is not replayed to it a second time.
 */
import { createHash } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTIONS_TABLE, type CatchUpPosition } from '../shared/connections';
import { isConditionFailed } from '../shared/dynamodb';
import { FramePacker, type Frame } from '../shared/frames';
import { closeConnection, postJson } from '../shared/management';
import { cursorOf, pushedEvent, settledBefore } from '../shared/stores';
import { eventsAfter, visibleEvent, type Viewer } from '../shared/history';
import { logger, type SocketDeps } from './deps';

/** Most ids a client may list in `seen`, and most events (the `since` event included) a lookback reaches back. */
export const MAX_SEEN = 1000;

/** Default time kept back from the invocation's remaining time: the last message, the position write, `catch_up_paused`. */
export const BUDGET_MARGIN_MS = 5000;

/** A short digest of an event id (the stored position lists up to 1,001 of them: an item holds 400 KB). */
const digest = (id: string): string => createHash('sha256').update(id).digest('base64url').slice(0, 22);

/**
 * Sends the viewer every event stored after the `since` event and at or before `liveFrom`, in
 * stored order, each once; then `caught_up` (or, when this invocation's budget or cap ends first,
 * `catch_up_paused`). With `seen`, from `lookbackMs` before the `since` event, skipping the ids in
 * `seen` (see the top of this file). Returns the number of events sent by this part.
 */
export async function catchUp(
  connectionId: string,
  viewer: Viewer,
  since: string,
  liveFrom: string,
  deps: SocketDeps,
  seen?: readonly string[],
): Promise<number> {
  let start: Awaited<ReturnType<typeof visibleEvent>>;
  try {
    start = await visibleEvent(deps.ddb, deps.eventsTable, viewer, since);
  } catch (e) {
    return abandon(connectionId, viewer, since, deps, e);
  }
  if (!start) {
    await postJson(deps.mgmt, connectionId, {
      type: 'error',
      error: 'unknown_since',
      message: `Event ${JSON.stringify(since.slice(0, 100))} is not a stored event you may see (unknown, or older than 30 days): nothing was replayed; GET /${viewer.tenant}/events lists what is stored.`,
    });
    await postJson(deps.mgmt, connectionId, { type: 'caught_up', count: 0 });
    return 0;
  }
  let cursor = start.cursor;
  if (seen) {
    try {
      cursor = await lookbackStart(viewer, start.cursor, cursorOf(new Date(Date.parse(start.stored_at) - (deps.lookbackMs ?? 10_000)).toISOString(), ''), deps);
    } catch (e) {
      return abandon(connectionId, viewer, since, deps, e);
    }
  }
  return catchUpPart(
    connectionId,
    viewer,
    liveFrom,
    { since, after: since, cursor, count: 0, phase: 1, skip: [...new Set([since, ...(seen ?? [])])].map(digest) },
    deps,
  );
}

/**
 * Where a replay with `seen` starts (exclusive): `byTime` (the lookback before the `since` event), or
 * later when more than MAX_SEEN - 1 events lie between it and the `since` event: then at the
 * MAX_SEEN-th event before `since`, so the replay looks back over the MAX_SEEN - 1 events before it.
 */
async function lookbackStart(viewer: Viewer, sinceCursor: string, byTime: string, deps: SocketDeps): Promise<string> {
  let n = 0;
  for await (const e of eventsAfter(deps.ddb, deps.eventsTable, viewer, undefined, { descending: true, before: sinceCursor, pageSize: deps.pageSize ?? 500 })) {
    if (e.cursor <= byTime) break;
    if (++n === MAX_SEEN) return e.cursor;
  }
  return byTime;
}

type Stop = 'gone' | 'time_budget' | 'size_cap';

const RESUME_MESSAGE =
  'The replay could not be continued (a read or a send failed): reconnect and authenticate with "since" = resume_from to receive the rest.';

/**
 * A part that failed half-way (an events-table read, a send, the position write): no position is
 * stored (a continued part's was claimed already), so without a word the listener would wait, release
 * its held live events and resume past the events not replayed yet. As the push does for a missed event
 * (lambda/push/missed.ts), it is told where to resume ({"type":"closing","reason":"missed_events",
 * "resume_from":<the last event it was sent>}, best effort) and closed; the client reconnects with that
 * `since`. The error is thrown again (handler.ts logs it).
 */
async function abandon(connectionId: string, viewer: Viewer, resumeFrom: string, deps: SocketDeps, error: unknown): Promise<never> {
  logger.warn('catch-up failed: the listener is closed so that it resumes', {
    connectionId,
    tenant: viewer.tenant,
    error: (error as Error).name,
    detail: (error as Error).message,
  });
  await postJson(deps.mgmt, connectionId, { type: 'closing', reason: 'missed_events', message: RESUME_MESSAGE, resume_from: resumeFrom }).catch(
    () => undefined,
  );
  await closeConnection(deps.mgmt, connectionId).catch(() => undefined);
  throw error;
}

/** One part of a catch-up, from a stored (or the first) position. Returns the number of events it sent. */
export async function catchUpPart(connectionId: string, viewer: Viewer, liveFrom: string, position: CatchUpPosition, deps: SocketDeps): Promise<number> {
  const budgetEnd = deps.now().getTime() + deps.remainingMs() - (deps.budgetMarginMs ?? BUDGET_MARGIN_MS);
  const skip = new Set(position.skip);
  const pos = { ...position };
  let partCount = 0;
  let messages = 0;

  /** Sends one packed message; the first of a part always goes (progress), later ones only within the budget. */
  const send = async (frame: Frame<{ cursor: string; id: string }>): Promise<Stop | undefined> => {
    if (messages > 0 && deps.now().getTime() >= budgetEnd) return 'time_budget';
    if ((await postJson(deps.mgmt, connectionId, new TextEncoder().encode(frame.data))) === 'gone') return 'gone';
    messages++;
    partCount += frame.count;
    pos.count += frame.count;
    pos.cursor = frame.last.cursor;
    pos.after = frame.last.id;
    return undefined;
  };

  /**
   * Sends events after the position stored at or before the seam (with `before`, only cursors below
   * it); undefined when it reached the end.
   */
  const pass = async (before?: string): Promise<Stop | undefined> => {
    const packer = new FramePacker<{ cursor: string; id: string }>({ replay: true });
    for await (const e of eventsAfter(deps.ddb, deps.eventsTable, viewer, pos.cursor, { pageSize: deps.pageSize ?? 500, before })) {
      // Stored after the seam: the push sends it. Not the end of the replay: an event stored before the
      // seam can sort after it when its late write moved its cursor (REST_SETTLE_MS, lambda/shared/stores.ts).
      if (e.stored_at > liveFrom) continue;
      if (skip.has(digest(e.id))) continue;
      if (partCount + packer.pending >= deps.catchUpPartMax) {
        const rest = packer.flush();
        return (rest && (await send(rest))) || 'size_cap';
      }
      const full = packer.add(pushedEvent(e), { cursor: e.cursor, id: e.id });
      const stop = full && (await send(full));
      if (stop) return stop;
    }
    const rest = packer.flush();
    return rest ? send(rest) : undefined;
  };

  const pause = async (reason: Stop): Promise<number> => {
    if (reason === 'gone') return partCount;
    try {
      await deps.ddb.send(
        new UpdateCommand({
          TableName: deps.connectionsTable,
          Key: { [CONNECTIONS_TABLE.partitionKey]: connectionId },
          ConditionExpression: 'attribute_exists(#id)',
          UpdateExpression: 'SET #cu = :cu',
          ExpressionAttributeNames: { '#id': CONNECTIONS_TABLE.partitionKey, '#cu': 'catch_up' },
          ExpressionAttributeValues: { ':cu': pos },
        }),
      );
    } catch (e) {
      if (isConditionFailed(e)) return partCount; // disconnected meanwhile
      throw e;
    }
    await postJson(deps.mgmt, connectionId, { type: 'catch_up_paused', count: pos.count, last_id: pos.after, reason });
    logger.info('catch-up paused', { connectionId, tenant: viewer.tenant, count: pos.count, part: partCount, reason });
    return partCount;
  };

  try {
    if (pos.phase === 1) {
      // Only settled cursors: an event stored earlier may not be on the index yet, and the position must
      // not step past it (phase 2 reads after the position).
      const stop = await pass(settledBefore(deps.now().getTime(), deps.settleMs));
      if (stop) return await pause(stop);
      pos.phase = 2;
    }
    // Phase 2 reads up to the seam only once everything stored up to it is readable: in every part, also
    // one continued after a pause between phase 1 and this wait.
    const wait = Date.parse(liveFrom) + deps.settleMs - deps.now().getTime();
    if (wait > 0) {
      if (messages > 0 && deps.now().getTime() + wait >= budgetEnd) return await pause('time_budget');
      await deps.sleep(wait);
    }
    const stop = await pass();
    if (stop) return await pause(stop);
    const sent = pos.count > 0 ? pos.after : undefined;
    await postJson(deps.mgmt, connectionId, { type: 'caught_up', count: pos.count, ...(sent ? { last_id: sent } : {}) });
    logger.info('caught up', { connectionId, tenant: viewer.tenant, count: pos.count });
    return partCount;
  } catch (e) {
    return abandon(connectionId, viewer, pos.after, deps, e);
  }
}
