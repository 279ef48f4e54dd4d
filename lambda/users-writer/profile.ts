/**
 * The profile a user event tells, for the users writer (handler.ts): from an Auth0 Event Streams user
 * object (`data.data.object`, the whole profile), or from an Action payload or `ss` log (email and
 * username only). Field names and types as in Auth0's user object
 * (https://auth0.com/docs/customize/events/event-types, "Event object").
 */
import type { CanonicalEvent } from '../shared/event';
import { canonicalDate } from '../shared/event-rules';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** Email and username of a registration, from an Action payload (`data.user`) or an `ss` log (`data.details.body`). */
export function registrationFields(event: CanonicalEvent): { email?: string; username?: string } {
  const user = obj(event.data.user);
  const body = obj(obj(event.data.details).body);
  const userName = str(event.data.user_name);
  const email = str(user.email) ?? str(body.email) ?? (userName?.includes('@') ? userName : undefined);
  const username = str(user.username) ?? str(body.username) ?? (userName && !userName.includes('@') ? userName : undefined);
  return { ...(email ? { email } : {}), ...(username ? { username } : {}) };
}

/** The profile attributes the users table keeps from an Event Streams user object, with their JSON types. */
export const PROFILE_FIELDS = {
  email: 'string',
  username: 'string',
  name: 'string',
  given_name: 'string',
  family_name: 'string',
  nickname: 'string',
  picture: 'string',
  phone_number: 'string',
  email_verified: 'boolean',
  phone_verified: 'boolean',
} as const;
/** Longest profile string kept (Auth0 caps these far lower; a longer one is treated as absent). */
export const MAX_PROFILE_CHARS = 2048;

/**
 * A user's profile as an event tells it: `full` when it is the whole profile (Event Streams). `previous_blocked`: the
 * administrator's block flag before the change, when the event carries `data.previous_object` (user.updated,
 * "the event content as it was prior to the change", Auth0 Management API EventStreamCloudEventUserUpdatedData).
 */
export interface Profile {
  fields: Record<string, string | boolean>;
  full: boolean;
  blocked?: boolean;
  previous_blocked?: boolean;
  created_at?: string;
  updated_at?: string;
}

/** The profile of a user event: the Event Streams user object (`data.data.object`), else registrationFields. */
export function profileOf(event: CanonicalEvent): Profile {
  if (event.source !== 'event-stream') return { fields: registrationFields(event), full: false };
  const object = obj(obj(event.data.data).object);
  const previous = obj(obj(event.data.data).previous_object);
  // No user object (trimmed from a message over SNS's limit, see `truncated`): nothing of the profile is known.
  if (typeof object.user_id !== 'string') return { fields: {}, full: false };
  const fields: Record<string, string | boolean> = {};
  for (const [k, type] of Object.entries(PROFILE_FIELDS)) {
    const v = object[k];
    if (typeof v === type && !(typeof v === 'string' && (v === '' || v.length > MAX_PROFILE_CHARS))) fields[k] = v as string | boolean;
  }
  const created_at = canonicalDate(object.created_at);
  const updated_at = canonicalDate(object.updated_at);
  return {
    fields,
    full: true,
    ...(typeof object.blocked === 'boolean' ? { blocked: object.blocked } : {}),
    ...(typeof previous.user_id === 'string' ? { previous_blocked: previous.blocked === true } : {}),
    ...(created_at ? { created_at } : {}),
    ...(updated_at ? { updated_at } : {}),
  };
}
