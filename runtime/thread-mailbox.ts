/**
 * One thread's end of the ring matrix and its event-loop pump: the same code runs in every
 * worker and in the client thread.
 *
 * A turn: the owner's `beforeDrain` hook (ticks, local deliveries), drain every inbound ring
 * (bounded per ring), the `afterDrain` hook (actors' flush), then flush every outbox and ring
 * the doorbell of each reader that is parked. A worker's turn drains in passes of about
 * `passBytes` per ring, each pass followed by `afterDrain` and a flush, over the records
 * published when the turn began (docs/decisions.md "A worker's turn in passes"). While turns
 * find work, the next one runs from setImmediate, which lets timers and I/O callbacks in
 * between. After `spinMicros` of empty turns the thread parks on its doorbell (see doorbell.ts
 * for why that cannot lose a wake-up). The spin is measured in time, not turns, and is longer
 * than a wake-up from a park (tens of microseconds): with a shorter one, a ping-pong partner that paid one wake-up would answer
 * just after we parked, so every later exchange would pay a wake-up too. The spin runs only
 * while the thread has a core to spare (spin-governor.ts): when the runnable threads outnumber
 * the cores, a spinning thread takes the core of one that has work.
 *
 * A full outbound ring does not keep the thread spinning: the outbox raises the ring's
 * spaceWanted flag, and the consumer rings this thread's doorbell when it frees space.
 */
import { assert } from './assert';
import { DoorbellReader, Doorbells } from './doorbell';
import { FRAGMENT_MARK, MESSAGE_BYTES_MAX, Reassembler, fragment } from './fragments';
import { Outbox } from './outbox';
import { SpscRing } from './ring';
import { SPIN_GOVERNOR_DEFAULTS, SpinGovernor } from './spin-governor';
import { threadSchedSample } from './thread-cpu';
import { FRAME_HEADER_BYTES, ringBuffer } from './topology';
import type { Topology } from './topology';

export interface MailboxHooks {
  /** Start of a turn: run due ticks and queued local deliveries. True if it did anything. */
  beforeDrain(): boolean;
  /** One inbound record. `payload` is valid only during the call. */
  deliver(from: number, to: number, payload: Uint8Array): void;
  /** After the drain, before the outboxes flush: let receivers emit aggregated output. */
  afterDrain(): void;
  /** Local work that must prevent parking (a due tick, a non-empty local queue). */
  hasLocalWork(): boolean;
}

export interface MailboxOptions {
  /** Records drained from one inbound ring per turn. */
  drainRecordsMax: number;
  /**
   * 0: a turn drains what its rings hold, then runs `afterDrain` and flushes, once. N > 0: it
   * works in passes over the records published when the turn began, each pass taking records
   * from each ring until they pass N payload bytes, and each pass but the last followed by
   * `afterDrain` and a flush, so the first records' answers leave while the later ones are
   * worked on. Bytes, not records: a pass must not shrink with the payloads (a fast partner
   * answers in small ones).
   */
  passBytes: number;
  /**
   * How long a thread keeps turning (setImmediate hops) without work before it parks, when it
   * has a core to spare; 0 when it waits for a CPU (spin-governor.ts).
   */
  spinMicros: number;
}

export const MAILBOX_DEFAULTS: MailboxOptions = {
  drainRecordsMax: 1024,
  passBytes: 0,
  spinMicros: 200,
};

/** A worker's pass: ~16 KiB of payloads per ring, about a hundred small requests. */
export const WORKER_PASS_BYTES = 16384;

export interface MailboxStats {
  messagesIn: number;
  messagesOut: number;
  /** Used bytes of each inbound ring, indexed by sender thread (0 for this thread itself). */
  ringOccupancyBytes: number[];
  overflowRecords: number;
  overflowBytes: number;
  overflowBytesHighWater: number;
  parks: number;
  wakes: number;
  /** Time parked on the doorbell (doorbell.ts parkedMicros), for stats: idle for want of work. */
  parkedMicros: number;
  turns: number;
  /** Times the spin governor turned the spin off (cores contended), and whether it is on. */
  spinOffs: number;
  spinOn: boolean;
}

interface Inbound {
  readonly thread: number;
  readonly ring: SpscRing;
  readonly reassembler: Reassembler;
  /** Record handler of this ring: plain records go straight on, fragments are reassembled. */
  readonly onRecord: (word0: number, word1: number, payload: Uint8Array) => void;
}

export class ThreadMailbox {
  readonly payloadBytesMax: number;
  private readonly inbound: Inbound[] = [];
  /** Each inbound ring's published tail when the turn began (turns in passes). */
  private readonly turnTails: number[] = [];
  private readonly outboxes: (Outbox | null)[] = [];
  private readonly bells: Doorbells;
  private readonly reader: DoorbellReader;
  private readonly onRecord = (from: number, to: number, payload: Uint8Array): void =>
    this.hooks.deliver(from, to, payload);
  private readonly turnBound = (): void => this.turn();
  private readonly hasWorkBound = (): boolean => this.hasWork();
  private running = false;
  private inTurn = false;
  private scheduled = false;
  /** performance.now() of the first empty turn in a row; -1 while turns find work. */
  private idleSince = -1;
  private messagesIn = 0;
  private messagesOut = 0;
  private turns = 0;
  private readonly spin: SpinGovernor;

