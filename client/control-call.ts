/**
 * One control request (route table, status, fault injection) on its own short-lived
 * connection: dial, ask, answer, close. Used by connect() to learn the route table and by
 * `paxosstore status`.
 */
import { assert } from '../runtime/assert';
import { dial } from '../net/dialer';
import type { NetLog } from '../net/errors';
import { silentLog } from '../net/errors';
import { FrameType, decodeControlResult, encodeJson } from './wire-protocol';
import type { ControlOp } from './wire-protocol';

export interface ControlTarget {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  readonly timeoutMs: number;
  readonly log?: NetLog;
}

export class ControlCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Resolves with the node's answer; rejects with a `code` (UNAUTHENTICATED, UNAVAILABLE, the node's own). */
export async function controlCall(
  target: ControlTarget,
  op: ControlOp,
  args?: unknown,
): Promise<unknown> {
  const [value] = await controlCalls(target, [{ op, args }]);
  return value;
}

/** Control requests asked at most at once on one connection. */
const CALLS_MAX = 16;

/**
 * Several control requests on one connection (one dial, one handshake): the answers in the
 * order asked. Rejects as controlCall does, with the first failure.
 */
export async function controlCalls(
  target: ControlTarget,
  calls: readonly { readonly op: ControlOp; readonly args?: unknown }[],
): Promise<unknown[]> {
  assert(calls.length >= 1 && calls.length <= CALLS_MAX, () => `${calls.length} control calls`);
  const log = target.log ?? silentLog;
  const conn = await dial({
    host: target.host,
    port: target.port,
    secret: target.secret,
    role: 'client',
    name: 'control',
    connectTimeoutMs: target.timeoutMs,
    handshakeTimeoutMs: target.timeoutMs,
    log,
  });
  const ops = calls.map((c) => c.op).join(', ');
  try {
    return await new Promise<unknown[]>((resolve, reject) => {
      const answers = new Map<number, unknown>();
      const timer = setTimeout(
        () =>
          reject(
            new ControlCallError(
              'UNAVAILABLE',
              `no answer to ${ops} within ${target.timeoutMs} ms`,
            ),
          ),
        target.timeoutMs,
      );
      const fail = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      conn.onClose((reason) =>
        fail(
          new ControlCallError(
            'UNAVAILABLE',
            `connection closed (${reason}) before the answer to ${ops}`,
          ),
        ),
      );
      conn.onFrame((type, payload) => {
        if (type !== FrameType.controlResult) return;
        try {
          const res = decodeControlResult(payload);
          if (!res.ok) return fail(new ControlCallError(res.code, res.message));
          if (res.id < 1 || res.id > calls.length) return; // not an id we asked: ignored
          answers.set(res.id, res.value);
          if (answers.size < calls.length) return;
          clearTimeout(timer);
          resolve(calls.map((_, i) => answers.get(i + 1)));
        } catch (error) {
          fail(error instanceof Error ? error : new Error(String(error)));
        }
      });
      calls.forEach(({ op, args }, i) => {
        const frame = encodeJson({ id: i + 1, op, ...(args === undefined ? {} : { args }) });
        if (conn.send(FrameType.control, frame) !== 'OK')
          fail(new ControlCallError('UNAVAILABLE', `could not send ${op}`));
      });
    });
  } finally {
    conn.close();
  }
}
