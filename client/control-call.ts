/**
 * One control request (route table, status, fault injection) on its own short-lived
 * connection: dial, ask, answer, close. Used by connect() to learn the route table and by
 * `paxosstore status`.
 */
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
  try {
    return await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new ControlCallError('UNAVAILABLE', `no answer to ${op} within ${target.timeoutMs} ms`),
          ),
        target.timeoutMs,
      );
      conn.onClose((reason) => {
        clearTimeout(timer);
        reject(
          new ControlCallError(
            'UNAVAILABLE',
            `connection closed (${reason}) before the answer to ${op}`,
          ),
        );
      });
      conn.onFrame((type, payload) => {
        if (type !== FrameType.controlResult) return;
        clearTimeout(timer);
        try {
          const res = decodeControlResult(payload);
          if (res.ok) resolve(res.value);
          else reject(new ControlCallError(res.code, res.message));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      if (
        conn.send(
          FrameType.control,
          encodeJson({ id: 1, op, ...(args === undefined ? {} : { args }) }),
        ) !== 'OK'
      ) {
        clearTimeout(timer);
        reject(new ControlCallError('UNAVAILABLE', `could not send ${op}`));
      }
    });
  } finally {
    conn.close();
  }
}
