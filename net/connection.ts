/**
 * A FramedConnection: typed frames over one authenticated socket (the handshake is done before
 * one is made; see server.ts and dialer.ts).
 *
 * Sending. `send` encodes the frame into the SendBuffer at once and schedules one write for
 * everything sent in the same tick (a vectored write under cork/uncork): one syscall per flush,
 * not per frame. The send queue is bounded: bytes not yet handed to the kernel (waiting in the
 * SendBuffer plus those in the socket's own buffer) never exceed `sendQueueBytesMax`. A send
 * that would pass the bound is refused: `send` returns 'BACKPRESSURE' and queues nothing. We
 * return a status rather than throw because a full queue is an ordinary operating condition on
 * the hot path, and the caller decides what to drop or retry; `onDrain` / `whenDrained` tell it
 * when the queue is down to half the bound again.
 *
 * Liveness. A timer runs every deadAfterMs/3: if nothing was sent since the last run, it sends
 * a PING; a PING is answered with a PONG. If nothing at all was received for deadAfterMs, and a
 * PING went out since we last heard anything, the connection closes with reason 'TIMEOUT'. The answer makes each side's detection depend on its
 * own deadAfterMs only. While the application has paused reading, the deadline is suspended
 * (the silence is ours, not the peer's).
 *
 * Input. A malformed, oversized or wrong-checksum frame, or a reserved frame type, closes the
 * connection with reason 'BAD_FRAME' and is counted in `stats.badFrames`.
 */
import type { Socket } from 'node:net';
import { assert } from '../runtime/assert';
import { NetError, silentLog } from './errors';
import type { NetErrorCode, NetLog } from './errors';
import {
  APP_FRAME_TYPE_MIN,
  FRAME_BYTES_MAX_DEFAULT,
  NetFrameType,
  checkFrameBytesMax,
  frameBytes,
  payloadBytes,
} from './frame';
import type { Payload, FrameDecoder } from './frame';
import type { PeerIdentity } from './handshake';
import { SendBuffer } from './send-buffer';

export const SendStatus = { OK: 'OK', BACKPRESSURE: 'BACKPRESSURE', CLOSED: 'CLOSED' } as const;
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus];

export const CloseReason = {
  /** close() was called on this side. */
  LOCAL: 'LOCAL',
  /** The peer closed the connection. */
  REMOTE: 'REMOTE',
  /** Nothing was received for deadAfterMs. */
  TIMEOUT: 'TIMEOUT',
  /** The peer sent a frame that failed to decode; `stats.closeCode` says how. */
  BAD_FRAME: 'BAD_FRAME',
  /** The socket reported an error. */
  ERROR: 'ERROR',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

export interface ConnectionOptions {
  /** Bound of one frame's body, both directions (default 16 MiB). */
  readonly frameBytesMax?: number;
  /** Bound of the bytes queued for sending (default 64 MiB; at least one maximal frame). */
  readonly sendQueueBytesMax?: number;
  /** Close with TIMEOUT after this long without receiving anything (default 10 s; 0: never). */
  readonly deadAfterMs?: number;
  readonly log?: NetLog;
}

export interface ConnectionStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  badFrames: number;
  /** Sends refused with BACKPRESSURE. */
  sendsRefused: number;
  pingsOut: number;
  /** Bytes queued now, and the most ever queued (never above sendQueueBytesMax). */
  queuedBytes: number;
  queuedBytesHigh: number;
  closeReason: CloseReason | undefined;
  closeCode: NetErrorCode | undefined;
}

export const SEND_QUEUE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
export const DEAD_AFTER_MS_DEFAULT = 10_000;
const CLOSE_GRACE_MS = 2_000;

export type FrameHandler = (type: number, payload: Buffer) => void;
export type CloseHandler = (reason: CloseReason, error?: Error) => void;

interface ResolvedOptions {
  frameBytesMax: number;
  sendQueueBytesMax: number;
  deadAfterMs: number;
  log: NetLog;
}

