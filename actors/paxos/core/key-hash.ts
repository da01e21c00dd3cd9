/**
 * The routing hash of a key, known to every replica and every client: the client's routing
 * (actors/store/routing.ts) picks a key's group with it, and the core picks the key's home
 * replica. The home proposes the key's writes when the caller does not pick a replica, and is
 * the one replica pre-authorized for instance 1 (no value was chosen before it, so no originator
 * exists; exactly one pre-authorized replica per instance is what makes prepare-skip safe).
 */

/** The seeds of the group hash (hashKey's default) and of the home replica's hash. */
export const GROUP_HASH_SEED = 0x811c9dc5;
export const HOME_HASH_SEED = 0x9747b28c;
/** FNV-1a's 32-bit prime. */
export const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units, 32-bit. */
export function hashKey(key: string, seed = GROUP_HASH_SEED): number {
  let h = seed >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

export function homeReplicaOf(key: string, replicas: number): number {
  return hashKey(key, HOME_HASH_SEED) % replicas;
}
