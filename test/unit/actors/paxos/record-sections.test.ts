/**
 * Records in sections (actors/paxos/record-sections.ts, sectioned-record-port.ts): the change
 * entry format, folding a chain into the whole record, and the storage rules that keep a
 * chain continuing its base across crashes that keep any prefix of the batches (a torn tail).
 */
import test from 'ava';
import { decodeRecord, encodeRecord } from '../../../../actors/paxos/codec';
import { RECENT_WINDOW, emptyRecord } from '../../../../actors/paxos/core/key-record';
import type { KeyRecord } from '../../../../actors/paxos/core/types';
import type { RecordPort, RecordWrite, ScanRange } from '../../../../actors/paxos/record-port';
import {
  RecordSections,
  SECTION_LIMITS,
  decodeChangeEntry,
  encodeChangeEntry,
  foldChain,
  isChangeEntry,
} from '../../../../actors/paxos/record-sections';
import type { SectionLimits, Windows } from '../../../../actors/paxos/record-sections';
import {
  SectionedRecordPort,
  chainKey,
  isChainKey,
  splitAroundChains,
} from '../../../../actors/paxos/sectioned-record-port';
import type { BatchOp } from '../../../../engines/engine';
import { openRecord } from '../../../../engines/record-codec';
import { appendBytes } from '../../../../models/append-bytes';
import { createTableStateMachine, encodeTableOp } from '../../../../models/table/table';
import { Prng } from '../../../../runtime/sim/prng';
import { copyWindow, windowEntries, windowOf } from '../../../../actors/paxos/core/recent-window';

const NO_WINDOWS: Windows = { recentIds: [], recentResults: [], requests: [] };

/** Every record in sections, whatever its size (the default keeps small records whole). */
const SMALL: SectionLimits = { ...SECTION_LIMITS, dataBytesMin: 0 };

type Batch = Array<{ key: string; value: Uint8Array | null }>;

/** A store of atomic batches; a crash keeps any prefix of the batches since the last crash. */
class BatchLogPort implements RecordPort {
  readonly log: Batch[] = [];
  durable = 0;

  private state(): Map<string, Uint8Array> {
    const m = new Map<string, Uint8Array>();
    for (const b of this.log)
      for (const w of b) w.value === null ? m.delete(w.key) : m.set(w.key, w.value);
    return m;
  }

  load(keys: readonly string[], cb: (values: (Uint8Array | undefined)[]) => void): void {
    const m = this.state();
    cb(keys.map((k) => m.get(k)));
  }

  write(batch: readonly RecordWrite[], cb: (err?: Error) => void, derived?: readonly BatchOp[]) {
    const b: Batch = batch.map((w) => ({ key: w.key, value: w.value.slice() }));
    for (const op of derived ?? [])
      b.push({ key: op.key, value: op.type === 'put' ? op.value : null });
    this.log.push(b);
    cb();
  }

  scan(
    range: ScanRange,
    cb: (entries: Array<[string, Uint8Array]>, exhausted: boolean) => void,
  ): void {
    const keys = [...this.state().keys()].filter((k) => k >= range.gte && k < range.lt).sort();
    if (range.reverse) keys.reverse();
    const m = this.state();
    const page = keys.slice(0, range.examineMax);
    cb(
      page.map((k) => [k, m.get(k) as Uint8Array]),
      keys.length <= range.examineMax,
    );
  }

  async *scanAll(): AsyncIterable<[string, Uint8Array]> {
    yield* this.state();
  }

  /** Keeps the first `keep` batches written since the last crash. */
  crash(keep: number): void {
    this.log.length = Math.min(this.log.length, this.durable + keep);
    this.durable = this.log.length;
  }

  engineKeys(): string[] {
    return [...this.state().keys()];
  }

  async close(): Promise<void> {}
}

function loadOne(port: RecordPort, key: string): KeyRecord | undefined | 'damaged' {
  let out: KeyRecord | undefined | 'damaged' = 'damaged';
  port.load([key], (values) => {
    const v = values[0];
    if (v === undefined) out = undefined;
    else {
      try {
        out = decodeRecord(openRecord(v));
      } catch {
        out = 'damaged';
      }
    }
  });
  return out;
}

