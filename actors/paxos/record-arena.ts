/**
 * A map from key strings to byte strings that V8 sees as a few big ArrayBuffers instead of
 * millions of objects (decision 29): the memory engine's store of settled keys' compact
 * records (volatile-record-port.ts).
 *
 * Why. A `Map<string, string>` entry costs a key string, a value string and the entry
 * (~80–100 bytes of headers and pointers before any content), and every one of them is an
 * object the collector marks at each full collection: at 3 M keys the workers' full
 * collections paused for 165–260 ms and writes fell to half their rate. Here a key and its
 * bytes are one entry appended to a slab (a 1 MiB ArrayBuffer), found through an
 * open-addressing hash index of two typed arrays (hash, location). The collector sees only
 * the slabs and the two arrays, whatever the key count.
 *
 * Entry layout in a slab: a state byte (LIVE or DEAD; 0 after the last entry), the key's length as a varint and its
 * UTF-8 bytes, the value's length as a varint and its bytes. Entries never straddle slabs;
 * one larger than BIG_ENTRY_BYTES lives in its own Uint8Array in `big` (a table of many MiB
 * gains nothing from packing, and would not fit a slab).
 *
 * Deleting marks the entry dead and lowers its slab's live count. A sealed slab (not the one
 * being appended to) whose live bytes fall below half is evacuated at once: its live entries
 * are appended at the head and the slab is freed. So every sealed slab is at least half live,
 * the arena holds at most twice its live bytes plus two slabs, and each byte is copied at most
 * once per byte deleted from its slab (amortised O(1)).
 *
 * Index: linear probing over a power-of-two table, at most 3/4 full, deletion by backward
 * shift (no tombstones). A slot holds the key's 32-bit hash and its location, (slab + 1) <<
 * 20 | offset; 0 marks an empty slot.
 */
import { assert } from '../../runtime/assert';

/** Default slab size: 2^20 bytes (a location's low 20 bits, its 12 high bits slab + 1). */
export const SLAB_SHIFT_DEFAULT = 20;
/** Bounds of the slab size's log2 (tests and the simulator use small slabs). */
export const SLAB_SHIFT_MIN = 8;
export const SLAB_SHIFT_MAX = 24;
/** Entries above slab / BIG_ENTRY_SHARE bytes live in `big`, outside the slabs. */
const BIG_ENTRY_SHARE = 8;
/** An entry's state byte; a 0 there ends the slab's entries (slabs start zeroed). */
const LIVE = 1;
const DEAD = 2;
const INDEX_CAPACITY_MIN = 1024;
/** Longest varint of a length below 2^35. */
const LENGTH_VARINT_MAX = 5;

export interface ArenaStats {
  readonly entries: number;
  /** Bytes of the slabs allocated (live, dead and unused tail). */
  readonly slabBytes: number;
  readonly liveBytes: number;
  readonly indexBytes: number;
  readonly bigBytes: number;
  readonly evacuations: number;
}

