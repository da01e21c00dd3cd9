/**
 * The young generation of each worker thread (`resourceLimits.maxYoungGenerationSizeMb`).
 *
 * Almost everything a worker allocates dies within a turn or a round trip: decoded messages,
 * payload views, apply results, request bookkeeping. A scavenge costs in proportion to what is
 * still alive when it runs, so the larger the semi-space, the less of that short-lived garbage
 * is still in flight (and copied, then promoted) at each scavenge. V8's default caps a
 * semi-space at 16 MiB (a young generation of 48 MiB: two semi-spaces and the new large-object
 * space); kv-load at 2 workers spends 16–22 % of each worker and most of the "rest of the
 * process" (V8's GC helper threads) in the collector (bench/README.md, issue 10 fourth pass).
 *
 * The limit is per thread and ours to set (the embedding thread's semi-space is the host's
 * choice: `node --max-semi-space-size`). The cost is memory: a busy worker's young generation
 * grows to the cap (V8 sizes it by the survival rate), about 2/3 of this value committed.
 *
 * The default was 192 (a 64 MiB semi-space) while in-flight garbage dominated the scavenges.
 * Since a write leaves less behind (kept bytes, eighth session), what a scavenge copies is
 * mostly what the keys keep, which a larger semi-space does not save; it only makes each pause
 * longer. Measured at 16–192 (docs/decisions.md "Worker young generation, again"): the CPU per
 * operation is the same within noise, and the write p99 falls from 23–42 ms at 192 to 15–17
 * ms at 48. The default is now 48, which is V8's own (a 16 MiB semi-space): V8 rounds a
 * semi-space up to a power of two, so 64 would have been 96.
 */
import { assert } from './assert';

/** The default: a 16 MiB semi-space (V8 counts 3 semi-spaces in this figure), V8's own. */
export const WORKER_YOUNG_MB_DEFAULT = 48;
/**
 * The memory engine's default (the store's options): an 8 MiB semi-space. Since a kv put
 * writes its state in place (docs/decisions.md "A key's data written in place"), a memory
 * write leaves little for a scavenge to copy, and half the semi-space halves each pause at no
 * CPU cost (decision "Worker young generation: 24 MiB on the memory engine"). The disk
 * engines keep 48: their batches hold records in flight for a whole write.
 */
export const WORKER_YOUNG_MB_MEMORY_DEFAULT = 24;
/** Bounds of an explicit value, in MiB (V8's own default is 48). */
export const WORKER_YOUNG_MB_MIN = 3;
export const WORKER_YOUNG_MB_MAX = 3 * 1024;

/** Checks an explicit value; the caller turns false into its own typed error. */
export function isWorkerYoungMb(mb: unknown): mb is number {
  const ok =
    typeof mb === 'number' &&
    Number.isInteger(mb) &&
    mb >= WORKER_YOUNG_MB_MIN &&
    mb <= WORKER_YOUNG_MB_MAX;
  assert(WORKER_YOUNG_MB_DEFAULT >= WORKER_YOUNG_MB_MIN, 'young default below its minimum');
  return ok;
}
