/** Which group (actor) and which home replica serve a key. Pure and stable across restarts. */
import { hashKey } from '../paxos/core/home';

export { hashKey, homeReplicaOf } from '../paxos/core/home';

export function groupOfKey(key: string, groups: number): number {
  return hashKey(key) % groups;
}