function persist(sections: RecordSections, port: RecordPort, recs: Map<string, KeyRecord>) {
  const writes: RecordWrite[] = [];
  for (const [key, rec] of recs) writes.push({ key, value: sections.stage(key, rec) });
  sections.batched();
  port.write(writes, () => undefined);
}

const same = (a: KeyRecord, b: KeyRecord): boolean =>
  Buffer.from(encodeRecord(a)).equals(Buffer.from(encodeRecord(b)));

function tableRecord(data: Uint8Array | null, chosen: number): KeyRecord {
  return { ...emptyRecord(), data, chosen, chosenOrigin: 0, chosenSeq: chosen, version: chosen };
}

test('a change entry round-trips, and a chain folds into the whole record', (t) => {
  const base = tableRecord(appendBytes(null, Uint8Array.of(1, 2)), 1);
  const e1 = encodeChangeEntry(tableRecord(null, 2), 1, 2, Uint8Array.of(3), base);
  const rec3 = { ...tableRecord(null, 3), promised: 7 };
  const e2 = encodeChangeEntry(rec3, 2, 3, Uint8Array.of(4, 5), base);
  t.true(isChangeEntry(e1));
  const d1 = decodeChangeEntry(openRecord(e1));
  t.is(d1.seq, 1);
  t.is(d1.dataOffset, 2);
  t.deepEqual([...d1.tail], [3]);
  const whole = foldChain(base, [d1, decodeChangeEntry(openRecord(e2))]);
  t.deepEqual([...(whole.data ?? [])], [1, 2, 3, 4, 5]);
  t.is(whole.chosen, 3);
  t.is(whole.promised, 7, 'the newest entry gives the small fields');
});

test('a chain with a gap, a wrong offset or damaged bytes is CORRUPTED, never folded', (t) => {
  const base = tableRecord(Uint8Array.of(1), 1);
  const e = (seq: number, offset: number) =>
    decodeChangeEntry(
      openRecord(
        encodeChangeEntry(tableRecord(null, 2), seq, offset, Uint8Array.of(9), NO_WINDOWS),
      ),
    );
  t.is(t.throws(() => foldChain(base, [e(2, 1)]))?.message.includes('seq'), true);
  t.is((t.throws(() => foldChain(base, [e(1, 0)])) as { code?: string }).code, 'CORRUPTED');
  t.is(
    (t.throws(() => foldChain(tableRecord(null, 1), [e(1, 0)])) as { code?: string }).code,
    'CORRUPTED',
  );
  const bad = openRecord(
    encodeChangeEntry(tableRecord(null, 2), 1, 1, Uint8Array.of(9), NO_WINDOWS),
  ).slice(0, 12);
  t.is((t.throws(() => decodeChangeEntry(bad)) as { code?: string }).code, 'CORRUPTED');
});

test('a table write after the first persists a change entry; a base write ends the chain', (t) => {
  const machine = createTableStateMachine({ bytesMax: 1 << 20, changeBytesMin: 1 << 20 });
  const inner = new BatchLogPort();
  const port = new SectionedRecordPort(inner, SMALL);
  const sections = new RecordSections(SMALL);
  let data: Uint8Array | null = null;
  for (let i = 0; i < 5; i++) {
    data = machine.apply(
      data,
      i,
      encodeTableOp({ type: 'set', row: 'r', col: `c${i}`, value: new Uint8Array(100) }),
    ).data;
    persist(sections, port, new Map([['\u0000t', tableRecord(data, i + 1)]]));
  }
  t.is(port.chainLength('\u0000t'), 4, 'one base, then four change entries');
  const last = inner.log[inner.log.length - 1] as Batch;
  t.true(
    last.every((w) => w.value === null || w.value.length < 1000),
    'a change batch is small',
  );
  t.true(
    last.some((w) => w.key === chainKey('\u0000t', 5) && w.value?.length === 0),
    'terminator',
  );
  const loaded = loadOne(port, '\u0000t');
  t.true(loaded !== 'damaged' && loaded !== undefined && same(loaded, tableRecord(data, 5)));
  // A state that does not extend the last one (another model's, a merge) is a new base.
  persist(sections, port, new Map([['\u0000t', tableRecord(Uint8Array.of(1, 2, 3), 6)]]));
  t.is(port.chainLength('\u0000t'), 0);
  t.deepEqual(
    inner
      .engineKeys()
      .filter(isChainKey)
      .map((k) => k.slice(-1)),
    ['1'],
    'only the empty first entry is left',
  );
  const again = loadOne(port, '\u0000t');
  t.true(again !== 'damaged' && again !== undefined && again.chosen === 6);
});

