/**
 * Validation of input that is not our own state: messages from other replicas and records read
 * back from disk (STYLE.md §2). An assertion is for our own invariants; a malformed or hostile
 * message, or a damaged record, is an operating error: it is rejected (counted, and logged by
 * the shell) and the actor goes on. Only after these checks do the handlers assert on what they
 * derive from the input.
 *
 * Each function returns undefined when the input is well formed, else the reason (one line).
 */
import { assert } from '../../../runtime/assert';
import { RECENT_WINDOW } from './key-record';
import {
  instanceAt,
  originAt,
  resultAt,
  seqAt,
  windowLength,
  windowShapeProblem,
} from './recent-window';
import { REQUESTS_REMEMBERED_MAX } from '../../../models/request-id';
import type { KeyRecord, PaxosMessage, Proposal } from './types';
import { FetchPurpose, MessageType } from './types';

const MESSAGE_TYPES: ReadonlySet<number> = new Set(Object.values(MessageType));

function count(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function replicaId(n: unknown, replicas: number): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < replicas;
}

export function invalidProposal(p: Proposal, replicas: number): string | undefined {
  if (!replicaId(p.origin, replicas)) return `value origin ${p.origin}`;
  if (!count(p.seq)) return `value seq ${p.seq}`;
  if (!(p.op instanceof Uint8Array)) return 'value op is not bytes';
  return undefined;
}

/** A record from a peer or from disk: the shape every handler relies on. */
export function invalidRecord(rec: KeyRecord, replicas: number): string | undefined {
  assert(replicas >= 1 && replicas <= 30, 'records are checked against a valid Set size');
  if (!count(rec.chosen)) return `record chosen ${rec.chosen}`;
  if (
    rec.chosen > 0
      ? !replicaId(rec.chosenOrigin, replicas)
      : rec.chosenOrigin !== -1 && !replicaId(rec.chosenOrigin, replicas)
  ) {
    return `record chosen origin ${rec.chosenOrigin}`;
  }
  if (!count(rec.chosenSeq)) return `record chosen seq ${rec.chosenSeq}`;
  if (rec.data !== null && !(rec.data instanceof Uint8Array)) return 'record data is not bytes';
  if (!count(rec.version)) return `record version ${rec.version}`;
  if (!count(rec.promised) || !count(rec.acceptedBallot))
    return `record ballots ${rec.promised}/${rec.acceptedBallot}`;
  if (rec.acceptedBallot > rec.promised)
    return `record accepted ${rec.acceptedBallot} > promised ${rec.promised}`;
  if ((rec.acceptedBallot === 0) !== (rec.accepted === null))
    return 'record accepted ballot without value (or value without ballot)';
  if (rec.accepted !== null) {
    const bad = invalidProposal(rec.accepted, replicas);
    if (bad !== undefined) return `record accepted ${bad}`;
  }
  const shape = windowShapeProblem(rec, RECENT_WINDOW);
  if (shape !== undefined) return shape;
  for (let i = 0; i < windowLength(rec); i++) {
    const instance = instanceAt(rec, i);
    if (!count(instance) || instance < 1 || instance > rec.chosen)
      return `window entry at instance ${instance}`;
    if (!replicaId(originAt(rec, i), replicas) || !count(seqAt(rec, i))) return 'window entry id';
    if (!(resultAt(rec, i) instanceof Uint8Array)) return 'window entry result';
  }
  if (!Array.isArray(rec.requests) || rec.requests.length > REQUESTS_REMEMBERED_MAX)
    return `record request window of ${rec.requests?.length}`;
  for (const e of rec.requests) {
    if (typeof e.id !== 'string' || e.id.length === 0 || !(e.result instanceof Uint8Array))
      return 'request window entry';
  }
  return undefined;
}

/** A message from a peer, addressed to replica `me` of a Set of `replicas`. */
export function invalidMessage(m: PaxosMessage, me: number, replicas: number): string | undefined {
  // Our own identity is configuration, checked by the core's constructor: only `m` is input.
  if (!(me >= 0 && me < replicas && replicas <= 30)) assert(false, `replica ${me} of ${replicas}`);
  if (!MESSAGE_TYPES.has(m.type)) return `message type ${m.type}`;
  if (!replicaId(m.from, replicas) || m.from === me) return `message from ${m.from}`;
  if (m.to !== me) return `message for ${m.to}`;
  if (typeof m.key !== 'string' || m.key.length === 0) return 'message without a key';
  // Field by field, no allocation: this runs for every message on the hot path.
  if (!count(m.instance)) return `message instance ${m.instance}`;
  if (!count(m.ballot) || !count(m.promised) || !count(m.acceptedBallot))
    return `message ballots ${m.ballot}/${m.promised}/${m.acceptedBallot}`;
  if (!count(m.chosen) || !count(m.chosenSeq)) return `message chosen ${m.chosen}/${m.chosenSeq}`;
  if (!count(m.requestId)) return `message request id ${m.requestId}`;
  if (m.chosen > 0 && !replicaId(m.chosenOrigin, replicas))
    return `message chosen origin ${m.chosenOrigin}`;
  if (m.purpose !== FetchPurpose.catchUp && m.purpose !== FetchPurpose.recover)
    return `fetch purpose ${m.purpose}`;
  if (m.value !== null) {
    const bad = invalidProposal(m.value, replicas);
    if (bad !== undefined) return bad;
  }
  return invalidForType(m, replicas);
}

function invalidForType(m: PaxosMessage, replicas: number): string | undefined {
  assert(MESSAGE_TYPES.has(m.type), 'the type was checked first (invalidMessage)');
  switch (m.type) {
    case MessageType.prepare:
      // Reserved ballots are never prepared: only pre-authorized Accepts carry them.
      return m.instance >= 1 && m.ballot > replicas
        ? undefined
        : `prepare ${m.instance}/${m.ballot}`;
    case MessageType.accept:
      return m.instance >= 1 && m.ballot >= 1 && m.value !== null
        ? undefined
        : `accept ${m.instance}/${m.ballot}`;
    case MessageType.promise:
    case MessageType.accepted:
      return m.instance >= 1 && m.ballot >= 1 ? undefined : `vote ${m.instance}/${m.ballot}`;
    case MessageType.fetchReply:
      return m.record === null ? 'fetch reply without a record' : invalidRecord(m.record, replicas);
    default:
      return undefined;
  }
}
