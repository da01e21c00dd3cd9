/**
 * The storage half of records in sections (record-sections.ts): a RecordPort over another one
 * that stores a key's change entries under their own engine keys and hands every reader whole
 * records, so the shell's load path, scans, backups and verification see what they always saw.
 *
 * Engine keys: the base under the record's key, as always; entry i of its chain under
 * `chainKey(key, i)` = "\u0005" + key + "\u0000" + i (no record key starts with \u0005:
 * KV keys start with a namespace character, objects with \u0000, big-table keys with \u0001
 * and \u0002; the journal's keys start with \u0003).
 *
 * The chain on disk is always entries 1..n followed by an absent or empty entry n + 1:
 * - a change entry i is written with an empty entry i + 1 in the same atomic batch;
 * - a base is written with an empty entry 1 when the key had a chain (and the old entries
 *   are deleted in the same batch, up to CHAIN_DELETES_MAX of them, to free their space).
 * A load reads entries from 1 up to the first absent or empty one, so a crash anywhere keeps
 * a chain that continues its base (batches are atomic: a torn batch is dropped whole), and
 * stale entries behind a terminator, if any survived, are never read.
 *
 * Only a base of at least `dataBytesMin` bytes can have a chain (RecordSections chains only
 * records whose data is that big, and a sealed base is longer than its data), so a load reads
 * chain entries only after such a base: one engine read per small key, not two. What keeps a
 * smaller base from hiding a live chain: a base written over a key with a chain is written
 * with an empty entry 1 (below), and every big base is too when this port does not know the
 * key's chain (it may have one from before: a key deleted under it, a load that skipped it). Each entry names its
 * position and the data length it continues (foldChain); one that does not is damage, and the
 * key is answered as corrupted, so the shell recovers it from peers.
 */
import { assert } from '../../runtime/assert';
import type { BatchOp } from '../../engines/engine';
import { openRecord } from '../../engines/record-codec';
import { decodeRecord, encodeSealedRecord } from './codec';
import type { RecordPort, RecordWrite, ScanRange } from './record-port';
import { SECTION_LIMITS, decodeChangeEntry, foldChain, isChangeEntry } from './record-sections';
import type { SectionLimits } from './record-sections';

export const CHAIN_PREFIX = '\u0005';
const CHAIN_END = '\u0006';
const EMPTY = new Uint8Array(0);
/**
 * What a load answers for a key whose chain is damaged: a value that fails to open, so the
 * shell counts the key corrupted and recovers it from peers.
 */
const DAMAGED = Uint8Array.of(0);
/** Chain entries read per round trip at load. */
const CHAIN_READ_CHUNK = 256;
/** Old chain entries a base deletes in its own batch (the rest stay unreachable). */
const CHAIN_DELETES_MAX = 1024;
/** Times a scan reads a key again whose chain did not continue its base. */
const SCAN_REREADS_MAX = 2;

export function chainKey(key: string, seq: number): string {
  return `${CHAIN_PREFIX}${key}\u0000${seq}`;
}

export function isChainKey(engineKey: string): boolean {
  return engineKey.startsWith(CHAIN_PREFIX);
}

type Values = (Uint8Array | undefined)[];

export class SectionedRecordPort implements RecordPort {
  readonly appendChains = true;
  /** Chains on disk (entries, bytes), for keys that have one (learnt at load, kept up by writes). */
  private readonly chains = new Map<string, { entries: number; bytes: number }>();
  private readonly chainEntriesMax: number;

  constructor(
    private readonly inner: RecordPort,
    readonly sectionLimits: SectionLimits = SECTION_LIMITS,
  ) {
    assert(inner.volatile !== true, 'sections over a volatile store');
    this.chainEntriesMax = sectionLimits.chainEntriesMax;
    // Scans exactly where the inner store has them (the shell tells "cannot scan" by absence).
    if (inner.scan !== undefined) this.scan = (range, cb) => this.scanSectioned(range, cb);
    if (inner.scanAll !== undefined) this.scanAll = () => this.scanAllSectioned();
  }

  readonly scan?: RecordPort['scan'];
  readonly scanAll?: RecordPort['scanAll'];

  get lostAtOpen(): boolean | undefined {
    return this.inner.lostAtOpen;
  }

  /** Chain length on disk for a key (tests). */
  chainLength(key: string): number {
    return this.chains.get(key)?.entries ?? 0;
  }

  chainOf(key: string): { entries: number; bytes: number } {
    return this.chains.get(key) ?? { entries: 0, bytes: 0 };
  }

  write(batch: readonly RecordWrite[], cb: (err?: Error) => void, derived?: readonly BatchOp[]) {
    const out: RecordWrite[] = [];
    const ops: BatchOp[] = derived === undefined ? [] : [...derived];
    for (const w of batch) {
      if (isChangeEntry(w.value)) this.writeChange(w, out);
      else this.writeBase(w, out, ops);
    }
    this.inner.write(out, cb, ops.length === 0 ? undefined : ops);
  }

