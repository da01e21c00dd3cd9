/**
 * The "install state" op (docs/decisions.md 17): replaces a key's data, version and recent
 * window wholesale. It is not a data model; it is how `store.verify({ repair: true })` brings
 * replicas that hold *different* states at the same chosen instance (possible only after
 * `acceptDataLoss: true`, when every replica forgot at once) back to one state. Ordinary ops
 * are applied to each replica's own state, so diverged replicas stay diverged however many
 * values are chosen after the split; an op whose result does not depend on the state it is
 * applied to converges them, and going through Paxos (it is chosen at the next instance like
 * any write) keeps the repair linearizable beside live traffic.
 *
 * The op is conditional on the instance it was read at: it installs only if the key's last
 * chosen instance, when the op is applied, is still `expectChosen`. Instance numbers are the one
 * thing every replica agrees on even when their states differ (the value chosen at instance i is
 * applied on top of instance i - 1 everywhere), so every replica takes the same branch, and a
 * write chosen between the repair's read and its install is never overwritten: the install
 * answers "stale" and changes nothing.
 *
 * Layout: [INSTALL_OP_TAG u8][layout u8 = 1][expectChosen f64][version f64][hasData u8]
 * ([length u32][data])? [recent count u8] then per entry [instance f64][origin u8][seq f64]
 * [length u32][result]. Numbers are big-endian. The tag is outside the model tags (model-tags.ts),
 * so no model op can be taken for it; the registry refuses a model registered under it.
 *
 * Pure and deterministic: it runs inside the Paxos core (actors/paxos/core/key-record.ts).
 * Its bytes arrive through the network and the disk, so decoding validates and never throws.
 */
import { assert } from '../runtime/assert';

/** First byte of an install op. Model tags are 1..7 (model-tags.ts); 0xF0 is reserved. */
export const INSTALL_OP_TAG = 0xf0;
const LAYOUT = 1;
/** Entries of the recent window an install carries at most (the core's RECENT_WINDOW). */
export const INSTALL_RECENT_MAX = 16;

/** The install op's result: one status byte. */
export const InstallStatus = {
  /** The state was installed. */
  installed: 0,
  /** The key's chosen instance was not the one the state was read at: nothing changed. */
  stale: 1,
  /** The op's bytes do not decode: nothing changed (a bug or damage, never expected). */
  malformed: 2,
} as const;
export type InstallStatus = (typeof InstallStatus)[keyof typeof InstallStatus];

/** One entry of the recent (at-most-once) window, as the Paxos core keeps it. */
export interface InstalledEntry {
  readonly instance: number;
  readonly origin: number;
  readonly seq: number;
  readonly result: Uint8Array;
}

export interface InstallState {
  /** Installs only on top of this chosen instance (the one the state was read at). */
  readonly expectChosen: number;
  /** The data state to install (tagged, model-tags.ts), or null: the key becomes absent. */
  readonly data: Uint8Array | null;
  readonly version: number;
  /** The recent window to install (newest last), so at-most-once holds alike on every replica. */
  readonly recent: readonly InstalledEntry[];
}

export function isInstallOp(op: Uint8Array): boolean {
  return op.length >= 1 && op[0] === INSTALL_OP_TAG;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

export function encodeInstallOp(s: InstallState): Uint8Array {
  // Instance 0 (nothing chosen yet) is how a restore installs a key into a new store.
  assert(isCount(s.expectChosen), () => `install on instance ${s.expectChosen}`);
  assert(isCount(s.version), () => `install of version ${s.version}`);
  assert(
    s.recent.length <= INSTALL_RECENT_MAX,
    () => `install of ${s.recent.length} recent entries`,
  );
  assert(
    s.recent.every((e) => e.instance <= s.expectChosen),
    'install of a recent entry past its instance',
  );
  let size = 2 + 8 + 8 + 1 + (s.data === null ? 0 : 4 + s.data.length) + 1;
  for (const e of s.recent) size += 8 + 1 + 8 + 4 + e.result.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  out[at++] = INSTALL_OP_TAG;
  out[at++] = LAYOUT;
  view.setFloat64(at, s.expectChosen);
  view.setFloat64(at + 8, s.version);
  at += 16;
  out[at++] = s.data === null ? 0 : 1;
  if (s.data !== null) {
    view.setUint32(at, s.data.length);
    out.set(s.data, at + 4);
    at += 4 + s.data.length;
  }
  out[at++] = s.recent.length;
  for (const e of s.recent) {
    assert(
      Number.isInteger(e.origin) && e.origin >= 0 && e.origin <= 255,
      () => `recent origin ${e.origin}`,
    );
    view.setFloat64(at, e.instance);
    out[at + 8] = e.origin;
    view.setFloat64(at + 9, e.seq);
    view.setUint32(at + 17, e.result.length);
    out.set(e.result, at + 21);
    at += 21 + e.result.length;
  }
  assert(at === size, () => `install op wrote ${at} of ${size} bytes`);
  return out;
}

/** Bounds-checked reads over the op; any overrun makes the whole op malformed. */
class Reader {
  at = 0;
  ok = true;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private has(n: number): boolean {
    if (this.at + n > this.bytes.length) this.ok = false;
    return this.ok;
  }
  u8(): number {
    if (!this.has(1)) return 0;
    return this.bytes[this.at++] as number;
  }
  f64(): number {
    if (!this.has(8)) return 0;
    const v = this.view.getFloat64(this.at);
    this.at += 8;
    return v;
  }
  bytesOf(): Uint8Array {
    if (!this.has(4)) return new Uint8Array(0);
    const n = this.view.getUint32(this.at);
    this.at += 4;
    if (!this.has(n)) return new Uint8Array(0);
    const out = this.bytes.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

/** The op's state, or undefined when its bytes are not a well-formed install op. */
export function decodeInstallOp(op: Uint8Array): InstallState | undefined {
  if (!isInstallOp(op)) return undefined;
  const r = new Reader(op);
  r.u8(); // the tag
  if (r.u8() !== LAYOUT) return undefined;
  const expectChosen = r.f64();
  const version = r.f64();
  const hasData = r.u8();
  const data = hasData === 1 ? r.bytesOf() : null;
  const count = r.u8();
  const recent: InstalledEntry[] = [];
  for (let i = 0; i < count && i < INSTALL_RECENT_MAX && r.ok; i++) {
    recent.push({ instance: r.f64(), origin: r.u8(), seq: r.f64(), result: r.bytesOf() });
  }
  const wellFormed =
    r.ok &&
    r.at === op.length &&
    (hasData === 0 || hasData === 1) &&
    count <= INSTALL_RECENT_MAX &&
    isCount(expectChosen) &&
    isCount(version) &&
    recent.every((e) => isCount(e.instance) && e.instance <= expectChosen && isCount(e.seq));
  return wellFormed ? { expectChosen, data, version, recent } : undefined;
}
