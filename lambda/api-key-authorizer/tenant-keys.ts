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

/**
 * Whether `presented` may post to `tenant`'s paths: yes when it is that tenant's key, or when the path
 * names no served tenant (`keyOf` gives undefined: the usage plans then check the key and the ingest
 * answers 404); no for any other key.
 */
export async function mayPostTo(
  presented: string,
  tenant: string,
  keyOf: (tenant: string) => Promise<string | undefined> | string | undefined,
): Promise<boolean> {
  const expected = await keyOf(tenant);
  return expected === undefined || sameSecret(presented, expected);
}