  constructor(
    private readonly topology: Topology,
    readonly thread: number,
    private readonly hooks: MailboxHooks,
    private readonly options: MailboxOptions = MAILBOX_DEFAULTS,
    /**
     * A respawned worker. What its dead predecessor left unread is dropped, as a crashed
     * process loses its inbound messages (and a message that crashed the worker must not crash
     * its successor too); later records may then begin inside a fragmented message.
     */
    respawned = false,
  ) {
    const threads = topology.workers + 1;
    assert(Number.isInteger(thread) && thread >= 0 && thread < threads, `bad thread ${thread}`);
    assert(options.drainRecordsMax > 0 && options.spinMicros >= 0, 'bad mailbox options');
    assert(Number.isInteger(options.passBytes) && options.passBytes >= 0, 'bad passBytes');
    let payloadBytesMax = Infinity;
    for (let other = 0; other < threads; other++) {
      if (other === thread) {
        this.outboxes.push(null);
        continue;
      }
      const reassembler = new Reassembler(respawned);
      this.inbound.push({
        thread: other,
        reassembler,
        ring: new SpscRing(ringBuffer(topology, other, thread)),
        onRecord: (word0, word1, payload) => {
          if (word0 === FRAGMENT_MARK) reassembler.accept(word1, payload, this.onRecord);
          else this.onRecord(word0, word1, payload);
        },
      });
      const out = new SpscRing(ringBuffer(topology, thread, other));
      this.outboxes.push(new Outbox(out));
      payloadBytesMax = Math.min(payloadBytesMax, out.recordBytesMax - FRAME_HEADER_BYTES);
    }
    assert(payloadBytesMax > 0 && payloadBytesMax < Infinity, `bad payload max ${payloadBytesMax}`);
    if (respawned) for (const { ring } of this.inbound) ring.discardAll();
    this.payloadBytesMax = payloadBytesMax;
    this.bells = new Doorbells(topology.bells);
    this.reader = new DoorbellReader(this.bells, thread);
    this.spin = new SpinGovernor(
      { ...SPIN_GOVERNOR_DEFAULTS, spinMicros: options.spinMicros },
      threadSchedSample,
    );
  }

  /** True while the pump runs a turn: sends made now are flushed when the turn ends. */
  get turnActive(): boolean {
    return this.inTurn;
  }

  start(): void {
    assert(!this.running, `mailbox of thread ${this.thread} started twice`);
    this.running = true;
    this.requestTurn();
  }

  /** Stops the pump. A pending park is cut short so no waitAsync promise is left behind. */
  stop(): void {
    if (!this.running) return;
    this.flushOutboxes();
    this.running = false;
    this.reader.wakeSelf();
  }

  /**
   * The producer of one inbound ring (a worker thread) died and is being respawned: drop what
   * it published but we have not read, and any partial fragmented message. Its successor's
   * records start at the ring's current tail. Returns the bytes dropped.
   */
  resetInbound(fromThread: number): number {
    const inbound = this.inbound.find((i) => i.thread === fromThread);
    assert(inbound !== undefined, `no inbound ring from thread ${fromThread}`);
    inbound.reassembler.reset();
    return inbound.ring.discardAll();
  }

  /** Queues one framed record for `toThread`; it leaves at the next `flushOutboxes`. */
  send(toThread: number, from: number, to: number, payload: Uint8Array): void {
    const outbox = this.outboxes[toThread];
    if (outbox === undefined || outbox === null) assert(false, `no outbox to thread ${toThread}`);
    if (payload.byteLength > MESSAGE_BYTES_MAX) {
      throw new RangeError(`payload of ${payload.byteLength} bytes > ${MESSAGE_BYTES_MAX}`);
    }
    if (payload.byteLength <= this.payloadBytesMax) outbox.pushFramed(from, to, payload);
    else
      fragment(from, to, payload, this.payloadBytesMax, (w0, w1, chunk) =>
        outbox.pushFramed(w0, w1, chunk),
      );
    this.messagesOut++;
  }

  /** Publishes every outbox and rings the doorbell of each parked reader that got records. */
  flushOutboxes(): void {
    for (let to = 0; to < this.outboxes.length; to++) {
      const outbox = this.outboxes[to];
      if (outbox !== undefined && outbox !== null && outbox.flush()) this.bells.ringIfParked(to);
    }
  }

  /** Records waiting in the outboxes' overflow queues (a full ring): sent, not yet in a ring. */
  overflowPending(): number {
    let pending = 0;
    for (const outbox of this.outboxes) if (outbox !== null) pending += outbox.overflowPending;
    return pending;
  }

