/**
 * Pure helpers over one key's record: the empty record, applying a chosen value (with
 * at-most-once de-duplication through the recent window), and adopting a newer record.
 */
import { assert, VERIFY } from '../../../runtime/assert';
import {
  INSTALL_RECENT_MAX,
  InstallStatus,
  decodeInstallOp,
  isInstallOp,
} from '../../../models/install-op';
import {
  REQUESTS_REMEMBERED_BYTES_MAX,
  REQUESTS_REMEMBERED_MAX,
  REQUEST_ID_TAG,
  splitRequestId,
} from '../../../models/request-id';
import {
  copyWindow,
  indexOfApplied,
  instanceAt,
  pushApplied,
  resultAt,
  windowLength,
  windowOf,
  windowShapeProblem,
} from './recent-window';
import type { KeyRecord, Proposal, RequestEntry, StateMachine } from './types';

/** How many chosen values a record remembers for de-duplication. */
export const RECENT_WINDOW = 16;
// An install op carries a whole recent window (applyInstall): the two bounds are one number.
assert(INSTALL_RECENT_MAX === RECENT_WINDOW, 'install ops carry exactly one recent window');

export function emptyRecord(): KeyRecord {
  return {
    chosen: 0,
    chosenOrigin: -1,
    chosenSeq: 0,
    data: null,
    version: 0,
    promised: 0,
    acceptedBallot: 0,
    accepted: null,
    recentIds: [],
    recentResults: [],
    requests: [],
  };
}

/** The result of a value not applied (a no-op, or chosen again): empty, never written to. */
const NO_RESULT = new Uint8Array(0);

export function isNoop(p: Proposal): boolean {
  return p.op.length === 0;
}

export function sameValue(a: Proposal | null, origin: number, seq: number): boolean {
  return a !== null && a.origin === origin && a.seq === seq;
}

/** The result of the value (origin, seq) if it is in the recent window (chosen here). */
export function findAppliedResult(
  rec: KeyRecord,
  origin: number,
  seq: number,
): Uint8Array | undefined {
  const i = indexOfApplied(rec, origin, seq);
  return i < 0 ? undefined : resultAt(rec, i);
}

/**
 * Who may write into a record's data in place (decision "A key's data written in place"): the
 * data array the key holds alone, or null. Set only from a model's `owned` answer; whoever lends
 * the data out (a snapshot, a scan, a fetch reply) sets it to null first.
 */
export interface DataOwner {
  ownedData: Uint8Array | null;
}

/**
 * Applies the value chosen at instance rec.chosen + 1 and resets the acceptor state for the
 * next instance. A value already in the recent window (the same request chosen twice) is not
 * applied again; its first result is kept. Returns the result remembered for the value.
 * `owner`: given when the record's data may be written in place (DataOwner).
 */
export function applyChosen(
  rec: KeyRecord,
  value: Proposal,
  model: StateMachine,
  owner?: DataOwner,
): Uint8Array {
  const instance = rec.chosen + 1;
  const before = findAppliedResult(rec, value.origin, value.seq);
  let result: Uint8Array = before ?? NO_RESULT;
  if (before === undefined && isInstallOp(value.op)) {
    // Not a model op: verify's repair replacing the state wholesale (decisions.md 17).
    if (owner !== undefined) owner.ownedData = null;
    result = applyInstall(rec, value.op);
  } else if (before === undefined && !isNoop(value)) {
    result = applyOp(rec, value.op, model, owner);
  }
  pushApplied(rec, instance, value.origin, value.seq, result, RECENT_WINDOW);
  rec.chosen = instance;
  rec.chosenOrigin = value.origin;
  rec.chosenSeq = value.seq;
  rec.promised = 0;
  rec.acceptedBallot = 0;
  rec.accepted = null;
  if (!(windowLength(rec) <= RECENT_WINDOW))
    assert(false, `recent window ${windowLength(rec)} too long`);
  return result;
}

/**
 * Applies a model op, at most once per caller request id (exactly-once retries, request-id.ts):
 * an op whose id this key remembers (it changed the key) is not applied again and answers the
 * original result. The
 * check runs here, on every replica applying the chosen value, not only at the proposer: every
 * replica holds the same window, so every replica takes the same branch.
 */
function applyOp(
  rec: KeyRecord,
  wrapped: Uint8Array,
  model: StateMachine,
  owner: DataOwner | undefined,
): Uint8Array {
  // Most ops carry no request id: no split (and no object) for them.
  let requestId: string | undefined;
  let op = wrapped;
  if (wrapped[0] === REQUEST_ID_TAG) ({ requestId, op } = splitRequestId(wrapped));
  if (requestId !== undefined) {
    const earlier = findRequest(rec, requestId);
    if (earlier !== undefined) return earlier.result;
  }
  const mayOverwrite = owner !== undefined && rec.data !== null && rec.data === owner.ownedData;
  const out = model.apply(rec.data, rec.version, op, mayOverwrite);
  // The model is our code: bytes out, or a bug (every replica would apply the same bad result).
  if (
    !(out.result instanceof Uint8Array) ||
    (out.data !== null && !(out.data instanceof Uint8Array))
  ) {
    assert(false, `the model answered a non-byte result or state at version ${rec.version}`);
  }
  const versionBefore = rec.version;
  rec.data = out.data;
  // A state the model did not promise as the key's alone (the generic paths: it may be what a
  // result or an older state refers to) is never written into.
  if (owner !== undefined) owner.ownedData = out.owned === true ? out.data : null;
  if (out.mutated) rec.version += 1;
  assert(rec.version === versionBefore + (out.mutated ? 1 : 0), 'one version per mutating op');
  // Only an op that changed the key is remembered: one that changed nothing (a refused cas, an
  // overdraft, a pop of an empty queue) may be retried and evaluated again, which can apply it
  // at most once too, and keeps refusals from using up an id (accounts rely on it).
  if (requestId !== undefined && out.mutated)
    rememberRequest(rec, { id: requestId, result: out.result });
  return out.result;
}

