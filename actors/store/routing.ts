/** Which group (actor) and which home replica serve a key. Pure and stable across restarts. */
import { assert } from '../../runtime/assert';
import { hashKey, homeReplicaOf } from '../paxos/core/key-hash';

export { hashKey, homeReplicaOf } from '../paxos/core/key-hash';

export function groupOfKey(key: string, groups: number): number {
  return hashKey(key) % groups;
}

/**
 * The seeds of groupOfKey's and homeReplicaOf's hashes (key-hash.ts: FNV-1a over UTF-16 units,
 * 32-bit), checked below against those functions themselves: a modulus of 2^32 leaves a 32-bit
 * hash whole.
 */
const GROUP_SEED = 0x811c9dc5;
const HOME_SEED = 0x9747b28c;
const FNV_PRIME = 0x01000193;

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
  let group = GROUP_SEED;
  let home = HOME_SEED;
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
