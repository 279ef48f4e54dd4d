/**
 * Parses and validates an Action call body: what auth0/actions/*.js send (`occurred_at`, the user,
 * ...), or only `{"user":{"user_id":...}}` (the simplest caller). How the call is identified is in
 * classify.ts (`actionEventId`).
 */
import { canonicalDate, DATE_RULE, identifierProblem, LIMITS } from '../shared/event-rules';
import { HttpError } from '../shared/http';
import { depthOf, describe, jsonProblem, MAX_DEPTH } from './parse';

/** An Action call body: the user is required; `occurred_at` and `session_id` are optional. */
export interface ActionBody extends Record<string, unknown> {
  occurred_at?: string;
  user: { user_id: string } & Record<string, unknown>;
  session_id?: string;
}

/** Parses and validates an Action call body (what auth0/actions/*.js send, or only `{"user":{"user_id":...}}`). */
export function parseActionBody(body: string): ActionBody {
  const text = body.trim();
  if (text === '')
    throw new HttpError(400, 'empty_body', 'The body is empty: send {"user": {"user_id": "..."}} (optionally with "occurred_at": "<ISO 8601>").');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `The body is not valid JSON: ${jsonProblem(e)}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(400, 'invalid_body', `The body must be a JSON object, not ${describe(value)}.`);
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  const user = v.user as Record<string, unknown> | undefined;
  if (typeof user !== 'object' || user === null || Array.isArray(user)) problems.push('"user" must be the Auth0 user object');
  else {
    const problem = identifierProblem(user.user_id, LIMITS.userIdBytes);
    if (problem) problems.push(`"user.user_id" ${problem}`);
  }
  if (v.occurred_at !== undefined && canonicalDate(v.occurred_at) === undefined) {
    problems.push(`"occurred_at" must be ${DATE_RULE} (or left out), set once per call so that a retried call keeps its id`);
  }
  if (v.session_id !== undefined && v.session_id !== '') {
    const problem = identifierProblem(v.session_id, LIMITS.sessionIdBytes);
    if (problem) problems.push(`"session_id" ${problem}`);
  }
  if (depthOf(v) > MAX_DEPTH) problems.push(`the body nests deeper than ${MAX_DEPTH} levels`);
  if (problems.length) throw new HttpError(400, 'invalid_body', `${problems.join('; ')}.`, { problems });
  return v as ActionBody;
}