test('a chain whose middle entry is lost loads as damaged (recovered from peers)', (t) => {
  const inner = new BatchLogPort();
  const port = new SectionedRecordPort(inner, SMALL);
  const sections = new RecordSections(SMALL);
  let data = appendBytes(null, Uint8Array.of(1));
  persist(sections, port, new Map([['k', tableRecord(data, 1)]]));
  for (let i = 2; i < 5; i++) {
    data = appendBytes(data, Uint8Array.of(i));
    persist(sections, port, new Map([['k', tableRecord(data, i)]]));
  }
  // Entry 2 replaced by entry 3's bytes: a chain that does not continue.
  const third = inner.log[3]?.find((w) => w.key === chainKey('k', 3))?.value ?? null;
  inner.log.push([{ key: chainKey('k', 2), value: third }]);
  t.is(loadOne(new SectionedRecordPort(inner, SMALL), 'k'), 'damaged');
});

/**
 * The next windows of a record: most steps slide them (a chosen value appended, the oldest
 * dropped past the bound; a request id remembered now and then), some replace them whole (an
 * install, an adoption), some keep them (a promise).
 */
function evolve(
  rec: KeyRecord,
  rng: Prng,
): Pick<KeyRecord, 'recentIds' | 'recentResults' | 'requests'> {
  const roll = rng.next();
  const result = new Uint8Array(Math.floor(rng.next() * 300)).fill(rec.chosen & 0xff);
  const entry = { instance: rec.chosen + 1, origin: 0, seq: rec.chosen + 1, result };
  if (roll < 0.05) return { ...windowOf([entry]), requests: [] };
  if (roll < 0.15) return { ...copyWindow(rec), requests: rec.requests };
  const recent = windowOf([...windowEntries(rec), entry].slice(-RECENT_WINDOW));
  const requests =
    roll < 0.5 ? [...rec.requests, { id: `r${rec.chosen}`, result }].slice(-5) : rec.requests;
  return { ...recent, requests };
}

