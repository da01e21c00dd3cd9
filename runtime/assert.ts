/**
 * Assertions that stay on in production (STYLE.md §2).
 *
 * An assertion catches a programmer error. When one fails the actor crashes; nothing catches
 * it and carries on. Operating errors (bad input, peer unreachable) are typed results instead.
 */

/** Expensive (O(n)) checks run only when VERIFY is on: in tests and in the simulator. */
export let VERIFY: boolean =
  typeof process !== 'undefined' &&
  (process.env.PXS_VERIFY === '1' || process.env.NODE_ENV === 'test');

export function setVerify(on: boolean): void {
  VERIFY = on;
}

export class AssertionError extends Error {
  readonly code = 'ASSERTION_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

/**
 * `msg` may be a function so hot paths pay for building the message only when the assertion
 * fails (a template string argument is evaluated on every call).
 */
export function assert(cond: unknown, msg?: string | (() => string)): asserts cond {
  if (!cond)
    throw new AssertionError(typeof msg === 'function' ? msg() : (msg ?? 'assertion failed'));
}

/** Marks a branch that must be unreachable; the type checker proves exhaustiveness. */
export function unreachable(value: never, msg?: string): never {
  throw new AssertionError(msg ?? `unreachable: ${String(value)}`);
}
