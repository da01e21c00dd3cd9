/** The Paxos actor's storage port over a simulated disk (completions driven by the simulator). */
import type { BatchOp, SyncMode } from '../../engines/engine';
import type { RecordPort, RecordWrite } from '../../actors/paxos/record-port';
import type { DiskWrite, SimDisk } from '../../runtime/sim/sim-disk';
import { isJournalKey } from '../../actors/paxos/journal-codec';

/**
 * A replica's simulated disk is shared by its groups: a group's journal keys (which every group
 * names alike) are stored under a per-group prefix.
 */
export function simJournalKey(group: number, key: string): string {
  return isJournalKey(key) ? `${key.slice(0, 1)}g${group}/${key.slice(1)}` : key;
}

export class SimRecordPort implements RecordPort {
  /** The simulated engine found a damaged tail at open (acknowledged records lost). */
  readonly lostAtOpen: boolean;

  constructor(
    private readonly disk: SimDisk,
    private readonly sync: SyncMode,
    private readonly group = 0,
  ) {
    this.lostAtOpen = disk.tailDamagedAtLastCrash;
  }

  load(
    keys: readonly string[],
    cb: (values: (Uint8Array | undefined)[], err?: Error) => void,
  ): void {
    this.disk.read(
      keys.map((k) => simJournalKey(this.group, k)),
      cb,
    );
  }

  /** Derived ops (a sectioned store's deletes of old chain entries) ride in the same batch. */
  write(
    batch: readonly RecordWrite[],
    cb: (err?: Error) => void,
    derived?: readonly BatchOp[],
  ): void {
    const writes: DiskWrite[] = [...batch];
    for (const op of derived ?? []) {
      // Journal keys are named alike in every group: each group's go under its own prefix.
      // Chain entries (a sectioned store's) are named by their record's key, unique already.
      const key = isJournalKey(op.key) ? simJournalKey(this.group, op.key) : op.key;
      writes.push({ key, value: op.type === 'put' ? op.value : null });
    }
    this.disk.write(writes, this.sync === 'always', cb);
  }

  async close(): Promise<void> {}
}