  /** Makes sure a turn runs soon (for work that arrived outside a turn: timers, callbacks). */
  requestTurn(): void {
    this.idleSince = -1;
    if (!this.running || this.inTurn || this.scheduled) return;
    if (this.reader.parked) {
      this.reader.wakeSelf();
      return;
    }
    this.scheduled = true;
    setImmediate(this.turnBound);
  }

  stats(): MailboxStats {
    const stats: MailboxStats = {
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      ringOccupancyBytes: new Array<number>(this.outboxes.length).fill(0),
      overflowRecords: 0,
      overflowBytes: 0,
      overflowBytesHighWater: 0,
      parks: this.reader.parks,
      wakes: this.reader.wakes,
      parkedMicros: this.reader.parkedMicros,
      turns: this.turns,
      spinOffs: this.spin.offs,
      spinOn: this.spin.spinOn,
    };
    for (const { thread, ring } of this.inbound) stats.ringOccupancyBytes[thread] = ring.usedBytes;
    for (const outbox of this.outboxes) {
      if (outbox === null) continue;
      stats.overflowRecords += outbox.stats.overflowRecords;
      stats.overflowBytes += outbox.stats.overflowBytes;
      stats.overflowBytesHighWater += outbox.stats.overflowBytesHighWater;
    }
    return stats;
  }

  private turn(): void {
    this.scheduled = false;
    if (!this.running) return;
    assert(!this.inTurn, `thread ${this.thread} re-entered its turn`);
    this.inTurn = true;
    this.turns++;
    let worked = this.hooks.beforeDrain();
    if (this.options.passBytes === 0) {
      for (const inbound of this.inbound) if (this.drainRing(inbound) > 0) worked = true;
    } else if (this.drainInPasses()) {
      worked = true;
    }
    this.hooks.afterDrain();
    this.inTurn = false;
    this.flushOutboxes();
    this.scheduleNext(worked);
  }

  /**
   * The turn's drain in passes (MailboxOptions.passBytes): every pass but the last is followed
   * by `afterDrain` and a flush; the caller runs the last pass's. Bounded by the records
   * published when the turn began, and ends after the pass that brings the turn's records to
   * drainRecordsMax (the rest wait for the next turn). True if it drained.
   */
  private drainInPasses(): boolean {
    const { passBytes, drainRecordsMax } = this.options;
    const inbound = this.inbound;
    for (let i = 0; i < inbound.length; i++)
      this.turnTails[i] = (inbound[i] as Inbound).ring.publishedTail();
    let drained = false;
    let records = 0;
    for (;;) {
      let left = false;
      for (let i = 0; i < inbound.length; i++) {
        const one = inbound[i] as Inbound;
        const until = this.turnTails[i] as number;
        const count = this.drainRing(one, until, passBytes);
        records += count;
        if (count > 0) drained = true;
        if (one.ring.hasRecordsBefore(until)) left = true;
      }
      // Each pass drains at least one record while any is left, so the loop ends.
      if (!left || records >= drainRecordsMax) return drained;
      this.hooks.afterDrain();
      this.flushOutboxes();
    }
  }

  /**
   * Drains one inbound ring (at most drainRecordsMax records; up to `until` and `payloadBytesMax`
   * when given, see SpscRing.drainFramed), counts what it took and rings a producer that waits
   * for the space. Returns the records drained.
   */
  private drainRing(
    { thread, ring, onRecord }: Inbound,
    until?: number,
    payloadBytesMax?: number,
  ): number {
    const count = ring.drainFramed(onRecord, this.options.drainRecordsMax, until, payloadBytesMax);
    this.messagesIn += count;
    // The producer may be parked waiting for exactly the space this drain freed.
    if (ring.takeSpaceWanted()) this.bells.ringIfParked(thread);
    return count;
  }

  private scheduleNext(worked: boolean): void {
    if (!this.running) return;
    const now = performance.now();
    if (worked || this.hooks.hasLocalWork()) this.idleSince = -1;
    else if (this.idleSince < 0) this.idleSince = now;
    if (this.idleSince < 0 || (now - this.idleSince) * 1000 < this.spin.spinMicros(now)) {
      this.scheduled = true;
      setImmediate(this.turnBound);
      return;
    }
    const wake = this.reader.park(this.hasWorkBound);
    if (wake === null) {
      this.idleSince = -1;
      this.scheduled = true;
      setImmediate(this.turnBound);
      return;
    }
    void wake.then(this.turnBound);
  }

  /** Re-checked after the parked flag is up: anything that must keep this thread awake. */
  private hasWork(): boolean {
    if (this.hooks.hasLocalWork()) return true;
    for (const { ring } of this.inbound) if (ring.hasRecords()) return true;
    for (const outbox of this.outboxes) {
      if (outbox !== null && outbox.canMakeProgress()) return true;
    }
    return false;
  }
}
