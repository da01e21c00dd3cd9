/**
 * A ReconnectingLink keeps one outbound connection to one address up: it dials, and when the
 * connection fails or closes it dials again after an exponential backoff with jitter, capped at
 * `backoffMsMax`. It reports up and down. `send` never queues while the link is down: it fails
 * fast with 'UNAVAILABLE' (the caller, e.g. Paxos, has its own retries and must not see stale
 * messages delivered after a reconnect); while up, the connection's bounded queue applies.
 */
import { assert } from '../runtime/assert';
import { NetError, silentLog } from './errors';
import type { NetLog } from './errors';
import type { CloseReason, FrameHandler, FramedConnection } from './connection';
import type { Payload } from './frame';
import { dial } from './dialer';
import type { DialOptions } from './dialer';
import type { PeerIdentity } from './handshake';

export const LinkSendStatus = {
  OK: 'OK',
  BACKPRESSURE: 'BACKPRESSURE',
  UNAVAILABLE: 'UNAVAILABLE',
} as const;
export type LinkSendStatus = (typeof LinkSendStatus)[keyof typeof LinkSendStatus];

export interface ReconnectingLinkOptions {
  readonly dial: DialOptions;
  readonly backoffMsMin?: number;
  readonly backoffMsMax?: number;
  /** A number in [0, 1) for the jitter; injectable so tests are deterministic. */
  readonly random?: () => number;
  readonly log?: NetLog;
  readonly onFrame?: FrameHandler;
  readonly onUp?: (peer: PeerIdentity) => void;
  readonly onDown?: (reason: CloseReason | NetError['code']) => void;
}

export interface LinkStats {
  dials: number;
  dialFailures: number;
  ups: number;
  downs: number;
  sendsUnavailable: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 = first retry): "equal jitter", half of the
 * capped exponential step fixed and half random, so retries neither synchronise across nodes
 * nor collapse to zero.
 */
export function backoffDelayMs(
  attempt: number,
  minMs: number,
  maxMs: number,
  random01: number,
): number {
  assert(Number.isInteger(attempt) && attempt >= 0, () => `attempt ${attempt}`);
  assert(minMs >= 1 && maxMs >= minMs && random01 >= 0 && random01 < 1, 'backoff arguments');
  const step = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  const delay = Math.floor(step / 2 + random01 * (step / 2));
  assert(delay >= 0 && delay <= maxMs, () => `backoff ${delay} outside 0..${maxMs}`);
  return delay;
}

export class ReconnectingLink {
  readonly stats: LinkStats = { dials: 0, dialFailures: 0, ups: 0, downs: 0, sendsUnavailable: 0 };
  private connection: FramedConnection | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoffMsMin: number;
  private readonly backoffMsMax: number;
  private readonly log: NetLog;

  constructor(private readonly options: ReconnectingLinkOptions) {
    this.backoffMsMin = options.backoffMsMin ?? 50;
    this.backoffMsMax = options.backoffMsMax ?? 5_000;
    if (
      !Number.isInteger(this.backoffMsMin) ||
      this.backoffMsMin < 1 ||
      !Number.isInteger(this.backoffMsMax) ||
      this.backoffMsMax < this.backoffMsMin
    ) {
      throw new NetError(
        'INVALID_OPTIONS',
        `backoff ${this.backoffMsMin}..${this.backoffMsMax} ms`,
      );
    }
    this.log = options.log ?? silentLog;
    this.dialOnce();
  }

  get isUp(): boolean {
    return this.connection !== undefined;
  }

  /** The current connection, if up (for stats, whenDrained or sendPacked). */
  get current(): FramedConnection | undefined {
    return this.connection;
  }

  send(type: number, payload: Payload): LinkSendStatus {
    const connection = this.connection;
    if (connection === undefined) {
      this.stats.sendsUnavailable += 1;
      return LinkSendStatus.UNAVAILABLE;
    }
    const status = connection.send(type, payload);
    return status === 'CLOSED' ? LinkSendStatus.UNAVAILABLE : status;
  }

  /** Closes the connection and stops reconnecting. */
  close(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.connection?.close();
  }

  private dialOnce(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.stats.dials += 1;
    dial({ log: this.log, ...this.options.dial }).then(
      (connection) => this.onConnected(connection),
      (error: unknown) => {
        if (!(error instanceof NetError)) throw error;
        this.stats.dialFailures += 1;
        const level = error.code === 'UNAVAILABLE' ? 'debug' : 'error';
        this.log(level, 'dial failed', {
          host: this.options.dial.host,
          port: this.options.dial.port,
          code: error.code,
        });
        this.retry(error.code);
      },
    );
  }

  private onConnected(connection: FramedConnection): void {
    if (this.stopped) {
      connection.close();
      return;
    }
    assert(this.connection === undefined, 'two connections on one link');
    this.connection = connection;
    this.attempt = 0;
    this.stats.ups += 1;
    connection.onClose((reason) => {
      assert(this.connection === connection, 'close of a connection not current');
      this.connection = undefined;
      this.stats.downs += 1;
      this.options.onDown?.(reason);
      this.retry(reason);
    });
    connection.onFrame(this.options.onFrame ?? (() => {}));
    this.options.onUp?.(connection.peer);
  }

  private retry(reason: string): void {
    if (this.stopped) return;
    assert(this.timer === undefined, 'a retry already scheduled');
    const delay = backoffDelayMs(
      this.attempt,
      this.backoffMsMin,
      this.backoffMsMax,
      (this.options.random ?? Math.random)(),
    );
    this.attempt += 1;
    this.log('debug', 'reconnecting', { reason, delayMs: delay, attempt: this.attempt });
    this.timer = setTimeout(() => this.dialOnce(), delay);
  }
}