export function findRequest(rec: KeyRecord, id: string): RequestEntry | undefined {
  for (let i = rec.requests.length - 1; i >= 0; i--) {
    const e = rec.requests[i];
    assert(e !== undefined);
    if (e.id === id) return e;
  }
  return undefined;
}

/** Appends an entry; the oldest go while the window passes its count or byte bound. */
function rememberRequest(rec: KeyRecord, entry: RequestEntry): void {
  const next = [...rec.requests, entry];
  let bytes = 0;
  for (const e of next) bytes += e.id.length * 3 + e.result.length;
  let drop = Math.max(0, next.length - REQUESTS_REMEMBERED_MAX);
  for (let i = 0; i < drop; i++)
    bytes -= (next[i] as RequestEntry).id.length * 3 + (next[i] as RequestEntry).result.length;
  while (bytes > REQUESTS_REMEMBERED_BYTES_MAX && drop < next.length - 1) {
    const e = next[drop] as RequestEntry;
    bytes -= e.id.length * 3 + e.result.length;
    drop += 1;
  }
  rec.requests = drop === 0 ? next : next.slice(drop);
  if (!(rec.requests.length >= 1 && rec.requests.length <= REQUESTS_REMEMBERED_MAX))
    assert(false, `request window of ${rec.requests.length}`);
  assert(rec.requests[rec.requests.length - 1] === entry, 'the newest request entry is kept');
}

/**
 * Applies an "install state" op (models/install-op.ts): the key's data, version and
 * recent window become the op's, whatever this replica held, so replicas that diverged at one
 * instance (after `acceptDataLoss`) hold one state again once it is chosen. Every branch
 * depends only on the op and on `rec.chosen`, which is the same on every replica applying the
 * value chosen at this instance (it is that instance minus one): all replicas take the same
 * branch, so the install never makes replicas differ more. The condition on the instance is what
 * keeps the repair from overwriting a write chosen after the repair read the state it installs.
 * Malformed bytes (damage, never produced by us) change nothing, alike everywhere.
 */
function applyInstall(rec: KeyRecord, op: Uint8Array): Uint8Array {
  const install = decodeInstallOp(op);
  if (install === undefined) return Uint8Array.of(InstallStatus.malformed);
  if (install.expectChosen !== rec.chosen) return Uint8Array.of(InstallStatus.stale);
  rec.data = install.data;
  rec.version = install.version;
  // The installed window replaces this replica's own, so a request chosen again later is
  // recognised (or not) alike on every replica; the caller appends the install's own entry.
  ({ recentIds: rec.recentIds, recentResults: rec.recentResults } = windowOf(install.recent));
  // The install carries no request window: every replica forgets its own alike (a retry after
  // a repair may apply again; documented with verify's repair).
  rec.requests = [];
  if (!(windowLength(rec) <= RECENT_WINDOW))
    assert(false, `installed recent window of ${windowLength(rec)}`);
  for (let i = 0; i < windowLength(rec); i++)
    if (!(instanceAt(rec, i) <= rec.chosen))
      assert(false, `installed window reaches past instance ${rec.chosen}`);
  return Uint8Array.of(InstallStatus.installed);
}

/**
 * Takes a peer's newer chosen state (catch-up). The acceptor state restarts empty: this
 * replica only ever promises for its own chosen + 1, which the newer record has decided.
 */
export function adoptChosen(rec: KeyRecord, newer: KeyRecord): void {
  if (!(newer.chosen > rec.chosen))
    assert(false, `adopt ${newer.chosen} not newer than ${rec.chosen}`);
  rec.chosen = newer.chosen;
  rec.chosenOrigin = newer.chosenOrigin;
  rec.chosenSeq = newer.chosenSeq;
  rec.data = newer.data;
  rec.version = newer.version;
  ({ recentIds: rec.recentIds, recentResults: rec.recentResults } = copyWindow(newer));
  rec.requests = newer.requests;
  rec.promised = 0;
  rec.acceptedBallot = 0;
  rec.accepted = null;
}

/**
 * A copy of `rec` that later changes to it do not reach (its window is mutated in place; the
 * other fields are replaced, never mutated, but for an owned data array: a core lends the data
 * (lendData) before it hands out a snapshot).
 */
export function snapshotRecord(rec: KeyRecord): KeyRecord {
  return { ...rec, ...copyWindow(rec) };
}

/** Checks the invariants of one record (STYLE.md §2). */
export function checkRecord(rec: KeyRecord, key: string): void {
  if (!(rec.chosen >= 0 && Number.isSafeInteger(rec.chosen)))
    assert(false, `${key}: chosen ${rec.chosen}`);
  if (!(rec.acceptedBallot <= rec.promised))
    assert(false, `${key}: accepted ${rec.acceptedBallot} > promised ${rec.promised}`);
  if (!((rec.acceptedBallot === 0) === (rec.accepted === null)))
    assert(false, `${key}: accepted ballot/value mismatch`);
  if (!(rec.version >= 0)) assert(false, `${key}: version ${rec.version}`);
  if (!(rec.chosen === 0 || rec.chosenOrigin >= 0))
    assert(false, `${key}: chosen ${rec.chosen} without origin`);
  // Its ring's head and seq bound too (a bound below a seq would let a value apply twice), where
  // checks may be O(n): a loaded or received record passed the same check in validate.ts.
  if (VERIFY) {
    const shape = windowShapeProblem(rec, RECENT_WINDOW);
    if (shape !== undefined) assert(false, `${key}: ${shape}`);
  }
}
