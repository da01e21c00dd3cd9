/**
 * Cross-replica invariants, checked after every simulated step (TigerBeetle style) rather than
 * sampled now and then: a violation is caught in the instant it happens, with the state that
 * caused it still in memory.
 *
 * - Agreement: at most one value is ever chosen per key and instance, across all replicas and
 *   all time (so a chosen value never changes). Chosen values are seen in every replica's
 *   records and in the chosen state that every message carries.
 * - Durability of votes: a replica that is not amnesic never holds, for the instance after its
 *   chosen one, a promise below a promise or accept it has answered for that instance (the
 *   durability rule: persisted before answered, so a restart cannot lower it). Within one
 *   incarnation a key's promise never goes down while its chosen instance stays.
 * - Acknowledged writes are chosen: when a client gets a write acknowledged, that operation is
 *   among the values chosen for the key.
 * - State agreement: every record of a key at one chosen instance, in a replica's core or in a
 *   fetch reply on the wire, holds the same version and data (the state after applying the
 *   same chosen values). A state written in place while a reply still referred to it would
 *   break it (decision "A key's data written in place").
 */
import { assert } from '../../runtime/assert';
import { PayloadKind, payloadKind, readBatch, readMessage } from '../../actors/paxos/codec';
import type { PaxosCore } from '../../actors/paxos/core/paxos-core';
import type { KeyRecord, PaxosMessage, Proposal } from '../../actors/paxos/core/types';
import { MessageType } from '../../actors/paxos/core/types';
import { windowEntries } from '../../actors/paxos/core/recent-window';

function opHash(op: Uint8Array): string {
  return Buffer.from(op.buffer, op.byteOffset, op.byteLength).toString('base64');
}

/** FNV-1a over the bytes (the checker's fingerprint of a state; sim states are small). */
function bytesHash(b: Uint8Array | null): string {
  if (b === null) return 'null';
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return `${b.length}:${h >>> 0}`;
}

function idOf(origin: number, seq: number): string {
  return `${origin}:${seq}`;
}

export class ClusterInvariants {
  /** `key#instance` → id of the value chosen there. */
  private readonly chosen = new Map<string, string>();
  /** key → ids chosen for it (for the acknowledged-write check). */
  private readonly chosenIdsOfKey = new Map<string, Set<string>>();
  /**
   * `key|value id` → hash of its op, from every value seen on the wire or in a record. Ids are
   * unique per key (each group numbers its own proposals), not across keys.
   */
  private readonly opOf = new Map<string, string>();
  /** `replica|key|instance` → highest ballot the replica answered a promise or accept with. */
  private readonly answered = new Map<string, number>();
  /** Per replica and core object: key → { chosen, promised } at the previous check. */
  private readonly lastSeen = new WeakMap<
    PaxosCore,
    Map<string, { chosen: number; promised: number }>
  >();
  /** `key#chosen` → the version and data fingerprint of the state at that instance. */
  private readonly stateAt = new Map<string, string>();
  checks = 0;
  acksChecked = 0;

  /** Every payload an actor of `replica` sends (decoded a second time, for the checker only). */
  observeSent(replica: number, payload: Uint8Array): void {
    if (payloadKind(payload) !== PayloadKind.paxos) return;
    readBatch(payload, PayloadKind.paxos, readMessage, (m) => this.observeMessage(replica, m));
  }

  /** A batch the Paxos actor sent as objects (ActorHost.sendObject). */
  observeSentObject(replica: number, message: object): void {
    assert(Array.isArray(message), 'a message object that is not a batch');
    for (const m of message as PaxosMessage[]) this.observeMessage(replica, m);
  }