/** murmur3's finaliser over FNV-1a of the key's UTF-8 bytes: every bit depends on every byte. */
function hashBytes(b: Uint8Array, from: number, to: number): number {
  let h = 0x2f6a3b1d;
  for (let i = from; i < to; i++) {
    h ^= b[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function varintLength(n: number): number {
  let len = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) len += 1;
  return len;
}

function writeVarint(b: Uint8Array, at: number, n: number): number {
  let p = at;
  let v = n;
  while (v >= 0x80) {
    b[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  b[p++] = v;
  return p;
}

/** The varint at `at` and where it ends. */
/** Where the last readVarint's varint ended (no tuple allocated per read). */
let varintEnd = 0;

/** The varint at `at`; sets `varintEnd`. */
function readVarint(b: Uint8Array, at: number): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < LENGTH_VARINT_MAX; i++) {
    const byte = b[at + i];
    assert(byte !== undefined, () => `arena varint at ${at} runs past its slab`);
    n += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      varintEnd = at + i + 1;
      return n;
    }
    scale *= 0x80;
  }
  assert(false, () => `arena varint at ${at} too long`);
}

/** One parsed entry: where its key and value bytes are, and where it ends. */
interface EntryView {
  keyFrom: number;
  keyTo: number;
  valueFrom: number;
  valueTo: number;
}

const utf8 = new TextEncoder();

/** Parses the entry at `at` into `v`; returns where it ends. */
function parseEntry(slab: Uint8Array, at: number, v: EntryView): number {
  const keyLength = readVarint(slab, at + 1);
  const keyFrom = varintEnd;
  const valueLength = readVarint(slab, keyFrom + keyLength);
  const valueFrom = varintEnd;
  v.keyFrom = keyFrom;
  v.keyTo = keyFrom + keyLength;
  v.valueFrom = valueFrom;
  v.valueTo = valueFrom + valueLength;
  assert(v.valueTo <= slab.length, () => `arena entry at ${at} ends past its slab`);
  assert(v.valueTo > at, () => `arena entry at ${at} is empty`);
  return v.valueTo;
}

/**
 * What a cursor reads, by the arena's slab index: each slab's buffer and the length it had
 * when the snapshot was taken. A buffer listed in `shared` is still the arena's own; the arena
 * replaces it with a copy (`RecordArena.unshare`) before it writes into it or frees it, so the
 * cursor sees the slabs as they were (copy on write).
 */
interface SlabPins {
  readonly slabs: (Uint8Array | undefined)[];
  readonly ends: number[];
  readonly shared: Set<number>;
}

/**
 * The live entries of a snapshot, one at a time, with no object per entry: after `next()`
 * returns true, the entry's key bytes are `bytes[keyFrom, keyTo)` and its value bytes
 * `bytes[valueFrom, valueTo)`, valid until the next call (the digest scan, replica-digest.ts,
 * hashes them in place). The arena copies a slab for the cursor only before it writes into it
 * (`SlabPins`), so taking a snapshot copies nothing, and a scan costs memory only for the
 * slabs that change while it runs.
 */
export class ArenaCursor {
  bytes: Uint8Array = new Uint8Array(0);
  keyFrom = 0;
  keyTo = 0;
  valueFrom = 0;
  valueTo = 0;
  private slab = -1;
  private at = 0;
  private bigAt = 0;
  private readonly view: EntryView = { keyFrom: 0, keyTo: 0, valueFrom: 0, valueTo: 0 };

  /** `pins`: the slabs as the snapshot saw them; `big`: each big entry as one key+value slab. */
  constructor(
    private readonly pins: SlabPins,
    private readonly big: readonly { bytes: Uint8Array; keyTo: number }[],
  ) {}

  /** Steps to the next live entry; false at the end. */
  next(): boolean {
    if (this.bigAt < this.big.length) {
      const b = this.big[this.bigAt++];
      assert(b !== undefined, 'arena cursor big entry');
      this.setEntry(b.bytes, 0, b.keyTo, b.keyTo, b.bytes.length);
      return true;
    }
    // Each step either returns an entry or moves past one (or past a slab): bounded by them.
    const pins = this.pins;
    for (;;) {
      // Read again at every step: the arena may have swapped this slab for a copy meanwhile.
      const slab = pins.slabs[this.slab];
      const end = pins.ends[this.slab] ?? 0;
      if (slab === undefined || this.at >= end || !isEntry(slab[this.at])) {
        if (this.slab + 1 >= pins.slabs.length) {
          pins.shared.clear(); // at the end: the arena need copy nothing more for this cursor
          return false;
        }
        this.slab += 1;
        this.at = 0;
        continue;
      }
      const at = this.at;
      this.at = parseEntry(slab, at, this.view);
      if (slab[at] !== LIVE) continue;
      const v = this.view;
      this.setEntry(slab, v.keyFrom, v.keyTo, v.valueFrom, v.valueTo);
      return true;
    }
  }

  private setEntry(b: Uint8Array, kf: number, kt: number, vf: number, vt: number): void {
    this.bytes = b;
    this.keyFrom = kf;
    this.keyTo = kt;
    this.valueFrom = vf;
    this.valueTo = vt;
  }
}

function isEntry(state: number | undefined): boolean {
  return state === LIVE || state === DEAD;
}

export class RecordArena {
  private readonly slabShift: number;
  private readonly slabBytes: number;
  private readonly offsetMask: number;
  private readonly slabsMax: number;
  private readonly bigEntryBytes: number;
  private slabs: (Uint8Array | undefined)[] = [];
  private readonly slabLive: number[] = [];
  private readonly freeSlabs: number[] = [];
  /** One freed slab kept for the next head: no allocation churn as slabs come and go. */
  private spare: Uint8Array | undefined;
  private head = -1;
  private headUsed: number;
  private slotHash = new Uint32Array(INDEX_CAPACITY_MIN);
  private slotLoc = new Uint32Array(INDEX_CAPACITY_MIN);
  private indexed = 0;
  private liveBytes = 0;
  private evacuations = 0;
  private readonly big = new Map<string, Uint8Array>();
  /** The cursors' pins on slabs (copy on write); weak: an abandoned cursor pins nothing. */
  private readonly pinned = new Set<WeakRef<SlabPins>>();
  /** Sealed slabs found less than half live, to evacuate once the current call is done. */
  private readonly pending: number[] = [];
  /** The probe key's UTF-8 bytes (one thread, no re-entrance). */
  private keyScratch = new Uint8Array(256);
  private keyLength = 0;
  private readonly view: EntryView = { keyFrom: 0, keyTo: 0, valueFrom: 0, valueTo: 0 };

  /** `slabShift`: log2 of the slab size (SLAB_SHIFT_DEFAULT: 1 MiB). */
  constructor(slabShift = SLAB_SHIFT_DEFAULT) {
    assert(
      Number.isInteger(slabShift) && slabShift >= SLAB_SHIFT_MIN && slabShift <= SLAB_SHIFT_MAX,
      () => `slab shift ${slabShift}`,
    );
    this.slabShift = slabShift;
    this.slabBytes = 2 ** slabShift;
    this.offsetMask = this.slabBytes - 1;
    this.slabsMax = 2 ** (32 - slabShift) - 1;
    this.bigEntryBytes = this.slabBytes / BIG_ENTRY_SHARE;
    this.headUsed = this.slabBytes;
  }

  get size(): number {
    return this.indexed + this.big.size;
  }

  /** Stores a copy of `value` under `key`, replacing what the key held. */
  set(key: string, value: Uint8Array): void {
    this.delete(key);
    this.encodeKey(key);
    const entryBytes =
      1 + varintLength(this.keyLength) + this.keyLength + varintLength(value.length) + value.length;
    if (entryBytes > this.bigEntryBytes) {
      this.big.set(key, new Uint8Array(value)); // a copy, whatever `value` is (a Buffer's slice is a view)
      return;
    }
    const loc = this.append(this.keyScratch, 0, this.keyLength, value, entryBytes);
    this.insertSlot(hashBytes(this.keyScratch, 0, this.keyLength), loc);
    this.drainEvacuations();
    assert(this.get(key)?.length === value.length, () => `arena set of ${key} not found back`);
  }

  /**
   * The bytes held for `key`: a view into a slab, valid only until the next `set` or
   * `delete` (either may move entries). Copy or decode it before then.
   */
  get(key: string): Uint8Array | undefined {
    if (this.big.size > 0) {
      const b = this.big.get(key);
      if (b !== undefined) return b;
    }
    const slot = this.findSlot(key);
    if (slot < 0) return undefined;
    const loc = this.slotLoc[slot] as number;
    const slab = this.slabOf(loc);
    this.parse(slab, loc & this.offsetMask);
    return slab.subarray(this.view.valueFrom, this.view.valueTo);
  }

  /** Forgets `key`; true if it was held. */
  delete(key: string): boolean {
    if (this.big.size > 0 && this.big.delete(key)) return true;
    const slot = this.findSlot(key);
    if (slot < 0) return false;
    const loc = this.slotLoc[slot] as number;
    this.removeSlot(slot);
    const s = (loc >>> this.slabShift) - 1;
    const slab = this.slabOf(loc);
    const at = loc & this.offsetMask;
    const end = this.parse(slab, at);
    assert(slab[at] === LIVE, () => `arena entry of ${key} at ${loc} already dead`);
    this.unshare(s);
    slab[at] = DEAD;
    this.slabLive[s] = (this.slabLive[s] as number) - (end - at);
    this.liveBytes -= end - at;
    assert((this.slabLive[s] as number) >= 0, () => `slab ${s} live ${this.slabLive[s]}`);
    this.maybeEvacuate(s);
    this.drainEvacuations();
    return true;
  }

  clear(): void {
    // Cursors keep the old slabs, which nothing writes into any more.
    this.pinned.clear();
    this.slabs = [];
    this.slabLive.length = 0;
    this.freeSlabs.length = 0;
    this.spare = undefined;
    this.head = -1;
    this.headUsed = this.slabBytes;
    this.slotHash = new Uint32Array(INDEX_CAPACITY_MIN);
    this.slotLoc = new Uint32Array(INDEX_CAPACITY_MIN);
    this.indexed = 0;
    this.liveBytes = 0;
    this.pending.length = 0;
    this.big.clear();
  }

  stats(): ArenaStats {
    let slabBytes = 0;
    for (const slab of this.slabs) if (slab !== undefined) slabBytes += slab.length;
    let bigBytes = 0;
    for (const b of this.big.values()) bigBytes += b.length;
    return {
      entries: this.size,
      slabBytes,
      liveBytes: this.liveBytes,
      indexBytes: this.slotHash.byteLength + this.slotLoc.byteLength,
      bigBytes,
      evacuations: this.evacuations,
    };
  }

  /**
   * Every entry held now, as copies: the slabs are copied when the call is made (one copy of
   * each, no object per entry), so entries deleted or moved later still come out, and keys set
   * later do not. The pairs are built lazily while iterating.
   */
  snapshot(): Iterable<[string, Uint8Array]> {
    const slabs = this.slabs.map((slab, s) =>
      slab === undefined
        ? undefined
        : slab.slice(0, s === this.head ? this.headUsed : this.slabBytes),
    );
    const big = [...this.big].map(([k, v]): [string, Uint8Array] => [k, new Uint8Array(v)]);
    const self = this;
    return {
      *[Symbol.iterator](): Generator<[string, Uint8Array]> {
        yield* big;
        for (const slab of slabs) if (slab !== undefined) yield* self.slabEntries(slab);
      },
    };
  }

  /**
   * Every entry held now, through a cursor that builds no object per entry (the digest scan).
   * Later sets and deletes do not show: the cursor reads the slabs in place, and the arena
   * copies a slab for it only before writing into it or freeing it (`unshare`). Appends past a
   * slab's length at the snapshot (the head's) are beyond what the cursor reads.
   */
  snapshotCursor(): ArenaCursor {
    const pins: SlabPins = { slabs: [], ends: [], shared: new Set() };
    this.slabs.forEach((slab, s) => {
      if (slab === undefined) return;
      pins.slabs[s] = slab;
      pins.ends[s] = s === this.head ? this.headUsed : this.slabBytes;
      pins.shared.add(s);
    });
    pins.slabs.length = this.slabs.length;
    if (pins.shared.size > 0) this.pinned.add(new WeakRef(pins));
    const big = [...this.big].map(([k, v]) => {
      const key = utf8.encode(k);
      const bytes = new Uint8Array(key.length + v.length);
      bytes.set(key);
      bytes.set(v, key.length);
      return { bytes, keyTo: key.length };
    });
    return new ArenaCursor(pins, big);
  }

  /** Before slab `s` is written into or freed: every cursor still reading it gets a copy. */
  private unshare(s: number): void {
    if (this.pinned.size === 0) return;
    for (const ref of this.pinned) {
      const pins = ref.deref();
      if (pins === undefined) {
        this.pinned.delete(ref);
        continue;
      }
      if (!pins.shared.delete(s)) {
        if (pins.shared.size === 0) this.pinned.delete(ref); // a cursor at its end
        continue;
      }
      const slab = pins.slabs[s];
      assert(slab !== undefined, () => `pinned slab ${s} missing`);
      pins.slabs[s] = slab.slice(0, pins.ends[s]);
      // Every slab copied or freed: this cursor no longer reads the arena.
      if (pins.shared.size === 0) this.pinned.delete(ref);
    }
  }

  /** Checks the index against the slabs (O(n): tests and the simulator). */
  checkIntegrity(): void {
    let counted = 0;
    let live = 0;
    for (let slot = 0; slot < this.slotLoc.length; slot++) {
      const loc = this.slotLoc[slot] as number;
      if (loc === 0) continue;
      counted += 1;
      const slab = this.slabOf(loc);
      const at = loc & this.offsetMask;
      assert(slab[at] === LIVE, () => `slot ${slot} points at a dead entry`);
      const end = this.parse(slab, at);
      live += end - at;
      const h = hashBytes(slab, this.view.keyFrom, this.view.keyTo);
      assert(h === this.slotHash[slot], () => `slot ${slot} hash differs from its key's`);
    }
    assert(counted === this.indexed, () => `index holds ${counted}, counted ${this.indexed}`);
    assert(live === this.liveBytes, () => `live bytes ${live}, counted ${this.liveBytes}`);
  }

  private *slabEntries(slab: Uint8Array): Generator<[string, Uint8Array]> {
    const decoder = new TextDecoder();
    let at = 0;
    while (at < slab.length && (slab[at] === LIVE || slab[at] === DEAD)) {
      const end = this.parse(slab, at);
      if (slab[at] === LIVE) {
        const { keyFrom, keyTo, valueFrom, valueTo } = this.view;
        yield [decoder.decode(slab.subarray(keyFrom, keyTo)), slab.slice(valueFrom, valueTo)];
      }
      at = end;
    }
  }

  /** Parses the entry at `at` into `this.view`; returns where it ends. */
  private parse(slab: Uint8Array, at: number): number {
    return parseEntry(slab, at, this.view);
  }

  private slabOf(loc: number): Uint8Array {
    const slab = this.slabs[(loc >>> this.slabShift) - 1];
    assert(slab !== undefined, () => `arena location ${loc} in a freed slab`);
    return slab;
  }

  private encodeKey(key: string): void {
    if (key.length * 3 > this.keyScratch.length)
      this.keyScratch = new Uint8Array(Math.max(key.length * 3, this.keyScratch.length * 2));
    const { read, written } = utf8.encodeInto(key, this.keyScratch);
    assert(read === key.length, () => `key of ${key.length} chars encoded ${read}`);
    this.keyLength = written;
  }

  /** The slot of `key`, or -1. */
  private findSlot(key: string): number {
    this.encodeKey(key);
    const h = hashBytes(this.keyScratch, 0, this.keyLength);
    const mask = this.slotLoc.length - 1;
    for (let i = h & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
      const loc = this.slotLoc[i] as number;
      if (loc === 0) return -1;
      if (this.slotHash[i] === h && this.keyAt(loc)) return i;
    }
    assert(false, 'arena index full');
  }

  /** Whether the entry at `loc` has the probe key (this.keyScratch). */
  private keyAt(loc: number): boolean {
    const slab = this.slabOf(loc);
    const keyLength = readVarint(slab, (loc & this.offsetMask) + 1);
    const keyFrom = varintEnd;
    if (keyLength !== this.keyLength) return false;
    for (let i = 0; i < keyLength; i++) if (slab[keyFrom + i] !== this.keyScratch[i]) return false;
    return true;
  }

  /** Appends one entry at the head (a new head if it does not fit); returns its location. */
  private append(
    key: Uint8Array,
    keyFrom: number,
    keyTo: number,
    value: Uint8Array,
    entryBytes: number,
  ): number {
    assert(entryBytes <= this.bigEntryBytes, () => `arena entry of ${entryBytes} bytes`);
    if (this.headUsed + entryBytes > this.slabBytes) this.newHead();
    const slab = this.slabs[this.head];
    assert(slab !== undefined, 'arena head slab missing');
    const at = this.headUsed;
    slab[at] = LIVE;
    let p = writeVarint(slab, at + 1, keyTo - keyFrom);
    slab.set(key.subarray(keyFrom, keyTo), p);
    p = writeVarint(slab, p + keyTo - keyFrom, value.length);
    slab.set(value, p);
    p += value.length;
    assert(p - at === entryBytes, () => `arena entry of ${p - at} bytes, ${entryBytes} expected`);
    this.headUsed = p;
    this.slabLive[this.head] = (this.slabLive[this.head] as number) + entryBytes;
    this.liveBytes += entryBytes;
    return (this.head + 1) * this.slabBytes + at;
  }

  /** Seals the head (queued for evacuation if it is already half dead) and starts a new one. */
  private newHead(): void {
    const sealed = this.head;
    const s = this.freeSlabs.pop() ?? this.slabs.length;
    assert(s < this.slabsMax, () => `arena of ${s} slabs`);
    const slab = this.spare ?? new Uint8Array(this.slabBytes);
    this.spare = undefined;
    slab.fill(0);
    this.slabs[s] = slab;
    this.slabLive[s] = 0;
    this.head = s;
    this.headUsed = 0;
    if (sealed >= 0) this.maybeEvacuate(sealed);
  }

  private maybeEvacuate(s: number): void {
    const live = this.slabLive[s] as number;
    if (s !== this.head && this.slabs[s] !== undefined && live < this.slabBytes / 2)
      if (!this.pending.includes(s)) this.pending.push(s);
  }

  /**
   * Evacuates the queued slabs. An evacuation appends, which may seal a head that is itself
   * half dead and queue it: the loop is bounded by twice the slabs there are.
   */
  private drainEvacuations(): void {
    for (let n = 0; this.pending.length > 0; n++) {
      assert(n <= 2 * this.slabs.length + 2, () => `${n} evacuations in one call`);
      const s = this.pending.shift() as number;
      const live = this.slabLive[s] as number;
      if (s !== this.head && this.slabs[s] !== undefined && live < this.slabBytes / 2)
        this.evacuate(s);
    }
  }

  /** Moves the live entries of sealed slab `s` to the head and frees `s`. */
  private evacuate(s: number): void {
    const slab = this.slabs[s];
    assert(slab !== undefined && s !== this.head, () => `evacuation of slab ${s}`);
    const moved = this.slabLive[s] as number;
    let at = 0;
    while (at < this.slabBytes && slab[at] !== 0) {
      const end = this.parse(slab, at);
      if (slab[at] === LIVE) {
        const { keyFrom, keyTo, valueFrom, valueTo } = this.view;
        const slot = this.slotOfLocation(
          hashBytes(slab, keyFrom, keyTo),
          (s + 1) * this.slabBytes + at,
        );
        const loc = this.append(slab, keyFrom, keyTo, slab.subarray(valueFrom, valueTo), end - at);
        this.slotLoc[slot] = loc;
        this.slabLive[s] = (this.slabLive[s] as number) - (end - at);
        this.liveBytes -= end - at;
      }
      at = end;
    }
    assert(this.slabLive[s] === 0, () => `slab ${s} keeps ${this.slabLive[s]} live bytes`);
    // The buffer may become the next head (`spare`), which is zeroed and written. A delete into
    // it has copied it for the cursors already; a free does not depend on that.
    this.unshare(s);
    this.slabs[s] = undefined;
    this.freeSlabs.push(s);
    this.spare ??= slab;
    this.evacuations += 1;
    assert(moved < this.slabBytes / 2, () => `evacuated ${moved} live bytes`);
  }

  /** The slot holding location `loc` (which is indexed, under hash `h`). */
  private slotOfLocation(h: number, loc: number): number {
    const mask = this.slotLoc.length - 1;
    for (let i = h & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
      if (this.slotLoc[i] === loc) return i;
      assert(this.slotLoc[i] !== 0, () => `arena location ${loc} not indexed`);
    }
    assert(false, () => `arena location ${loc} not indexed`);
  }

  private insertSlot(h: number, loc: number): void {
    assert(loc !== 0, 'arena location 0');
    if ((this.indexed + 1) * 4 > this.slotLoc.length * 3) this.growIndex();
    const mask = this.slotLoc.length - 1;
    let i = h & mask;
    for (let n = 0; this.slotLoc[i] !== 0; n++) {
      assert(n <= mask, 'arena index full');
      i = (i + 1) & mask;
    }
    this.slotHash[i] = h;
    this.slotLoc[i] = loc;
    this.indexed += 1;
  }

  /** Empties slot `i`, shifting back the entries after it that probed past it (no tombstones). */
  private removeSlot(i: number): void {
    const mask = this.slotLoc.length - 1;
    let hole = i;
    for (let j = (i + 1) & mask, n = 0; this.slotLoc[j] !== 0; j = (j + 1) & mask, n++) {
      assert(n <= mask, 'arena index without an empty slot');
      const home = (this.slotHash[j] as number) & mask;
      // The entry at j may fill the hole if the hole lies on its probe path (home .. j).
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        this.slotHash[hole] = this.slotHash[j] as number;
        this.slotLoc[hole] = this.slotLoc[j] as number;
        hole = j;
      }
    }
    this.slotHash[hole] = 0;
    this.slotLoc[hole] = 0;
    this.indexed -= 1;
    assert(this.indexed >= 0, () => `arena index count ${this.indexed}`);
  }

  private growIndex(): void {
    const oldHash = this.slotHash;
    const oldLoc = this.slotLoc;
    this.slotHash = new Uint32Array(oldLoc.length * 2);
    this.slotLoc = new Uint32Array(oldLoc.length * 2);
    const count = this.indexed;
    this.indexed = 0;
    for (let i = 0; i < oldLoc.length; i++)
      if (oldLoc[i] !== 0) this.insertSlot(oldHash[i] as number, oldLoc[i] as number);
    assert(this.indexed === count, () => `index regrown with ${this.indexed} of ${count}`);
  }
}
