/**
 * Runs a handshake state machine (handshake.ts) over a socket. Until it completes, frames are
 * limited to HANDSHAKE_FRAME_BYTES_MAX and only handshake frames are read; the deadline bounds
 * how long a silent or slow peer can hold the socket. On success the socket is left paused and
 * the decoder (with any bytes that arrived behind the last handshake frame) is handed on to the
 * FramedConnection. On failure a FAILURE frame tells the other side why (when the code has a
 * wire number), and the socket is closed.
 */
import type { Socket } from 'node:net';
import { assert } from '../runtime/assert';
import { NetError } from './errors';
import { FrameDecoder, HANDSHAKE_FRAME_BYTES_MAX, NetFrameType, encodeFrame } from './frame';
import { failureFor } from './handshake';
import type { HandshakeStep, PeerIdentity } from './handshake';

export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 5_000;
const FAILURE_GRACE_MS = 1_000;

export interface HandshakeMachine {
  step(type: number, payload: Buffer): HandshakeStep;
}

export interface HandshakeResult {
  readonly peer: PeerIdentity;
  readonly decoder: FrameDecoder;
}

/**
 * Drives `machine` on `socket` (after sending `first`, the server's HELLO, if given). Rejects
 * with the machine's NetError, HANDSHAKE_TIMEOUT, HANDSHAKE_MALFORMED for a bad frame, or
 * UNAVAILABLE if the socket closes first.
 */
export function driveHandshake(
  socket: Socket,
  machine: HandshakeMachine,
  first: HandshakeStep | undefined,
  timeoutMs: number,
): Promise<HandshakeResult> {
  assert(Number.isInteger(timeoutMs) && timeoutMs > 0, () => `handshake timeout ${timeoutMs}`);
  const decoder = new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX);
  return new Promise((resolve, reject) => {
    let settled = false;
    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const fail = (error: NetError): void => {
      if (settled) return;
      cleanup();
      socket.on('error', () => {}); // late errors of a socket we are discarding
      const failure = failureFor(error);
      if (failure !== undefined && !socket.destroyed)
        socket.end(encodeFrame(NetFrameType.FAILURE, failure));
      else socket.destroy();
      setTimeout(() => socket.destroy(), FAILURE_GRACE_MS).unref();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      const outcome = feedHandshake(decoder, machine, socket, chunk);
      if (outcome instanceof NetError) return fail(outcome);
      if (outcome === undefined) return;
      socket.pause();
      cleanup();
      resolve({ peer: outcome, decoder });
    };
    const onClose = (): void =>
      fail(new NetError('UNAVAILABLE', 'connection closed during the handshake'));
    const onError = (error: Error): void =>
      fail(new NetError('UNAVAILABLE', `socket error during the handshake: ${error.message}`));
    const timer = setTimeout(
      () => fail(new NetError('HANDSHAKE_TIMEOUT', `no handshake within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
    if (first?.send !== undefined) socket.write(encodeFrame(first.send.type, first.send.payload));
  });
}

/**
 * Feeds one chunk: steps the machine for every complete frame, writing what it asks to send.
 * Returns the peer once done, a NetError on failure, undefined while more bytes are needed.
 */
function feedHandshake(
  decoder: FrameDecoder,
  machine: HandshakeMachine,
  socket: Socket,
  chunk: Buffer,
): PeerIdentity | NetError | undefined {
  try {
    decoder.push(chunk);
    // Bounded: each turn consumes a frame; the machine finishes or fails within three.
    for (let turn = 0; turn < 4; turn++) {
      const frame = decoder.next();
      if (frame === undefined) return undefined;
      const step = machine.step(frame.type, frame.payload);
      if (step.send !== undefined) socket.write(encodeFrame(step.send.type, step.send.payload));
      if (step.done !== undefined) return step.done;
    }
    return new NetError('HANDSHAKE_MALFORMED', 'too many handshake frames');
  } catch (error) {
    if (!(error instanceof NetError)) throw error;
    // A frame-level error during the handshake is a malformed handshake.
    return error.code.startsWith('FRAME_')
      ? new NetError('HANDSHAKE_MALFORMED', error.message)
      : error;
  }
}
