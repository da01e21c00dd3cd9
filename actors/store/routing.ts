/** Which group (actor) and which home replica serve a key. Pure and stable across restarts. */
import { assert } from '../../runtime/assert';
import { hashKey, homeReplicaOf } from '../paxos/core/key-hash';

export { hashKey, homeReplicaOf } from '../paxos/core/key-hash';

export function groupOfKey(key: string, groups: number): number {
  return hashKey(key) % groups;
}

/**
 * The seed of homeReplicaOf's hash (key-hash.ts), checked below against homeReplicaOf itself:
 * a modulus of 2^32 leaves a 32-bit hash whole.
 */
const HOME_SEED = 0x9747b28c;
const HOME_CHECK_KEY = 'routing\u0001check';
assert(
  homeReplicaOf(HOME_CHECK_KEY, 2 ** 32) === hashKey(HOME_CHECK_KEY, HOME_SEED),
  'routing: HOME_SEED is not the seed of homeReplicaOf',
);

/**
 * groupOfKey and homeReplicaOf of `prefix + name`, from the two parts: FNV-1a hashes a string
 * left to right, so the hash of the prefix is the seed of the name's. A namespace's replicated
 * key is such a concatenation; hashing it whole would flatten that rope (a copy) and hash the
 * prefix twice per request (issue 10, the client thread). Equal to the whole key's routing by
 * construction (test/unit/actors/store/routing.test.ts checks it).
 */
export function groupOfKeyParts(prefix: string, name: string, groups: number): number {
  return hashKey(name, hashKey(prefix)) % groups;
}

export function homeReplicaOfParts(prefix: string, name: string, replicas: number): number {
  return hashKey(name, hashKey(prefix, HOME_SEED)) % replicas;
}
