/**
 * One polling run over a tenant's logs (the scheduled poller and `npm run backfill` alike):
 *   start: after a checkpoint log_id, or at the first log dated at or after an ISO date (found with
 *   the search form, then published itself, then checkpoint paging from it);
 *   per page of up to 100: each log is validated and classified by the Log Stream door's own code
 *   (parse.ts recordProblems and eventProblems, classify.ts classifyLogRecord: the event id is the
 *   log_id, so a log also delivered by a Log Stream is removed downstream as a duplicate), published
 *   with the door's publishEvents, and only when every event of the page is on the topic is the
 *   page's last log_id handed to `onPage` (the checkpoint moves); a page with an unpublished event
 *   throws PublishFailed and the checkpoint stays before it (the next run publishes it again);
 *   until: a page shorter than 100 (caught up), the time budget, a rate limit past the budget, or,
 *   for a backfill, a log dated after `until`.
 * A log that fails validation cannot become an event: it is skipped, counted, and logged with its
 * log_id (never its content), so one malformed log never stalls the tenant.
 */
import type { CanonicalEvent } from '../../shared/event';
import { classifyLogRecord } from '../classify';
import { eventProblems, recordProblems, type LogStreamRecord } from '../parse';
import type { PublishResult } from '../publish';
import { RateLimited, type Auth0LogEvent, type ManagementApi } from './auth0-logs';

export type PollStart = { after: string } | { since: string };

export interface PollOptions {
  tenant: string;
  api: Pick<ManagementApi, 'checkpointUrl' | 'page' | 'firstLogSince'>;
  start: PollStart;
  publish: (events: CanonicalEvent[]) => Promise<PublishResult>;
  /** Called after each page whose events are all on the topic, with its last log (moves the checkpoint). */
  onPage?: (last: Auth0LogEvent) => Promise<void>;
  /** Epoch ms: no page is started after it. */
  deadline: number;
  /** Backfill: stop at the first log dated after this (ISO). */
  until?: string;
  /** Publish nothing, count what would be (backfill --dry-run). */
  dryRun?: boolean;
  now?: () => number;
  /** Refused logs (invalid): their log_id and problems. */
  onRefused?: (logId: string, problems: string[]) => void;
}

export interface PollSummary {
  published: number;
  pages: number;
  refused: number;
  /** Whether the run reached Auth0's newest log (or `until`). */
  caughtUp: boolean;
  /** Why it stopped before: 'budget' or 'rate-limit'. */
  stoppedBy?: 'budget' | 'rate-limit';
  /** The last log_id handled (the checkpoint now), if any. */
  last?: string;
  /** Seconds between now and the date of the last log reached, when not caught up; else 0. */
  behindSeconds: number;
}

export class PublishFailed extends Error {
  constructor(
    readonly failed: number,
    readonly of: number,
    readonly firstLogId: string | undefined,
  ) {
    super(`${failed} of ${of} events of a page could not be published to the topic: the checkpoint stays before that page (the next run publishes it again)`);
    this.name = 'PublishFailed';
  }
}

/** The canonical events of a page (one per valid log, each log_id once), and the ids refused. */
export function eventsOf(
  logs: Auth0LogEvent[],
  tenant: string,
  receivedAt: string,
): { events: CanonicalEvent[]; refused: { id: string; problems: string[] }[] } {
  const events = new Map<string, CanonicalEvent>();
  const refused: { id: string; problems: string[] }[] = [];
  for (const log of logs) {
    const record: unknown = { log_id: log?.log_id, data: log };
    let problems = recordProblems(record);
    if (problems.length === 0) {
      const event = classifyLogRecord(record as LogStreamRecord, tenant, receivedAt);
      problems = eventProblems(event);
      if (problems.length === 0 && !events.has(event.id)) events.set(event.id, event);
    }
    if (problems.length) refused.push({ id: typeof log?.log_id === 'string' ? log.log_id.slice(0, 100) : '(no log_id)', problems: problems.slice(0, 5) });
  }
  return { events: [...events.values()], refused };
}

export async function poll(o: PollOptions): Promise<PollSummary> {
  const now = o.now ?? Date.now;
  const summary: PollSummary = { published: 0, pages: 0, refused: 0, caughtUp: false, behindSeconds: 0 };
  let lastDate: string | undefined;

  /** Publishes a page's logs; true when the run should stop here (a log after `until`). */
  const handle = async (logs: Auth0LogEvent[]): Promise<boolean> => {
    let page = logs;
    let reachedUntil = false;
    if (o.until) {
      const cut = page.findIndex((l) => typeof l.date === 'string' && l.date > o.until!);
      if (cut >= 0) {
        page = page.slice(0, cut);
        reachedUntil = true;
      }
    }
    if (page.length === 0) return reachedUntil;
    const { events, refused } = eventsOf(page, o.tenant, new Date(now()).toISOString());
    for (const r of refused) o.onRefused?.(r.id, r.problems);
    summary.refused += refused.length;
    if (!o.dryRun && events.length) {
      const result = await o.publish(events);
      if (result.failed.length) throw new PublishFailed(result.failed.length, events.length, result.failed[0]?.id);
    }
    summary.published += events.length;
    summary.pages++;
    const last = page[page.length - 1];
    if (!o.dryRun) await o.onPage?.(last);
    summary.last = last.log_id;
    lastDate = typeof last.date === 'string' ? last.date : lastDate;
    return reachedUntil;
  };

  try {
    let after: string | undefined;
    if ('after' in o.start) after = o.start.after;
    else {
      const first = await o.api.firstLogSince(o.start.since);
      if (!first) {
        summary.caughtUp = true;
        return summary;
      }
      if (await handle([first])) {
        summary.caughtUp = true;
        return summary;
      }
      after = first.log_id;
    }
    let url = o.api.checkpointUrl(after);
    for (;;) {
      if (now() >= o.deadline) {
        summary.stoppedBy = 'budget';
        break;
      }
      const { logs, next } = await o.api.page(url);
      const stop = await handle(logs);
      if (stop || logs.length < 100) {
        summary.caughtUp = true;
        break;
      }
      // Auth0's next link, or (none, or not on its own origin) by hand from the last log_id.
      url = next ?? o.api.checkpointUrl(logs[logs.length - 1].log_id);
    }
  } catch (e) {
    if (!(e instanceof RateLimited)) throw e;
    summary.stoppedBy = 'rate-limit';
  }
  if (!summary.caughtUp && lastDate) summary.behindSeconds = Math.max(0, Math.round((now() - Date.parse(lastDate)) / 1000));
  return summary;
}