  private writeChange(w: RecordWrite, out: RecordWrite[]): void {
    const chain = this.chains.get(w.key) ?? { entries: 0, bytes: 0 };
    const seq = chain.entries + 1;
    // Our own bytes: the shell numbered the entry from the chain it handed us.
    const entry = decodeChangeEntry(openRecord(w.value));
    assert(entry.seq === seq, () => `change entry ${entry.seq} where the chain expects ${seq}`);
    assert(seq <= this.chainEntriesMax, () => `chain of ${seq} entries`);
    out.push({ key: chainKey(w.key, seq), value: w.value });
    out.push({ key: chainKey(w.key, seq + 1), value: EMPTY });
    this.chains.set(w.key, { entries: seq, bytes: chain.bytes + w.value.length });
  }

  private writeBase(w: RecordWrite, out: RecordWrite[], ops: BatchOp[]): void {
    out.push(w);
    const n = this.chains.get(w.key)?.entries;
    if (n === undefined) {
      // A chain this port never saw must not continue a big base: end it (one empty value).
      if (this.mayChain(w.value)) out.push({ key: chainKey(w.key, 1), value: EMPTY });
      return;
    }
    out.push({ key: chainKey(w.key, 1), value: EMPTY });
    // Engines bound a batch's ops (10,000): entries past the first few thousand stay behind
    // the terminator, never read, and are overwritten as the next chain grows over them.
    const last = Math.min(n + 1, CHAIN_DELETES_MAX + 1);
    for (let i = 2; i <= last; i++) ops.push({ type: 'del', key: chainKey(w.key, i) });
    this.chains.delete(w.key);
  }

  load(keys: readonly string[], cb: (values: Values, err?: Error) => void): void {
    this.loadWhole(keys, true, cb);
  }

  /** Keys that are not records (the journal's): no chains to read or fold. */
  loadLocal(keys: readonly string[], cb: (values: Values, err?: Error) => void): void {
    this.inner.load(keys, cb);
  }

  /**
   * `learn`: the shell's load of keys it is about to hold (no write of them is in flight), whose
   * chain lengths this port then keeps. Scans read keys that may be written meanwhile: they
   * learn nothing.
   */
  private loadWhole(
    keys: readonly string[],
    learn: boolean,
    cb: (values: Values, err?: Error) => void,
  ): void {
    assert(keys.length > 0, 'empty load');
    this.inner.load(keys, (values, err) => {
      if (err !== undefined) return cb([], err);
      assert(values.length === keys.length, 'one value per key');
      // Chains follow big bases only: read them (from entry 1) for those keys alone.
      const chains = new Map<string, Uint8Array[]>();
      keys.forEach((key, i) => {
        const base = values[i];
        if (base !== undefined && this.mayChain(base)) chains.set(key, []);
      });
      this.readChains(chains, (chainErr) => {
        if (chainErr !== undefined) return cb([], chainErr);
        cb(keys.map((key, i) => this.assemble(key, values[i], chains.get(key), learn)));
      });
    });
  }

  /** True when a stored base is big enough to be followed by a chain. */
  private mayChain(base: Uint8Array): boolean {
    return base.length >= this.sectionLimits.dataBytesMin;
  }

  /**
   * Reads the rest of each chain up to its terminator, more entries per round trip as the
   * chain proves long (bounded: a chain never passes chainEntriesMax, the writer asserts it).
   */
  private readChains(chains: Map<string, Uint8Array[]>, done: (err?: Error) => void): void {
    const pending = [...chains].filter(([, e]) => !ended(e) && e.length < this.chainEntriesMax);
    if (pending.length === 0) return done();
    const asked: string[] = [];
    const spans: number[] = [];
    for (const [key, entries] of pending) {
      const span = Math.min(CHAIN_READ_CHUNK, Math.max(4, entries.length));
      spans.push(span);
      for (let i = 1; i <= span; i++) asked.push(chainKey(key, entries.length + i));
    }
    this.inner.load(asked, (values, err) => {
      if (err !== undefined) return done(err);
      let at = 0;
      pending.forEach(([, entries], p) => {
        const span = spans[p] as number;
        let more = true;
        for (let i = 0; i < span; i++) {
          const v = values[at + i];
          if (more && (v === undefined || v.length === 0)) {
            entries.push(EMPTY); // the terminator: this chain is complete
            more = false;
          } else if (more) entries.push(v as Uint8Array);
        }
        at += span;
      });
      this.readChains(chains, done);
    });
  }