  private observeMessage(replica: number, m: PaxosMessage): void {
    if (m.chosen > 0)
      this.noteChosen(m.key, m.chosen, m.chosenOrigin, m.chosenSeq, `message from ${replica}`);
    if (m.value !== null) this.noteValue(m.key, m.value);
    if (m.record?.accepted != null) this.noteValue(m.key, m.record.accepted);
    if (m.record != null) this.noteState(m.key, m.record, `a record sent by ${replica}`);
    const vote = m.ok && (m.type === MessageType.promise || m.type === MessageType.accepted);
    if (vote) {
      const at = `${replica}|${m.key}|${m.instance}`;
      this.answered.set(at, Math.max(this.answered.get(at) ?? 0, m.ballot));
    }
  }

  private noteState(key: string, rec: KeyRecord, where: string): void {
    if (rec.chosen === 0) return;
    const at = `${key}#${rec.chosen}`;
    const state = `${rec.version}/${bytesHash(rec.data)}`;
    const seen = this.stateAt.get(at);
    assert(
      seen === undefined || seen === state,
      () => `state agreement violated at ${at}: ${seen} vs ${state} (${where})`,
    );
    if (seen === undefined) this.stateAt.set(at, state);
  }

  private noteValue(key: string, p: Proposal): void {
    if (p.op.length > 0) this.opOf.set(`${key}|${idOf(p.origin, p.seq)}`, opHash(p.op));
  }

  private noteChosen(
    key: string,
    instance: number,
    origin: number,
    seq: number,
    where: string,
  ): void {
    const at = `${key}#${instance}`;
    const value = idOf(origin, seq);
    const seen = this.chosen.get(at);
    assert(
      seen === undefined || seen === value,
      `agreement violated at ${at}: ${seen} vs ${value} (${where})`,
    );
    if (seen !== undefined) return;
    this.chosen.set(at, value);
    let ids = this.chosenIdsOfKey.get(key);
    if (ids === undefined) this.chosenIdsOfKey.set(key, (ids = new Set()));
    ids.add(value);
  }

  /** One replica's core, at the end of an instant. */
  checkCore(replica: number, core: PaxosCore): void {
    this.checks += 1;
    let last = this.lastSeen.get(core);
    if (last === undefined) this.lastSeen.set(core, (last = new Map()));
    // It keeps nothing of a record past this loop: no lend (keys' data may be written in place).
    for (const { key, status, rec } of core.heldRecords(false)) {
      if (status === 'loading') continue;
      if (rec.chosen > 0)
        this.noteChosen(key, rec.chosen, rec.chosenOrigin, rec.chosenSeq, `replica ${replica}`);
      for (const e of windowEntries(rec))
        this.noteChosen(key, e.instance, e.origin, e.seq, `replica ${replica} window`);
      if (rec.accepted !== null) this.noteValue(key, rec.accepted);
      if (status !== 'ready') continue;
      this.noteState(key, rec, `replica ${replica}`);
      const before = last.get(key);
      assert(
        before === undefined || before.chosen !== rec.chosen || rec.promised >= before.promised,
        () =>
          `replica ${replica} ${key}: promise went down from ${before?.promised} to ${rec.promised} at chosen ${rec.chosen}`,
      );
      last.set(key, { chosen: rec.chosen, promised: rec.promised });
      if (core.amnesic) continue;
      const answered = this.answered.get(`${replica}|${key}|${rec.chosen + 1}`) ?? 0;
      assert(
        rec.promised >= answered,
        () =>
          `replica ${replica} ${key}: promise ${rec.promised} for instance ${rec.chosen + 1} below the ballot ${answered} it answered`,
      );
    }
  }

  /** A client got a write acknowledged: its op must be among the key's chosen values. */
  onAcknowledgedWrite(key: string, op: Uint8Array): void {
    this.acksChecked += 1;
    const want = opHash(op);
    for (const id of this.chosenIdsOfKey.get(key) ?? [])
      if (this.opOf.get(`${key}|${id}`) === want) return;
    assert(
      false,
      `acknowledged write on ${key} (op ${want}) is not among the values chosen for it`,
    );
  }
}
