/**
 * Concurrent writers that record every put they send (value, send and ack times, the version
 * it answered) for tests that check a backup or restore against the acknowledged history:
 * backup-history.ts, backup-restore.test.ts, cluster/backup-follow.test.ts.
 */

export interface Put {
  readonly key: string;
  readonly value: string;
  readonly sentAt: number;
  ackedAt: number;
  version: number;
}

/** What the writers put through: a kv handle of an embedded or a connected store. */
export interface PutTarget {
  put(key: string, value: string): Promise<{ version: number }>;
}

export interface WritersOptions {
  readonly clients: number;
  /** Keys k0 .. k(keySpace - 1) are written (changeable while running). */
  readonly keySpace: number;
  /** Puts per client at most (a bound on each loop). Default 100,000. */
  readonly writesMax?: number;
  /** The clock of sentAt/ackedAt. Default Date.now (journal times are wall clock). */
  readonly clock?: () => number;
  /** until() waits at most this long. Default 120 s. */
  readonly waitMaxMs?: number;
}

export class Writers {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly clock: () => number;
  acked = 0;
  failed = 0;
  keySpace: number;

  /** `puts` may be shared with an earlier Writers (a history across a reopen). */
  constructor(
    private readonly target: PutTarget,
    private readonly options: WritersOptions,
    readonly puts: Put[] = [],
  ) {
    this.keySpace = options.keySpace;
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    for (let c = 0; c < this.options.clients; c++) this.loops.push(this.client(c));
  }

  private async client(c: number): Promise<void> {
    // Bounded: each client stops on request, and the caller bounds how long it waits.
    for (let seq = 0; !this.stopped && seq < (this.options.writesMax ?? 100_000); seq++) {
      const key = `k${(c * 7919 + seq * 104_729) % this.keySpace}`;
      const put: Put = {
        key,
        value: `${c}:${seq}:${this.puts.length}`, // unique, across a reopen too
        sentAt: this.clock(),
        ackedAt: Infinity,
        version: -1,
      };
      this.puts.push(put);
      try {
        const r = await this.target.put(key, put.value);
        put.ackedAt = this.clock();
        put.version = r.version;
        this.acked += 1;
      } catch {
        this.failed += 1; // may or may not have applied: its value may appear, nothing else
      }
    }
  }

  async until(acks: number): Promise<void> {
    const rounds = Math.ceil((this.options.waitMaxMs ?? 120_000) / 10);
    for (let i = 0; i < rounds && this.acked < acks; i++)
      await new Promise((r) => setTimeout(r, 10));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}
