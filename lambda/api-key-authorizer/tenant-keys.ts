/**
 * One API key per tenant: a key is accepted only on its own tenant's paths. Shared by the deployed
 * authorizer (keys read from API Gateway by id) and the local front door (keys in memory), so both
 * decide the same way.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares two secrets in constant time (their SHA-256 digests, so lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

export type KeyVerdict =
  /** The key is the path tenant's own key. */
  | { allow: true }
  /** The path names no served tenant: the key is passed on (the usage plan checks it, the ingest answers 404). */
  | { allow: true; unknownTenant: true }
  /** A key, but not this tenant's: 403. */
  | { allow: false; reason: string };

/** The message of a 403 for a key that is not the path tenant's (never says whose key it is). */
export const WRONG_TENANT_MESSAGE = 'This API key is not valid for this tenant: every tenant has its own key, accepted only on its own paths (/{tenant}/...). Use the key of the tenant named in the URL.';

/**
 * Decides whether `presented` may post to `tenant`'s paths. `keyOf` gives a served tenant's key
 * (undefined when the tenant is not served).
 */
export async function checkTenantKey(presented: string, tenant: string, keyOf: (tenant: string) => Promise<string | undefined> | string | undefined): Promise<KeyVerdict> {
  const expected = await keyOf(tenant);
  if (expected === undefined) return { allow: true, unknownTenant: true };
  return sameSecret(presented, expected) ? { allow: true } : { allow: false, reason: WRONG_TENANT_MESSAGE };
}
