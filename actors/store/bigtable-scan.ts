/**
 * Client side of big-table scans and index lookups (decision 13): page sources over one group
 * actor's local keys (engine-scan.ts) and a k-way merge of them in key order, dropping
 * duplicates (the same key listed by several replicas). Memory is bounded by the sources
 * times the page size, whatever the range holds.
 */
import { assert } from '../../runtime/assert';
import { compareKeys } from '../../engines/key-order';
import type { ScanEntry, ScanMode } from '../paxos/engine-scan';
import { SCAN_EXAMINE_MAX, decodeScanPage, encodeScanQuery } from '../paxos/engine-scan';
import type { ClientResult } from '../paxos/core/types';
import { ErrorCodes, PaxosStoreError } from './errors';
import { failure, internal } from './model-client';
import type { ScanBody } from './request-pipeline';

/** Pages one source may fetch in one scan; far above any real range (2^32 × a page). */
const PAGES_MAX = 2 ** 32;

export interface SourceSpec {
  readonly replica: number;
  readonly group: number;
  readonly mode: ScanMode;
  readonly withData: boolean;
  readonly reverse: boolean;
  readonly gte: string;
  readonly lt: string;
  readonly pageSize: number;
}

export type Call = (replica: number, body: ScanBody) => Promise<ClientResult>;

/** One group actor's keys in a range, fetched a page at a time. */
export class PageSource {
  private buffer: ScanEntry[] = [];
  private at = 0;
  private more = true;
  private cursor: string | undefined;
  private pages = 0;
  /** The replica answered that it restarted without its state: its listing does not count. */
  amnesic = false;

  constructor(
    private readonly spec: SourceSpec,
    private readonly call: Call,
  ) {
    assert(spec.pageSize >= 1 && spec.pageSize <= 4096, () => `page size ${spec.pageSize}`);
  }

  /** The next entry without taking it; undefined when the source is exhausted. */
  async peek(): Promise<ScanEntry | undefined> {
    while (this.at >= this.buffer.length && this.more) await this.fetch();
    return this.buffer[this.at];
  }

  get group(): number {
    return this.spec.group;
  }

  /** The head when it is already buffered (or the source is known exhausted). */
  headIfReady(): ScanEntry | undefined | 'fetch' {
    if (this.at < this.buffer.length) return this.buffer[this.at];
    return this.more ? 'fetch' : undefined;
  }

  take(): void {
    assert(this.at < this.buffer.length, 'take from an empty page source');
    this.at += 1;
  }

  private async fetch(): Promise<void> {
    const s = this.spec;
    assert(this.pages < PAGES_MAX, () => `scan source fetched ${this.pages} pages`);
    this.pages += 1;
    // Forward pages continue just after the last examined key; reverse pages just below it.
    const gte = !s.reverse && this.cursor !== undefined ? this.cursor + '\u0000' : s.gte;
    const lt = s.reverse && this.cursor !== undefined ? this.cursor : s.lt;
    if (compareKeys(gte, lt) >= 0) {
      this.more = false;
      this.buffer = [];
      this.at = 0;
      return;
    }
    const query = encodeScanQuery({
      mode: s.mode,
      withData: s.withData,
      reverse: s.reverse,
      limit: s.pageSize,
      examineMax: Math.min(SCAN_EXAMINE_MAX, s.pageSize * 4),
      gte,
      lt,
    });
    let res: ClientResult;
    try {
      res = await this.call(s.replica, { kind: 'scan', key: '', query, group: s.group });
    } catch (error) {
      // A read: nothing was changed, whatever failed inside the store.
      throw internal(
        error,
        ErrorCodes.UNAVAILABLE,
        `scan of replica ${s.replica} group ${s.group}`,
      );
    }
    if (!res.ok) throw failure(res);
    const page = decodeScanPage(res.result);
    if (page.amnesic) this.amnesic = true;
    if (page.resume !== '') this.cursor = page.resume;
    assert(
      page.entries.length === 0 || page.resume !== '',
      'a scan page with entries but no resume key',
    );
    this.buffer = page.entries;
    this.at = 0;
    this.more = page.more;
  }
}

/**
 * Entries of all sources merged in key order (reverse order when `reverse`), each key once.
 * Sources that need a page fetch in parallel.
 */
export async function* mergeSources(
  sources: PageSource[],
  reverse: boolean,
): AsyncGenerator<ScanEntry> {
  let last: string | undefined;
  const order = (a: string, b: string): number => (reverse ? compareKeys(b, a) : compareKeys(a, b));
  for (let steps = 0; steps < Number.MAX_SAFE_INTEGER; steps++) {
    // Allocates only when a page is due: this runs once per row.
    let waiting: PageSource[] | undefined;
    for (const s of sources) if (s.headIfReady() === 'fetch') (waiting ??= []).push(s);
    if (waiting !== undefined) await Promise.all(waiting.map((s) => s.peek()));
    let best: PageSource | undefined;
    let bestEntry: ScanEntry | undefined;
    for (const s of sources) {
      const head = s.headIfReady();
      assert(head !== 'fetch', 'a page source still needs a fetch after peek');
      if (head !== undefined && (bestEntry === undefined || order(head.key, bestEntry.key) < 0)) {
        best = s;
        bestEntry = head;
      }
    }
    if (best === undefined || bestEntry === undefined) return;
    best.take();
    if (last !== undefined && bestEntry.key === last) continue;
    assert(
      last === undefined || order(last, bestEntry.key) < 0,
      () => `merge out of order at ${JSON.stringify(bestEntry?.key)}`,
    );
    last = bestEntry.key;
    yield bestEntry;
  }
}

/**
 * The merge of sources listing every group from several replicas, once each group's first
 * pages show that at least `quorum` of its replicas can be trusted (not amnesic): only then does
 * the union contain every key with an acknowledged write (decision 13). UNAVAILABLE otherwise.
 */
export async function* mergeQuorum(
  sources: PageSource[],
  reverse: boolean,
  quorum: number,
): AsyncGenerator<ScanEntry> {
  await Promise.all(sources.map((s) => s.peek()));
  const trusted = new Map<number, number>();
  for (const s of sources) if (!s.amnesic) trusted.set(s.group, (trusted.get(s.group) ?? 0) + 1);
  for (const s of sources) {
    const n = trusted.get(s.group) ?? 0;
    if (n < quorum) {
      throw new PaxosStoreError(
        ErrorCodes.UNAVAILABLE,
        `group ${s.group}: ${n} replicas can list their keys (restarted replicas recover keys on access); ${quorum} are needed`,
      );
    }
  }
  yield* mergeSources(sources, reverse);
}
