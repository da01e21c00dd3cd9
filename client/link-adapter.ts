/**
 * A node as the request router sees it (NodeLink), over net/'s ReconnectingLink: one
 * authenticated connection kept up with backoff, frames in, losses reported.
 */
import { ReconnectingLink } from '../net/reconnecting-link';
import type { DialOptions } from '../net/dialer';
import type { NetLog } from '../net/errors';
import type { NodeLink } from './request-router';

type FrameHandler = (type: number, payload: Uint8Array) => void;

export class NetNodeLink implements NodeLink {
  private frameHandlers: FrameHandler[] = [];
  private downHandlers: ((reason: string) => void)[] = [];
  private upWaiters: (() => void)[] = [];
  private readonly link: ReconnectingLink;

  constructor(
    readonly name: string,
    dial: DialOptions,
    log: NetLog,
    backoffMsMax = 1_000,
  ) {
    this.link = new ReconnectingLink({
      dial,
      log,
      backoffMsMax,
      onFrame: (type, payload) => {
        for (const h of this.frameHandlers) h(type, payload);
      },
      onDown: (reason) => {
        for (const h of this.downHandlers) h(String(reason));
      },
      onUp: () => {
        const waiters = this.upWaiters;
        this.upWaiters = [];
        for (const w of waiters) w();
      },
    });
  }

  isUp(): boolean {
    return this.link.isUp;
  }

  send(type: number, payload: Uint8Array): boolean {
    return this.link.send(type, payload) === 'OK';
  }

  onFrame(handler: FrameHandler): void {
    this.frameHandlers.push(handler);
  }

  onDown(handler: (reason: string) => void): void {
    this.downHandlers.push(handler);
  }

  /** Resolves true once the link is up, false after `timeoutMs`. */
  whenUp(timeoutMs: number): Promise<boolean> {
    if (this.link.isUp) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.upWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** The last dial's failure code, if any (UNAUTHENTICATED tells a wrong secret). */
  get stats(): ReconnectingLink['stats'] {
    return this.link.stats;
  }

  close(): void {
    this.link.close();
  }
}