export function resolveConnectionOptions(options: ConnectionOptions = {}): ResolvedOptions {
  const frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
  checkFrameBytesMax(frameBytesMax);
  const sendQueueBytesMax =
    options.sendQueueBytesMax ?? Math.max(SEND_QUEUE_BYTES_MAX_DEFAULT, frameBytes(frameBytesMax));
  if (!Number.isInteger(sendQueueBytesMax) || sendQueueBytesMax < frameBytes(frameBytesMax)) {
    throw new NetError(
      'INVALID_OPTIONS',
      `sendQueueBytesMax ${sendQueueBytesMax} < one maximal frame (${frameBytes(frameBytesMax)})`,
    );
  }
  const deadAfterMs = options.deadAfterMs ?? DEAD_AFTER_MS_DEFAULT;
  if (!Number.isInteger(deadAfterMs) || deadAfterMs < 0 || deadAfterMs > 24 * 3600_000) {
    throw new NetError('INVALID_OPTIONS', `deadAfterMs ${deadAfterMs}`);
  }
  return { frameBytesMax, sendQueueBytesMax, deadAfterMs, log: options.log ?? silentLog };
}

export class FramedConnection {
  readonly stats: ConnectionStats = {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    badFrames: 0,
    sendsRefused: 0,
    pingsOut: 0,
    queuedBytes: 0,
    queuedBytesHigh: 0,
    closeReason: undefined,
    closeCode: undefined,
  };
  private readonly options: ResolvedOptions;
  private readonly sendBuffer = new SendBuffer();
  /** Bytes handed to the socket whose write has not completed yet. */
  private inSocketBytes = 0;
  private flushScheduled = false;
  private needDrain = false;
  private paused = false;
  private closed = false;
  private frameHandler: FrameHandler | undefined;
  private readonly closeHandlers: CloseHandler[] = [];
  private readonly drainHandlers: (() => void)[] = [];
  /** The one promise all current whenDrained() callers share (so waiting allocates nothing per call). */
  private drainWaiter:
    { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private receivedSinceTick = false;
  private sentSinceTick = false;
  private lastHeardMs = Date.now();
  /** A PING went out since we last heard anything: only then can silence mean a dead peer. */
  private pingedSinceHeard = false;
  private readonly flushNow = (): void => this.flush();

  /**
   * Takes over `socket` after a completed handshake. `decoder` holds any bytes that arrived
   * behind the handshake; the socket must be paused (the handshake driver leaves it so).
   */
  constructor(
    private readonly socket: Socket,
    private readonly decoder: FrameDecoder,
    readonly peer: PeerIdentity,
    options?: ConnectionOptions,
  ) {
    this.options = resolveConnectionOptions(options);
    assert(socket.isPaused(), 'the socket must be handed over paused');
    decoder.setFrameBytesMax(this.options.frameBytesMax);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.finish(CloseReason.REMOTE));
    socket.on('error', (error) => this.finish(CloseReason.ERROR, error));
    socket.on('close', () => this.finish(CloseReason.REMOTE));
    if (this.options.deadAfterMs > 0) {
      const interval = Math.max(1, Math.floor(this.options.deadAfterMs / 3));
      this.heartbeat = setInterval(() => this.onHeartbeat(), interval);
      this.heartbeat.unref();
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** The largest payload `send` accepts (the peer's decoder would reject a larger frame). */
  get payloadBytesMax(): number {
    return this.options.frameBytesMax - 1;
  }

  get queuedBytes(): number {
    return this.sendBuffer.bytes + this.inSocketBytes;
  }

  /**
   * Sets the frame handler and starts reading: nothing is read (so nothing can be lost) before
   * there is a handler, including frames that arrived together with the handshake's last one.
   */
  onFrame(handler: FrameHandler): void {
    const first = this.frameHandler === undefined;
    this.frameHandler = handler;
    if (first && !this.paused) this.resume();
  }

  onClose(handler: CloseHandler): void {
    this.closeHandlers.push(handler);
  }

  /** Called each time the queue falls to half its bound after a send was refused. */
  onDrain(handler: () => void): void {
    this.drainHandlers.push(handler);
  }

  /** Resolves when the queue is at most half its bound; rejects with CLOSED if it closes first. */
  whenDrained(): Promise<void> {
    if (this.closed) return Promise.reject(new NetError('CLOSED', 'connection closed'));
    if (this.queuedBytes <= this.options.sendQueueBytesMax / 2) return Promise.resolve();
    this.needDrain = true;
    if (this.drainWaiter === undefined) {
      let resolve: () => void = () => {};
      let reject: (error: Error) => void = () => {};
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.drainWaiter = { promise, resolve, reject };
    }
    return this.drainWaiter.promise;
  }

  /**
   * Queues one frame of application type (APP_FRAME_TYPE_MIN..255). Returns 'BACKPRESSURE'
   * (nothing queued) when it would pass the queue bound, 'CLOSED' once the connection closed.
   */
  send(type: number, payload: Payload): SendStatus {
    assert(type >= APP_FRAME_TYPE_MIN && type <= 0xff, () => `application frame type ${type}`);
    const length = payloadBytes(payload);
    assert(
      length <= this.payloadBytesMax,
      () => `payload of ${length} bytes > ${this.payloadBytesMax}`,
    );
    return this.enqueue(frameBytes(length))
      ? this.commitSend(this.sendBuffer.appendFrame(type, payload))
      : this.refusal();
  }

  /** Like send, with `messages` packed into the payload (`[u32 length][bytes]` each; see pack.ts). */
  sendPacked(type: number, messages: readonly Uint8Array[]): SendStatus {
    assert(type >= APP_FRAME_TYPE_MIN && type <= 0xff, () => `application frame type ${type}`);
    let length = 0;
    for (const m of messages) length += 4 + m.length;
    assert(
      length <= this.payloadBytesMax,
      () => `packed payload of ${length} bytes > ${this.payloadBytesMax}`,
    );
    return this.enqueue(frameBytes(length))
      ? this.commitSend(this.sendBuffer.appendPacked(type, messages))
      : this.refusal();
  }

  /** Stops delivering frames (and reading the socket) until resume(). */
  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  /** Resumes reading after pause() (once a frame handler is set). */
  resume(): void {
    if (this.closed) return;
    this.paused = false;
    if (this.frameHandler === undefined) return;
    this.lastHeardMs = Date.now();
    this.deliver();
    if (!this.paused && !this.closed) this.socket.resume();
  }

  /** Writes what is queued now rather than at the end of the tick. */
  flush(): void {
    this.flushScheduled = false;
    if (this.closed && this.socket.destroyed) return;
    const chunks = this.sendBuffer.take();
    if (chunks.length === 0) return;
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    this.inSocketBytes += bytes;
    this.stats.bytesOut += bytes;
    const done = (): void => {
      this.inSocketBytes -= bytes;
      assert(this.inSocketBytes >= 0, () => `in-socket bytes ${this.inSocketBytes}`);
      this.stats.queuedBytes = this.queuedBytes;
      this.maybeDrain();
    };
    if (chunks.length === 1) {
      this.socket.write(chunks[0] as Buffer, done);
      return;
    }
    // cork/uncork turns the writes into one writev: one syscall, no concatenation.
    this.socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i] as Buffer);
    this.socket.write(chunks[chunks.length - 1] as Buffer, done);
    this.socket.uncork();
  }

  /** Closes gracefully: what is queued is still written, then the socket is ended. */
  close(): void {
    if (this.closed) return;
    this.finish(CloseReason.LOCAL);
    this.flush();
    this.socket.end();
    // Keep reading (and discarding, see onData) so the peer's end is seen even if reading was
    // paused; a peer that never ends is cut off after the grace period. The timer is not unref'd:
    // it bounds how long the socket lives, and a server's close() waits for it.
    this.socket.resume();
    const grace = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    this.socket.once('close', () => clearTimeout(grace));
  }

  private abort(reason: CloseReason, error?: NetError): void {
    if (error !== undefined) this.stats.closeCode = error.code;
    this.finish(reason, error);
    this.socket.destroy();
  }

  private finish(reason: CloseReason, error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.stats.closeReason = reason;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.options.log(reason === 'LOCAL' ? 'debug' : 'info', 'connection closed', {
      peer: this.peer.name,
      role: this.peer.role,
      reason,
      code: this.stats.closeCode,
      error: error?.message,
    });
    const waiter = this.drainWaiter;
    this.drainWaiter = undefined;
    waiter?.reject(new NetError('CLOSED', `connection closed (${reason}) before draining`));
    for (const handler of this.closeHandlers.splice(0)) handler(reason, error);
    this.drainHandlers.length = 0;
  }

  private enqueue(size: number): boolean {
    if (this.closed) return false;
    return this.queuedBytes + size <= this.options.sendQueueBytesMax;
  }

  private refusal(): SendStatus {
    if (this.closed) return SendStatus.CLOSED;
    this.stats.sendsRefused += 1;
    this.needDrain = true;
    return SendStatus.BACKPRESSURE;
  }

  private commitSend(size: number): SendStatus {
    assert(
      this.queuedBytes <= this.options.sendQueueBytesMax,
      () => `queue ${this.queuedBytes} > ${this.options.sendQueueBytesMax}`,
    );
    this.stats.framesOut += 1;
    this.stats.queuedBytes = this.queuedBytes;
    if (this.stats.queuedBytes > this.stats.queuedBytesHigh)
      this.stats.queuedBytesHigh = this.stats.queuedBytes;
    this.sentSinceTick = true;
    assert(size > 0, 'empty frame');
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushNow);
    }
    return SendStatus.OK;
  }

  private maybeDrain(): void {
    if (!this.needDrain || this.closed || this.queuedBytes > this.options.sendQueueBytesMax / 2)
      return;
    this.needDrain = false;
    const waiter = this.drainWaiter;
    this.drainWaiter = undefined;
    waiter?.resolve();
    for (const handler of this.drainHandlers) handler();
  }

  private sendControl(type: NetFrameType): void {
    if (!this.enqueue(frameBytes(0))) return; // a full queue is not idle: no ping is needed
    this.commitSend(this.sendBuffer.appendFrame(type, EMPTY));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return; // after close() input is discarded, not buffered
    this.stats.bytesIn += chunk.length;
    this.receivedSinceTick = true;
    try {
      this.decoder.push(chunk);
    } catch (error) {
      this.onBadFrame(error);
      return;
    }
    this.deliver();
  }

  /** Delivers decoded frames until the decoder needs more bytes, or reading is paused. */
  private deliver(): void {
    // Bounded: each turn consumes one frame of the bytes buffered.
    while (!this.paused && !this.closed) {
      let frame;
      try {
        frame = this.decoder.next();
      } catch (error) {
        this.onBadFrame(error);
        return;
      }
      if (frame === undefined) return;
      this.stats.framesIn += 1;
      if (frame.type >= APP_FRAME_TYPE_MIN) {
        assert(this.frameHandler !== undefined, 'a frame arrived before onFrame was set');
        this.frameHandler(frame.type, frame.payload);
      } else if (frame.type === NetFrameType.PING) {
        this.sendControl(NetFrameType.PONG);
      } else if (frame.type !== NetFrameType.PONG) {
        this.onBadFrame(
          new NetError('FRAME_MALFORMED', `reserved frame type ${frame.type} after the handshake`),
        );
      }
    }
  }

  private onBadFrame(error: unknown): void {
    if (!(error instanceof NetError)) throw error;
    this.stats.badFrames += 1;
    this.options.log('warn', 'bad frame, closing connection', {
      peer: this.peer.name,
      code: error.code,
      remote: this.remoteAddress,
    });
    this.abort(CloseReason.BAD_FRAME, error);
  }

  private onHeartbeat(): void {
    const now = Date.now();
    const heard = this.receivedSinceTick || this.paused;
    if (heard) {
      this.receivedSinceTick = false;
      this.pingedSinceHeard = false;
      this.lastHeardMs = now;
    } else if (this.pingedSinceHeard && now - this.lastHeardMs >= this.options.deadAfterMs) {
      // The peer had a ping to answer and a tick to answer it in; a stalled event loop of
      // ours (a late first tick) therefore cannot by itself declare the peer dead.
      this.options.log('warn', 'peer silent, closing connection', {
        peer: this.peer.name,
        silentMs: now - this.lastHeardMs,
      });
      this.abort(CloseReason.TIMEOUT);
      return;
    }
    // Ping when idle, and also once into any silence even while busy sending (data alone gets
    // no answer, and a peer that reads but cannot write would otherwise look alive forever).
    if (!this.sentSinceTick || (!heard && !this.pingedSinceHeard)) {
      this.stats.pingsOut += 1;
      this.pingedSinceHeard = true;
      this.sendControl(NetFrameType.PING);
    }
    this.sentSinceTick = false;
  }
}

const EMPTY = Buffer.alloc(0);
