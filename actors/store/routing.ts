/** Which group (actor) and which home replica serve a key. Pure and stable across restarts. */

/** FNV-1a over UTF-16 code units, 32-bit. */
export function hashKey(key: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function groupOfKey(key: string, groups: number): number {
  return hashKey(key) % groups;
}

/**
 * The replica that proposes a key's writes when the caller does not pick one: one home per
 * key keeps writes pre-authorized (one round trip) and spreads keys over all replicas.
 */
export function homeReplicaOf(key: string, replicas: number): number {
  return hashKey(key, 0x9747b28c) % replicas;
}
