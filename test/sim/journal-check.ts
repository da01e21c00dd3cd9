/**
 * The journal's checker for simulated runs: on every replica's simulated disk, each group's
 * journal is a gap-free run of seqs from its head's `first` to `head`; per key, successive
 * entries join up (`fromVersion` = the previous entry's `version`); and the newest entry of a
 * key names the very version of the key's record on that disk (entries and records are written
 * in one atomic batch, so torn tails and damaged tails cut both alike).
 */
import { openRecord } from '../../engines/record-codec';
import { decodeRecord } from '../../actors/paxos/codec';
import {
  JOURNAL_META_KEY,
  decodeJournalMeta,
  decodeJournalRecord,
  entryKey,
} from '../../actors/paxos/journal-codec';
import type { JournalRecord } from '../../actors/paxos/journal-codec';
import type { SimDisk } from '../../runtime/sim/sim-disk';
import type { SimCluster } from './paxos-cluster';
import { simJournalKey } from './sim-record-port';

/** Problems found (empty: the journals are consistent); `entries` counts what was checked. */
export function checkJournals(cluster: SimCluster): { problems: string[]; entries: number } {
  const problems: string[] = [];
  let entries = 0;
  for (let r = 0; r < cluster.replicas; r++) {
    const disk = cluster.sim.disk(r);
    for (let g = 0; g < cluster.groups; g++) {
      entries += checkGroup(disk, g, (p) => problems.push(`replica ${r} group ${g}: ${p}`));
    }
  }
  return { problems, entries };
}

function checkGroup(disk: SimDisk, group: number, problem: (p: string) => void): number {
  const metaBytes = disk.peekVisible(simJournalKey(group, JOURNAL_META_KEY));
  if (metaBytes === undefined) return 0;
  const { meta } = decodeJournalMeta(metaBytes);
  const last = new Map<string, JournalRecord>();
  for (let seq = meta.first; seq <= meta.head; seq++) {
    const bytes = disk.peekVisible(simJournalKey(group, entryKey(seq)));
    if (bytes === undefined) {
      problem(`entry ${seq} of ${meta.first}..${meta.head} is missing`);
      return 0;
    }
    const e = decodeJournalRecord(bytes);
    if (e.seq !== seq) problem(`entry ${seq} holds seq ${e.seq}`);
    const before = last.get(e.key);
    if (before !== undefined && e.fromVersion !== before.version)
      problem(`${e.key}: entry ${seq} from v${e.fromVersion} after v${before.version}`);
    if (before !== undefined && e.time < before.time) problem(`entry ${seq}: time went back`);
    last.set(e.key, e);
  }
  for (const [key, e] of last) {
    const record = disk.peekVisible(key);
    const version = record === undefined ? 0 : decodeRecord(openRecord(record)).version;
    if (version !== e.version)
      problem(`${key}: newest entry ${e.seq} at v${e.version}, record on disk at v${version}`);
  }
  // Keys whose record is on disk but whose entries were all trimmed are not checked.
  return meta.head + 1 - meta.first;
}
