/**
 * The ids a core mints (decision 14, 15): proposal seqs — a value's id is (origin, seq), and a
 * chosen value is applied once per id — and request ids, which match read, catch-up and
 * recovery replies to the requests this core sent.
 *
 * Both must be unique across every incarnation of the replica's group, lost disks included
 * ("ids never repeat across incarnations", DESIGN.md §4): a reply or a value that a past
 * incarnation left on the wire must never be taken for one of ours. So the shell hands the core
 * an incarnation number that never repeats (a durable counter, see the store's
 * incarnation-file.ts) and the core takes its ids from [incarnation × span, +span). Before a
 * range runs out the core asks for a new incarnation number (`Ready.renewIds`); if the shell
 * has not answered when it runs out, the core mints nothing — writes fail UNAVAILABLE, reads
 * and fetches wait — rather than step into another incarnation's range.
 *
 * Pure and synchronous: no I/O, clock or randomness.
 */
import { assert } from '../../../runtime/assert';
import { EPOCH_SPAN } from './ballot';

/** Ids of one incarnation lie in [incarnation × span, +span). 2^32 × 2^21 = 2^53. */
export const ID_SPAN_DEFAULT = 2 ** 32;
/** Incarnation numbers lie in [0, INCARNATION_SPAN): the ballot epoch's range (ballot.ts). */
export const INCARNATION_SPAN = EPOCH_SPAN;

interface IdRange {
  next: number;
  end: number;
}

export interface IdSpace {
  readonly span: number;
  seqs: IdRange;
  requests: IdRange;
  /** Every seq range this core has owned (values "originated by this incarnation"). */
  readonly seqBases: number[];
  /** A range passed three quarters of its span: the shell should renew. */
  renewWanted: boolean;
  /** The current renewal request was handed to the shell already. */
  renewAsked: boolean;
}

function rangeOf(incarnation: number, span: number, first: number): IdRange {
  if (!(Number.isInteger(incarnation) && incarnation >= 0 && incarnation < INCARNATION_SPAN))
    assert(false, `incarnation ${incarnation}`);
  const base = incarnation * span;
  if (!Number.isSafeInteger(base + span))
    assert(false, `ids of incarnation ${incarnation} pass 2^53`);
  return { next: base + first, end: base + span };
}

export function newIdSpace(incarnation: number, span: number): IdSpace {
  if (!(Number.isSafeInteger(span) && span >= 4)) assert(false, `id span ${span}`);
  // Request id 0 means "none" on the wire, so request ids start one above the base.
  return {
    span,
    seqs: rangeOf(incarnation, span, 0),
    requests: rangeOf(incarnation, span, 1),
    seqBases: [incarnation * span],
    renewWanted: false,
    renewAsked: false,
  };
}

function take(space: IdSpace, range: IdRange): number | undefined {
  if (range.next >= range.end) {
    space.renewWanted = true;
    return undefined;
  }
  const id = range.next;
  range.next += 1;
  // Ask early, so a shell that answers at its next turn never lets the range run dry.
  if (range.end - range.next <= space.span / 4) space.renewWanted = true;
  if (!(Number.isSafeInteger(id) && id < range.end)) assert(false, `id ${id} outside its range`);
  return id;
}

/** A new proposal seq, or undefined when this incarnation's range is spent. */
export function takeSeq(space: IdSpace): number | undefined {
  return take(space, space.seqs);
}

/** A new request id, or undefined when this incarnation's range is spent. */
export function takeRequestId(space: IdSpace): number | undefined {
  return take(space, space.requests);
}

/** The shell's answer to `renewIds`: a new incarnation number, never used before. */
export function renewIds(space: IdSpace, incarnation: number): void {
  const base = incarnation * space.span;
  if (space.seqBases.includes(base)) assert(false, `incarnation ${incarnation} renewed twice`);
  space.seqs = rangeOf(incarnation, space.span, 0);
  space.requests = rangeOf(incarnation, space.span, 1);
  space.seqBases.push(base);
  space.renewWanted = false;
  space.renewAsked = false;
  assert(
    space.seqs.next === base && space.requests.next === base + 1,
    'renewed ranges start at their base',
  );
}

/** True for a seq this core minted (in any of its ranges). */
export function ownsSeq(space: IdSpace, seq: number): boolean {
  for (const base of space.seqBases) if (seq >= base && seq < base + space.span) return true;
  return false;
}