test('property: a crash keeping any prefix of batches loads the record of that prefix', (t) => {
  let changes = 0;
  let folds = 0;
  let crashes = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rng = new Prng(seed);
    const machine = createTableStateMachine({ bytesMax: 1 << 20, changeBytesMin: 512 });
    const limits = {
      dataBytesMin: 0,
      chainBytesMin: 2048,
      chainBaseMultiple: 1,
      chainEntriesMax: 6,
    };
    const inner = new BatchLogPort();
    let port = new SectionedRecordPort(inner, limits);
    let sections = new RecordSections(limits);
    let rec: KeyRecord = tableRecord(null, 0);
    const history: KeyRecord[] = []; // the record after each batch since the last crash
    let base: KeyRecord | undefined = undefined; // the record durable at the last crash
    for (let step = 0; step < 120; step++) {
      if (rng.next() < 0.08) {
        const keep = Math.floor(rng.next() * (history.length + 1));
        inner.crash(keep);
        crashes += 1;
        changes += sections.counts.changes;
        folds += sections.counts.bases;
        const expected: KeyRecord | undefined = keep === 0 ? base : history[keep - 1];
        port = new SectionedRecordPort(inner, SMALL);
        sections = new RecordSections(limits);
        const loaded = loadOne(port, '\u0000t');
        if (expected === undefined) t.is(loaded, undefined, `seed ${seed} step ${step}`);
        else if (loaded === 'damaged' || loaded === undefined || !same(loaded, expected))
          return t.fail(`seed ${seed} step ${step}: loaded another record than batch ${keep}`);
        base = expected;
        history.length = 0;
        rec = expected ?? tableRecord(null, 0);
        continue;
      }
      const col = `c${Math.floor(rng.next() * 20)}`;
      const op =
        rng.next() < 0.85
          ? encodeTableOp({
              type: 'set',
              row: `r${step % 3}`,
              col,
              value: new Uint8Array(1 + Math.floor(rng.next() * 40)),
            })
          : encodeTableOp({ type: 'delete', row: `r${step % 3}`, col });
      const out = machine.apply(rec.data, rec.version, op);
      rec = { ...tableRecord(out.data, rec.chosen + 1), promised: step, ...evolve(rec, rng) };
      persist(
        sections,
        port,
        new Map([
          ['\u0000t', rec],
          ['plain', tableRecord(Uint8Array.of(step & 0xff), step)],
        ]),
      );
      history.push(rec);
    }
    changes += sections.counts.changes;
    folds += sections.counts.bases;
  }
  // The run must have crashed between change appends and folds, many times.
  t.true(changes > 500 && folds > 100 && crashes > 100, `${changes} ${folds} ${crashes}`);
});

test('scans and scanAll hand out whole records and never a chain entry', async (t) => {
  const inner = new BatchLogPort();
  const port = new SectionedRecordPort(inner, SMALL);
  const sections = new RecordSections(SMALL);
  let data = appendBytes(null, Uint8Array.of(1));
  persist(
    sections,
    port,
    new Map([
      ['\u0000t', tableRecord(data, 1)],
      ['a', tableRecord(Uint8Array.of(5), 1)],
    ]),
  );
  data = appendBytes(data, Uint8Array.of(2));
  persist(
    sections,
    port,
    new Map([
      ['\u0000t', tableRecord(data, 2)],
      ['z', tableRecord(Uint8Array.of(6), 1)],
    ]),
  );
  t.is(port.chainLength('\u0000t'), 1);
  const all: Array<[string, Uint8Array]> = [];
  for await (const e of port.scanAll?.() ?? []) all.push(e);
  t.deepEqual(all.map(([k]) => k).sort(), ['\u0000t', 'a', 'z']);
  const whole = all.find(([k]) => k === '\u0000t')?.[1] as Uint8Array;
  t.deepEqual([...(decodeRecord(openRecord(whole)).data ?? [])], [1, 2]);
  for (const reverse of [false, true]) {
    for (const examineMax of [1, 2, 5]) {
      const keys: string[] = [];
      let range: ScanRange = { gte: '', lt: '\uffff', reverse, examineMax };
      for (let i = 0; i < 10; i++) {
        let page: Array<[string, Uint8Array]> = [];
        let done = false;
        port.scan?.(range, (entries, exhausted) => {
          page = entries;
          done = exhausted;
        });
        keys.push(...page.map(([k]) => k));
        if (done) break;
        const last = (page[page.length - 1] as [string, Uint8Array])[0];
        range = reverse ? { ...range, lt: last } : { ...range, gte: `${last}\u0000` };
      }
      const want = ['\u0000t', 'a', 'z'];
      t.deepEqual(
        keys,
        reverse ? want.reverse() : want,
        `reverse ${reverse} pages of ${examineMax}`,
      );
    }
  }
  t.deepEqual(
    splitAroundChains({ gte: '\u0005x', lt: '\u0005y', reverse: false, examineMax: 1 }),
    [],
  );
});

