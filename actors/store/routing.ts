/** Which group (actor) and which home replica serve a key. Pure and stable across restarts. */
import { hashKey } from '../paxos/core/key-hash';

export { hashKey, homeReplicaOf } from '../paxos/core/key-hash';

export function groupOfKey(key: string, groups: number): number {
  return hashKey(key) % groups;
}
