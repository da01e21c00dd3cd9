/** Which group (actor) and which home replica serve a key. Pure and stable across restarts. */
import { assert } from '../../runtime/assert';
import {
  FNV_PRIME,
  GROUP_HASH_SEED,
  HOME_HASH_SEED,
  hashKey,
  homeReplicaOf,
} from '../paxos/core/key-hash';

export { hashKey, homeReplicaOf } from '../paxos/core/key-hash';

export function groupOfKey(key: string, groups: number): number {
  return hashKey(key) % groups;
}

/** A key's group and home replica (routeOfParts writes them into one the caller reuses). */
export interface KeyRoute {
  group: number;
  home: number;
}

/**
 * groupOfKey and homeReplicaOf of `prefix + name`, from the two parts and in one pass: FNV-1a
 * hashes a string left to right, so both hashes run over the prefix and then the name. A
 * namespace's replicated key is such a concatenation; hashing it whole, twice, would flatten
 * that rope (a copy) and walk it twice per request (issue 10, the client thread). Equal to the
 * whole key's routing (checked at load below, and by test/unit/actors/store/routing.test.ts).
 */
export function routeOfParts(
  prefix: string,
  name: string,
  groups: number,
  replicas: number,
  out: KeyRoute,
): void {
  // key-hash.ts's FNV-1a over UTF-16 units with its two seeds (a modulus of 2^32 below, in the
  // check at load, leaves a 32-bit hash whole).
  let group = GROUP_HASH_SEED;
  let home = HOME_HASH_SEED;
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    group = Math.imul(group ^ c, FNV_PRIME) >>> 0;
    home = Math.imul(home ^ c, FNV_PRIME) >>> 0;
  }
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    group = Math.imul(group ^ c, FNV_PRIME) >>> 0;
    home = Math.imul(home ^ c, FNV_PRIME) >>> 0;
  }
  out.group = group % groups;
  out.home = home % replicas;
}

// The hashes above are key-hash.ts's, or routing would differ from every replica's.
const CHECK_PREFIX = 'routing\u0001';
const CHECK_NAME = 'check-é';
const checked: KeyRoute = { group: 0, home: 0 };
routeOfParts(CHECK_PREFIX, CHECK_NAME, 2 ** 32, 2 ** 32, checked);
assert(
  checked.group === groupOfKey(CHECK_PREFIX + CHECK_NAME, 2 ** 32) &&
    checked.home === homeReplicaOf(CHECK_PREFIX + CHECK_NAME, 2 ** 32),
  'routing: routeOfParts differs from groupOfKey or homeReplicaOf',
);
