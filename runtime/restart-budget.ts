/**
 * The restart policy of the supervisor (pure: the caller passes the time): at most
 * `restartsMax` restarts within any `windowMs`, each after an exponential backoff
 * (`backoffMs` doubled per restart still in the window, capped at `backoffMsMax`). Once the
 * bound is spent the supervisor marks the actor or worker failed instead of looping.
 */
import { assert } from './assert';

export interface SupervisionOptions {
  /** Restarts allowed within `windowMs` before the actor or worker is marked failed. */
  readonly restartsMax: number;
  readonly windowMs: number;
  /** Delay before the first restart; doubled for each restart still in the window. */
  readonly backoffMs: number;
  readonly backoffMsMax: number;
}

export const SUPERVISION_DEFAULTS: SupervisionOptions = {
  restartsMax: 5,
  windowMs: 60_000,
  backoffMs: 100,
  backoffMsMax: 5_000,
};

export class RestartBudget {
  /** Times of the restarts granted within the window, oldest first. */
  private readonly granted: number[] = [];
  private total = 0;

  constructor(private readonly options: SupervisionOptions) {
    assert(options.restartsMax >= 0 && options.windowMs > 0, 'bad supervision bounds');
    assert(options.backoffMs >= 0 && options.backoffMsMax >= options.backoffMs, 'bad backoff');
  }

  /** Grants one more restart and returns its delay, or undefined when the bound is spent. */
  next(now: number): number | undefined {
    while (this.granted.length > 0 && (this.granted[0] ?? now) <= now - this.options.windowMs) {
      this.granted.shift();
    }
    if (this.granted.length >= this.options.restartsMax) return undefined;
    const delay = Math.min(
      this.options.backoffMsMax,
      this.options.backoffMs * 2 ** this.granted.length,
    );
    this.granted.push(now);
    this.total++;
    assert(this.granted.length <= this.options.restartsMax, `${this.granted.length} restarts`);
    return delay;
  }

  /** An operator restart starts a fresh budget. */
  reset(): void {
    this.granted.length = 0;
  }

  /** Restarts granted since creation. */
  get restarts(): number {
    return this.total;
  }
}