  /** The whole record of a key, sealed, from its base and chain (DAMAGED when they disagree). */
  private assemble(
    key: string,
    base: Uint8Array | undefined,
    chain: Uint8Array[] | undefined,
    learn: boolean,
  ): Uint8Array | undefined {
    const entries = chain?.filter((v) => v.length > 0) ?? [];
    if (learn && entries.length === 0) this.chains.delete(key);
    if (entries.length === 0) return base;
    // The next base of this key deletes these entries, whatever they hold.
    if (learn)
      this.chains.set(key, {
        entries: entries.length,
        bytes: entries.reduce((n, v) => n + v.length, 0),
      });
    if (base === undefined) return DAMAGED;
    try {
      const rec = foldChain(
        decodeRecord(openRecord(base)),
        entries.map((v) => decodeChangeEntry(openRecord(v))),
      );
      return encodeSealedRecord(rec);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'CORRUPTED') throw err;
      return DAMAGED;
    }
  }

  private scanSectioned(
    range: ScanRange,
    cb: (entries: Array<[string, Uint8Array]>, exhausted: boolean, err?: Error) => void,
  ): void {
    assert(this.inner.scan !== undefined, 'scan of a store that cannot scan');
    this.scanParts(splitAroundChains(range), range.examineMax, [], (entries, exhausted, err) => {
      if (err !== undefined) return cb([], false, err);
      assert(entries.length <= range.examineMax, () => `scan gave ${entries.length} entries`);
      this.foldEntries(entries, (folded, foldErr) =>
        foldErr !== undefined ? cb([], false, foldErr) : cb(folded, exhausted),
      );
    });
  }

  /** Scans the parts in order until `examineMax` entries are in; exhausted when all are. */
  private scanParts(
    parts: readonly ScanRange[],
    examineMax: number,
    acc: Array<[string, Uint8Array]>,
    cb: (entries: Array<[string, Uint8Array]>, exhausted: boolean, err?: Error) => void,
  ): void {
    const [part, ...rest] = parts;
    if (part === undefined) return cb(acc, true);
    if (acc.length >= examineMax) return cb(acc, false);
    this.inner.scan?.(
      { ...part, examineMax: examineMax - acc.length },
      (entries, exhausted, err) => {
        if (err !== undefined) return cb([], false, err);
        for (const e of entries) if (!isChainKey(e[0])) acc.push(e);
        if (!exhausted) return cb(acc, false);
        this.scanParts(rest, examineMax, acc, cb);
      },
    );
  }

  /**
   * Replaces the record of each entry that has a chain with its whole record. A scan reads a
   * base and its chain in separate engine reads while the key may be written: a chain that does
   * not continue the base read before it may be a newer one, so such keys are read again
   * (bounded) before they count as damaged.
   */
  private foldEntries(
    entries: Array<[string, Uint8Array]>,
    cb: (entries: Array<[string, Uint8Array]>, err?: Error) => void,
    attempt = 0,
  ): void {
    if (entries.length === 0) return cb(entries);
    this.loadWhole(
      entries.map(([k]) => k),
      false,
      (values, err) => {
        if (err !== undefined) return cb([], err);
        const out: Array<[string, Uint8Array]> = entries.map(([k, v], i) => [k, values[i] ?? v]);
        const damaged = out.filter(([, v]) => v === DAMAGED);
        if (damaged.length === 0 || attempt >= SCAN_REREADS_MAX) return cb(out);
        this.foldEntries(
          damaged,
          (again, againErr) => {
            if (againErr !== undefined) return cb([], againErr);
            const byKey = new Map(again);
            cb(out.map(([k, v]) => [k, byKey.get(k) ?? v]));
          },
          attempt + 1,
        );
      },
    );
  }

  /**
   * Every stored entry, chain entries left out and records whole (verification). Two passes:
   * the first finds the keys that have chains (on unordered engines they come in any order).
   */
  private async *scanAllSectioned(): AsyncIterable<[string, Uint8Array]> {
    const all = this.inner.scanAll;
    assert(all !== undefined, 'scanAll of a store that cannot');
    const chained = new Set<string>();
    for await (const [k, v] of all.call(this.inner)) {
      if (isChainKey(k) && k.endsWith('\u00001') && v.length > 0)
        chained.add(k.slice(CHAIN_PREFIX.length, -2));
    }
    for await (const [k, v] of all.call(this.inner)) {
      if (isChainKey(k)) continue;
      if (!chained.has(k)) {
        yield [k, v];
        continue;
      }
      const whole = await new Promise<Uint8Array>((resolve, reject) =>
        this.foldEntries([[k, v]], (out, err) =>
          err !== undefined ? reject(err) : resolve((out[0] as [string, Uint8Array])[1]),
        ),
      );
      yield [k, whole];
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * The parts of a range outside the chain entries' [CHAIN_PREFIX, CHAIN_END), in scan order (at
 * most two; none when the range lies inside it).
 */
export function splitAroundChains(range: ScanRange): ScanRange[] {
  const parts: ScanRange[] = [];
  const below = { ...range, lt: range.lt < CHAIN_PREFIX ? range.lt : CHAIN_PREFIX };
  const above = { ...range, gte: range.gte > CHAIN_END ? range.gte : CHAIN_END };
  if (below.gte < below.lt) parts.push(below);
  if (above.gte < above.lt) parts.push(above);
  return range.reverse ? parts.reverse() : parts;
}

function ended(entries: readonly Uint8Array[]): boolean {
  return entries.length > 0 && (entries[entries.length - 1] as Uint8Array).length === 0;
}
