/**
 * The backup's per-key rule (docs/decisions.md "Backups"), pure: from the listings of a
 * majority of replicas, which keys need no Paxos read, and which state of each to keep.
 *
 * A write acknowledged before the backup began was accepted at its instance i by a majority
 * before then, and any majority we list afterwards shares a replica x with that one. Acceptor
 * state only moves forward, so x now shows either a chosen instance >= i, or the write still
 * accepted at instance chosen + 1 (`pending`). Hence, with c* the highest chosen instance
 * listed for the key:
 *
 * - no listed replica is pending at c* + 1 and every listed state is known: every write
 *   acknowledged before the backup began is at an instance <= c*, so the state chosen at c*
 *   (one replica's whole record: never torn) holds it or a later one. Take it.
 * - a write pending at c* + 1 on a majority of all replicas, accepted in one ballot: it is
 *   chosen (Paxos: a value a majority accepted in one ballot), though none of them may have
 *   written that down (chosen-only changes are not written, docs/decisions.md 3: on disk, a
 *   key's last write is nearly always in this state). Its state is the record at c* with that
 *   value applied, exactly as each replica applies it (applyChosen, the same model code and
 *   at-most-once windows). No write can be chosen beyond c* + 1 meanwhile: its accept majority
 *   would share a listed replica, which would then show c* + 1 chosen.
 * - otherwise (a pending write at c* + 1 on fewer, or a replica that does not know its state):
 *   the listing cannot tell whether that write was chosen. A linearizable read through one
 *   replica settles it (finishes or overrules the open instance, catches the replica up), and
 *   the replica's state after that read is taken instead.
 *
 * A key no listed replica holds was acknowledged by no majority: it is not in the backup.
 */
import { assert } from '../../runtime/assert';
import { compareKeys } from '../../engines/key-order';
import { allModels } from '../../models/all-models';
import type { BackupEntry, BackupPage } from '../paxos/backup-page';
import { applyChosen, snapshotRecord } from '../paxos/core/key-record';
import type { KeyRecord } from '../paxos/core/types';

export type KeyDecision =
  | { readonly kind: 'take'; readonly entry: BackupEntry; readonly diverged: boolean }
  | { readonly kind: 'read' }
  | { readonly kind: 'skip' };

function sameState(a: BackupEntry, b: BackupEntry): boolean {
  if (a.version !== b.version) return false;
  if (a.data === null || b.data === null) return a.data === b.data;
  return Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(b.data);
}

/** A state to take, unless it holds nothing (promises or no-ops only: never written). */
function take(entry: BackupEntry, atNewest: readonly BackupEntry[]): KeyDecision {
  if (entry.chosen === 0 || (entry.data === null && entry.version === 0)) return { kind: 'skip' };
  return {
    kind: 'take',
    entry,
    diverged: atNewest.some((s) => s.chosen === entry.chosen && !sameState(s, entry)),
  };
}

/**
 * The record of a replica at c* whose pending value a majority of all `replicas` accepted in one
 * ballot, with that value applied; undefined when no value has such a majority.
 */
function appliedMajority(
  atNewest: readonly BackupEntry[],
  replicas: number,
): BackupEntry | undefined {
  const votes = new Map<string, BackupEntry[]>();
  for (const s of atNewest) {
    const r = s.record;
    if (!s.pending || r === null || r.accepted === null) continue;
    const id = `${r.acceptedBallot}/${r.accepted.origin}/${r.accepted.seq}`;
    votes.set(id, [...(votes.get(id) ?? []), s]);
  }
  const needed = Math.floor(replicas / 2) + 1;
  const winners = [...votes.values()].find((v) => v.length >= needed);
  const base = winners?.[0]?.record;
  if (base === undefined || base === null || base.accepted === null) return undefined;
  const rec: KeyRecord = snapshotRecord(base);
  applyChosen(rec, base.accepted, allModels);
  assert(
    rec.chosen === base.chosen + 1,
    () => `applied a majority value at ${rec.chosen}, expected ${base.chosen + 1}`,
  );
  const key = winners?.[0]?.key ?? '';
  return {
    key,
    chosen: rec.chosen,
    version: rec.version,
    data: rec.data,
    pending: false,
    unsettled: false,
    record: rec,
  };
}

/**
 * The rule above for one key; `states` has one slot per listing replica (undefined: absent),
 * `replicas` is the Set's size (a majority is counted among all of them).
 */
export function decideKey(
  states: readonly (BackupEntry | undefined)[],
  replicas: number,
): KeyDecision {
  const held = states.filter((s): s is BackupEntry => s !== undefined);
  assert(
    held.length > 0 && held.length <= replicas,
    () => `a key listed by ${held.length} of ${replicas} replicas`,
  );
  if (held.some((s) => s.unsettled)) return { kind: 'read' };
  const newest = Math.max(...held.map((s) => s.chosen));
  const atNewest = held.filter((s) => s.chosen === newest);
  const entry = atNewest[0];
  assert(entry !== undefined && entry.chosen === newest, 'no state at the newest instance');
  if (!atNewest.some((s) => s.pending)) return take(entry, atNewest);
  const applied = appliedMajority(atNewest, replicas);
  return applied === undefined ? { kind: 'read' } : take(applied, []);
}

/** The keys of one round of pages, each with its replicas' states, in key order. */
export interface MergedRound {
  readonly rows: { readonly key: string; readonly states: (BackupEntry | undefined)[] }[];
  /** The key the round covers up to (inclusive); undefined when every listing is exhausted. */
  readonly through: string | undefined;
}

/**
 * Merges one page from each listing replica (all asked from the same `gte`). A replica whose
 * page has more stopped at its `resume` key; keys after the lowest such stop are not known for
 * every replica yet, so they wait for the next round, which starts after `through`.
 */
export function mergePages(pages: readonly BackupPage[]): MergedRound {
  assert(pages.length > 0, 'merge of no pages');
  let through: string | undefined;
  for (const p of pages) {
    assert(!p.amnesic, 'an amnesic page in a merge');
    if (p.more && (through === undefined || compareKeys(p.resume, through) < 0)) through = p.resume;
  }
  const byKey = new Map<string, (BackupEntry | undefined)[]>();
  pages.forEach((page, slot) => {
    for (const e of page.entries) {
      if (through !== undefined && compareKeys(e.key, through) > 0) break;
      let states = byKey.get(e.key);
      if (states === undefined) {
        states = new Array<BackupEntry | undefined>(pages.length).fill(undefined);
        byKey.set(e.key, states);
      }
      states[slot] = e;
    }
  });
  const rows = [...byKey].map(([key, states]) => ({ key, states }));
  rows.sort((a, b) => compareKeys(a.key, b.key));
  return { rows, through };
}

/** The smallest key after `key` in the engines' order (UTF-8 bytes): the next page's `gte`. */
export function keyAfter(key: string): string {
  return `${key}\u0000`;
}
