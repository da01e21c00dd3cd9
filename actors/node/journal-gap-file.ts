/**
 * A group's journal must never have a silent gap (README "Journal subscription"). The journal is
 * an option of each open: a store opened once with `journal: false` (left unset, a dir that
 * kept a journal keeps it: storeKeptJournal) applies writes that no entry records, and a later open with the journal would go on numbering as if nothing had happened,
 * so a subscriber (or a backup follow) would skip those writes without knowing. Two marker
 * files per (replica, group), beside its incarnation count, close that hole:
 *
 * - `group-G.journal`: this group has kept a journal (written at the first start with it on).
 * - `group-G.journal-gap`: it has since started without one. Written durably before the actor
 *   exists, so before any write of that start can reach the engine.
 *
 * The next start with the journal on sees the gap and starts a new epoch (as after amnesia):
 * every cursor of the old epoch answers SUBSCRIPTION_EXPIRED. The gap marker goes only once the
 * new epoch is durable (clearJournalGap, called by the actor); a crash before that starts a new
 * epoch again, never the old one. docs/decisions.md "A journal turned off leaves no silent gap".
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { groupFiles, removeMarkerFile, writeMarkerFile } from './incarnation-file';

/**
 * Called synchronously as the group starts, before it can write. With the journal on: notes
 * that the group keeps one, and answers whether a start without it came between (a new epoch
 * is due). With it off: marks the gap if the group ever kept a journal; answers false.
 */
export function journalGapAtStart(
  root: string,
  replica: number,
  group: number,
  journalOn: boolean,
): boolean {
  const f = groupFiles(root, replica, group);
  if (journalOn) {
    if (!fs.existsSync(f.journal)) writeMarkerFile(f.journal);
    return fs.existsSync(f.journalGap);
  }
  if (fs.existsSync(f.journal) && !fs.existsSync(f.journalGap)) writeMarkerFile(f.journalGap);
  return false;
}

/**
 * Whether any group of the store in `root` has kept a journal (its `group-G.journal` marker):
 * an open that leaves `journal` unset keeps it on rather than opening a gap.
 */
export async function storeKeptJournal(root: string, replicas: number): Promise<boolean> {
  for (let r = 0; r < replicas; r++) {
    const names = await fsp.readdir(path.join(root, `replica-${r}`)).catch(() => [] as string[]);
    if (names.some((n) => KEPT_NAME.test(n))) return true;
  }
  return false;
}

const KEPT_NAME = /^group-\d+\.journal$/;

/** The new epoch is durable: the gap is accounted for. */
export function clearJournalGap(root: string, replica: number, group: number): void {
  removeMarkerFile(groupFiles(root, replica, group).journalGap);
}
