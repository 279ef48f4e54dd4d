/**
 * The attribute groups a user event writes in the users table, each with the marker attribute that
 * orders it (see handler.ts for how a group is written):
 *   user_registered           created_at, the earliest               (registered_event, earliest wins)
 *                             the profile (below)
 *                             deleted = false, no deleted_at         (deleted_event)
 *                             blocked (false unless the profile says), blocked_at (below) (blocked_event)
 *   user_updated              the profile (below)
 *                             deleted = false, no deleted_at         (deleted_event)
 *                             blocked, blocked_at (below), only when the event changes the administrator's flag (blocked_event)
 *   user_blocked/_unblocked   blocked, blocked_at                    (blocked_event)
 *   user_deleted              deleted, deleted_at                    (deleted_event)
 *                             last_deleted_at, never removed          (last_deletion_event)
 *   password_changed          last_password_change                   (password_event)
 * A group's attributes all come from the event its marker names (else the item would depend on arrival
 * order). A registration or update that sets `blocked` writes blocked_at too: its own date when it says
 * blocked (a blocked user always has a blocked_at), none when it says not blocked (it removes an older
 * block's or unblock's).
 * The profile: `email` (email_event) and `username` (username_event) each on its own marker, the
 * other PROFILE_FIELDS together (profile_event). An Event Streams user object is the whole profile:
 * it writes all three groups and removes what it lacks. An Action or `ss` registration knows only
 * email and username: it writes only those it has, so it never blocks the rest of a whole profile
 * and the item is the same whichever arrives first (each attribute is last-writer-wins on its marker).
 *
 * Lives: a user_id may be registered again after a deletion (a reused social id). The last deletion's
 * marker (last_deletion_event, with last_deleted_at) is never removed by a later life: created_at is
 * the earliest registration of the current life, and a registration older than the last deletion never
 * replaces one newer than it (issue 18, item 4b: a redelivered first registration no longer rolls
 * created_at back). The other groups are last-writer-wins as above: an older life's registration,
 * block or deletion is older than the new life's registration and changes nothing; an older life's
 * password change is kept if no newer one exists (as it was before lives were told apart).
 */
import type { CanonicalEvent } from '../shared/event';
import { PROFILE_FIELDS, profileOf, type Profile } from './profile';

/** The marker of the user's last deletion: kept across lives, it bounds what an older life's event may change. */
export const LAST_DELETION_MARKER = 'last_deletion_event';

/** How far an event's date may be ahead of its receive time and still count as is for ordering. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** The date that orders an event: its date (or `at`, a date the event carries), capped at received_at + MAX_CLOCK_SKEW_MS. */
export const orderingDate = (event: Pick<CanonicalEvent, 'date' | 'received_at'>, at = event.date): string =>
  new Date(Math.min(Date.parse(at), Date.parse(event.received_at) + MAX_CLOCK_SKEW_MS)).toISOString();

/** `<ordering date ISO>#<id>`: markers compare as strings in event time order. */
export const markerOf = (event: CanonicalEvent, at?: string): string => `${orderingDate(event, at)}#${event.id}`;

/**
 * One attribute group's write; `at` is the date that orders it when not the event's date.
 * `earliest`: the smaller marker wins (created_at), or a registration newer than the last deletion replaces one older than it.
 */
export interface GroupUpdate {
  marker: string;
  set: Record<string, unknown>;
  remove?: string[];
  at?: string;
  earliest?: boolean;
}

/** Attributes a registration (Action, `ss`) may know, each ordered on its own marker `<name>_event`. */
const OWN_MARKER = ['email', 'username'] as const;

/** The profile groups: a whole profile sets and removes all of PROFILE_FIELDS, a partial one sets only what it has. */
function profileGroups(p: Profile, at: string | undefined): GroupUpdate[] {
  const when = at ? { at } : {};
  const own = OWN_MARKER.flatMap((k): GroupUpdate[] => {
    if (k in p.fields) return [{ marker: `${k}_event`, set: { [k]: p.fields[k] }, ...when }];
    return p.full ? [{ marker: `${k}_event`, set: {}, remove: [k], ...when }] : [];
  });
  if (!p.full) return own;
  const rest = Object.keys(PROFILE_FIELDS).filter((k) => !(OWN_MARKER as readonly string[]).includes(k));
  const set = Object.fromEntries(rest.filter((k) => k in p.fields).map((k) => [k, p.fields[k]]));
  return [{ marker: 'profile_event', set, remove: rest.filter((k) => !(k in p.fields)), ...when }, ...own];
}

/** When the user changed: its own updated_at for an Event Streams user.created/updated, else the event's date (a deletion's `time`). */
export const userChangedAt = (event: CanonicalEvent): string =>
  (event.type === 'user_registered' || event.type === 'user_updated' ? profileOf(event).updated_at : undefined) ?? new Date(event.date).toISOString();

/** The attribute groups an event writes (see the file comment); empty when the event is not about a user's state. */
export function groupUpdates(event: CanonicalEvent): GroupUpdate[] {
  const date = new Date(event.date).toISOString();
  switch (event.type) {
    case 'user_registered':
    case 'user_updated': {
      const p = profileOf(event);
      const when = p.updated_at ? { at: p.updated_at } : {};
      const profile = profileGroups(p, p.updated_at);
      const alive: GroupUpdate = { marker: 'deleted_event', set: { deleted: false }, remove: ['deleted_at'], ...when };
      const blockedGroup: GroupUpdate = p.blocked
        ? { marker: 'blocked_event', set: { blocked: true, blocked_at: orderingDate(event, p.updated_at) }, ...when }
        : { marker: 'blocked_event', set: { blocked: false }, remove: ['blocked_at'], ...when };
      if (event.type === 'user_updated') {
        // `blocked` is the administrator's flag (Auth0's user object); written only when this update changed it,
        // so an unrelated update never lifts the administrator's block. (Brute-force blocks, limit_wc, limit_sul and
        // limit_mu, are `login_throttled`: an IP address throttled, never `blocked` here.) Without previous_object
        // (optional, "when applicable") a block is still applied; an unblock is unknown and left to sapi/ublkdu.
        const adminChange = p.previous_blocked !== undefined ? (p.blocked ?? false) !== p.previous_blocked : p.blocked === true;
        return [...profile, alive, ...(adminChange ? [blockedGroup] : [])];
      }
      // The profile first: a new user's item appears with its email (a reader polling for the item sees it whole sooner).
      // created_at before `alive`: a registration newer than the deletion of a deleted user replaces it (a reused user_id).
      const createdAt = orderingDate(event, p.created_at ?? date);
      return [...profile, { marker: 'registered_event', set: { created_at: createdAt }, at: createdAt, earliest: true }, alive, blockedGroup];
    }
    case 'user_blocked':
    case 'user_unblocked':
      return [{ marker: 'blocked_event', set: { blocked: event.type === 'user_blocked', blocked_at: date } }];
    case 'user_deleted':
      return [
        { marker: 'deleted_event', set: { deleted: true, deleted_at: date } },
        { marker: LAST_DELETION_MARKER, set: { last_deleted_at: date } },
      ];
    case 'password_changed':
      return [{ marker: 'password_event', set: { last_password_change: date } }];
    default:
      return [];
  }
}
