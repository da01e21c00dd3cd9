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
 * - otherwise (a pending write at c* + 1, or a replica that does not know its state): the
 *   listing cannot tell whether that write was chosen. A linearizable read through one replica
 *   settles it (finishes or overrules the open instance, catches the replica up), and the
 *   replica's state after that read is taken instead.
 *
 * A key no listed replica holds was acknowledged by no majority: it is not in the backup.
 */
import { assert } from '../../runtime/assert';
import { compareKeys } from '../../engines/key-order';
import type { BackupEntry, BackupPage } from '../paxos/backup-page';

export type KeyDecision =
  | { readonly kind: 'take'; readonly entry: BackupEntry; readonly diverged: boolean }
  | { readonly kind: 'read' }
  | { readonly kind: 'skip' };

function sameState(a: BackupEntry, b: BackupEntry): boolean {
  if (a.version !== b.version) return false;
  if (a.data === null || b.data === null) return a.data === b.data;
  return Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(b.data);
}

/** The rule above for one key; `states` has one slot per listing replica (undefined: absent). */
export function decideKey(states: readonly (BackupEntry | undefined)[]): KeyDecision {
  const held = states.filter((s): s is BackupEntry => s !== undefined);
  assert(held.length > 0, 'a key no replica listed');
  if (held.some((s) => s.unsettled)) return { kind: 'read' };
  const newest = Math.max(...held.map((s) => s.chosen));
  const atNewest = held.filter((s) => s.chosen === newest);
  if (atNewest.some((s) => s.pending)) return { kind: 'read' };
  if (newest === 0) return { kind: 'skip' }; // promised or no-op only: nothing was ever written
  const entry = atNewest[0];
  assert(entry !== undefined && entry.chosen === newest, 'no state at the newest instance');
  const empty = entry.data === null && entry.version === 0;
  if (empty) return { kind: 'skip' };
  return { kind: 'take', entry, diverged: atNewest.some((s) => !sameState(s, entry)) };
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
