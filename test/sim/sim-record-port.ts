/** The Paxos actor's storage port over a simulated disk (completions driven by the simulator). */
import type { BatchOp, SyncMode } from '../../engines/engine';
import type { RecordPort, RecordWrite } from '../../actors/paxos/record-port';
import type { DiskWrite, SimDisk } from '../../runtime/sim/sim-disk';

export class SimRecordPort implements RecordPort {
  /** The simulated engine found a damaged tail at open (acknowledged records lost). */
  readonly lostAtOpen: boolean;

  constructor(
    private readonly disk: SimDisk,
    private readonly sync: SyncMode,
  ) {
    this.lostAtOpen = disk.tailDamagedAtLastCrash;
  }

  load(
    keys: readonly string[],
    cb: (values: (Uint8Array | undefined)[], err?: Error) => void,
  ): void {
    this.disk.read(keys, cb);
  }

  /** Derived ops (a sectioned store's deletes of old chain entries) ride in the same batch. */
  write(
    batch: readonly RecordWrite[],
    cb: (err?: Error) => void,
    derived?: readonly BatchOp[],
  ): void {
    const writes: DiskWrite[] = [...batch];
    for (const op of derived ?? [])
      writes.push({ key: op.key, value: op.type === 'put' ? op.value : null });
    this.disk.write(writes, this.sync === 'always', cb);
  }

  async close(): Promise<void> {}
}