test('a base after a long chain deletes a bounded number of entries; the rest is never read', (t) => {
  const inner = new BatchLogPort();
  const port = new SectionedRecordPort(inner, SMALL);
  const sections = new RecordSections(SMALL);
  let data = appendBytes(null, Uint8Array.of(1));
  persist(sections, port, new Map([['k', tableRecord(data, 1)]]));
  for (let i = 2; i <= 1500; i++) {
    data = appendBytes(data, Uint8Array.of(i & 0xff));
    persist(sections, port, new Map([['k', tableRecord(data, i)]]));
  }
  t.is(port.chainLength('k'), 1499);
  persist(sections, port, new Map([['k', tableRecord(Uint8Array.of(9), 1501)]]));
  const batch = inner.log[inner.log.length - 1] as Batch;
  t.true(batch.length <= 1100, `a base batch of ${batch.length} writes`);
  t.true(inner.engineKeys().filter(isChainKey).length > 400, 'old entries left behind');
  // A new chain grows over the old entries; every load sees exactly its own.
  data = appendBytes(null, Uint8Array.of(9));
  persist(sections, port, new Map([['k', tableRecord(data, 1502)]]));
  for (let i = 0; i < 3; i++) {
    data = appendBytes(data, Uint8Array.of(i));
    persist(sections, port, new Map([['k', tableRecord(data, 1503 + i)]]));
  }
  const loaded = loadOne(new SectionedRecordPort(inner, SMALL), 'k');
  t.true(loaded !== 'damaged' && loaded !== undefined && same(loaded, tableRecord(data, 1505)));
});

/** A BatchLogPort that counts the engine keys each load asks for. */
class CountingPort extends BatchLogPort {
  asked: string[] = [];

  override load(keys: readonly string[], cb: (values: (Uint8Array | undefined)[]) => void): void {
    this.asked.push(...keys);
    super.load(keys, cb);
  }
}

test('a load reads chain entries only after a base big enough to have a chain', (t) => {
  // Bases under dataBytesMin never have a chain: one engine read per small key (it was two).
  // (A sealed base is its data plus the record's fields: the test's small record is ~60 bytes.)
  const limits: SectionLimits = { ...SECTION_LIMITS, dataBytesMin: 1024 };
  const inner = new CountingPort();
  const port = new SectionedRecordPort(inner, limits);
  const sections = new RecordSections(limits);
  let big = appendBytes(null, new Uint8Array(2000).fill(1));
  persist(
    sections,
    port,
    new Map([
      ['big', tableRecord(big, 1)],
      ['small', tableRecord(Uint8Array.of(5), 1)],
    ]),
  );
  big = appendBytes(big, Uint8Array.of(2, 3));
  persist(sections, port, new Map([['big', tableRecord(big, 2)]]));
  t.true(inner.engineKeys().includes(chainKey('big', 1)), 'the big record has a chain');
  inner.asked = [];
  const small = loadOne(new SectionedRecordPort(inner, limits), 'small');
  t.deepEqual(inner.asked, ['small'], 'a small key costs one read');
  t.deepEqual([...((small !== 'damaged' && small?.data) || [])], [5]);
  inner.asked = [];
  const whole = loadOne(new SectionedRecordPort(inner, limits), 'big');
  t.true(inner.asked.includes(chainKey('big', 1)), 'a big base has its chain read');
  t.true(whole !== 'damaged' && whole !== undefined && same(whole, tableRecord(big, 2)));
});

test('a big base ends a chain this port never saw, so a stale entry is never read', (t) => {
  const limits: SectionLimits = { ...SECTION_LIMITS, dataBytesMin: 1024 };
  const inner = new BatchLogPort();
  // A stale, non-empty entry 1 (a chain whose base is gone) that no load taught the port.
  const stale = encodeChangeEntry(tableRecord(null, 9), 1, 2000, Uint8Array.of(9), NO_WINDOWS);
  inner.log.push([{ key: chainKey('k', 1), value: stale }]);
  const port = new SectionedRecordPort(inner, limits);
  const sections = new RecordSections(limits);
  const data = appendBytes(null, new Uint8Array(2000).fill(4));
  persist(sections, port, new Map([['k', tableRecord(data, 1)]]));
  const loaded = loadOne(new SectionedRecordPort(inner, limits), 'k');
  t.true(loaded !== 'damaged' && loaded !== undefined && same(loaded, tableRecord(data, 1)));
});
