/**
 * A node's session with one client, over a fake connection: local or forwarded by the key's
 * Set, refusals before anything is proposed, batched results, control answers, bad frames.
 */
import test from 'ava';
import { ClientSession } from '../../../server/client-session';
import type { SessionServices } from '../../../server/client-session';
import {
  FrameType,
  ProtocolError,
  decodeControlResult,
  decodeResults,
  encodeJson,
  encodeRequests,
} from '../../../client/wire-protocol';
import type { WireRequest, WireResult } from '../../../client/wire-protocol';
import { encodeInstallOp } from '../../../models/install-op';
import { withRequestId } from '../../../models/request-id';
import type { RequestBody } from '../../../actors/store/model-client';
import { decodeInspectAnswer, encodeInspect, encodeTagged } from '../../../client/inspect-protocol';

function setup(): {
  session: ClientSession;
  frames: [number, Uint8Array][];
  local: RequestBody[];
  forwarded: RequestBody[];
} {
  const frames: [number, Uint8Array][] = [];
  const local: RequestBody[] = [];
  const forwarded: RequestBody[] = [];
  const services: SessionServices = {
    ownsKey: (key) => key.startsWith('mine'),
    local: (body) => {
      local.push(body);
      return Promise.resolve({ token: 0, ok: true, result: new Uint8Array([1]) });
    },
    forward: (body) => {
      forwarded.push(body);
      return Promise.resolve({ token: 0, ok: false, code: 'UNAVAILABLE', message: 'far away' });
    },
    scan: () => Promise.resolve({ token: 0, ok: true, result: new Uint8Array([2]) }),
    control: (req) =>
      req.op === 'routes'
        ? Promise.resolve({ version: 'v' })
        : Promise.reject(Object.assign(new Error('nope'), { code: 'INVALID_ARGUMENT' })),
    inspect: (frame) =>
      Promise.resolve(
        frame.group === 0
          ? { ok: true, value: { kind: frame.request.kind, bytes: new Uint8Array([7]) } }
          : { ok: false, code: 'INVALID_ARGUMENT', message: 'no group' },
      ),
  };
  const session = new ClientSession(
    { send: (type, payload) => frames.push([type, payload]) > 0, close: () => undefined },
    services,
  );
  return { session, frames, local, forwarded };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function results(frames: [number, Uint8Array][]): WireResult[] {
  return frames.filter(([type]) => type === FrameType.results).flatMap(([, p]) => decodeResults(p));
}

test("requests run locally or are forwarded by the key's Set; their results come back in one frame", async (t) => {
  const { session, frames, local, forwarded } = setup();
  const reqs: WireRequest[] = [
    { kind: 'write', token: 1, key: 'mine-a', op: Uint8Array.of(1, 0) },
    {
      kind: 'read',
      token: 2,
      key: 'other-b',
      query: Uint8Array.of(1),
      consistency: 'linearizable',
    },
  ];
  session.onFrame(FrameType.requests, encodeRequests(reqs));
  await settle();
  t.is(local.length, 1);
  t.is(forwarded.length, 1);
  t.is(frames.length, 1, 'one RESULTS frame for the batch');
  t.deepEqual(
    results(frames)
      .map((r) => [r.id, r.ok])
      .sort(),
    [
      [1, true],
      [2, false],
    ],
  );
});

test('bad keys and install ops are refused before anything is proposed', async (t) => {
  const { session, frames, local } = setup();
  const install = encodeInstallOp({ expectChosen: 1, version: 1, data: null, recent: [] });
  session.onFrame(
    FrameType.requests,
    encodeRequests([
      { kind: 'write', token: 1, key: 'x'.repeat(2000), op: Uint8Array.of(1) },
      { kind: 'write', token: 2, key: '', op: Uint8Array.of(1) },
      { kind: 'write', token: 3, key: 'mine-k', op: install },
      { kind: 'write', token: 4, key: 'mine-k', op: withRequestId('r1', install) },
    ]),
  );
  await settle();
  t.is(local.length, 0);
  t.deepEqual(
    results(frames).map((r) => (r.ok ? 'ok' : r.code)),
    ['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'],
  );
});

test('control requests are answered by id, errors with their code; a frame type a client may not send throws', async (t) => {
  const { session, frames } = setup();
  session.onFrame(FrameType.control, encodeJson({ id: 5, op: 'routes' }));
  session.onFrame(FrameType.control, encodeJson({ id: 6, op: 'status' }));
  await settle();
  const answers = frames
    .filter(([type]) => type === FrameType.controlResult)
    .map(([, p]) => decodeControlResult(p));
  t.deepEqual(answers, [
    { id: 5, ok: true, value: { version: 'v' } },
    { id: 6, ok: false, code: 'INVALID_ARGUMENT', message: 'nope' },
  ]);
  t.throws(() => session.onFrame(FrameType.peerMessages, new Uint8Array(4)), { code: 'PROTOCOL' });
  t.throws(() => session.onFrame(FrameType.requests, Uint8Array.of(1, 0, 0, 0, 9)), {
    code: 'PROTOCOL',
  });
});

test('inspect frames are answered by id with their bytes; a malformed one throws', async (t) => {
  const { session, frames } = setup();
  session.onFrame(
    FrameType.inspect,
    encodeInspect({ id: 5, group: 0, request: { kind: 'stats' } }),
  );
  session.onFrame(
    FrameType.inspect,
    encodeInspect({ id: 6, group: 1, request: { kind: 'stats' } }),
  );
  await settle();
  const answers = frames
    .filter(([type]) => type === FrameType.inspectResult)
    .map(([, p]) => decodeInspectAnswer(p));
  t.deepEqual(answers, [
    { id: 5, ok: true, value: { kind: 'stats', bytes: new Uint8Array([7]) } },
    { id: 6, ok: false, code: 'INVALID_ARGUMENT', message: 'no group' },
  ]);
  t.throws(
    () =>
      session.onFrame(
        FrameType.inspect,
        encodeTagged({ id: 7, group: 0, request: { kind: 'write', key: 'x' } }),
      ),
    { instanceOf: ProtocolError },
  );
});

test('big results are split over RESULTS frames far below the frame bound; none is lost', async (t) => {
  const frames: [number, Uint8Array][] = [];
  const session = new ClientSession(
    { send: (type, payload) => frames.push([type, payload]) > 0, close: () => undefined },
    {
      ownsKey: () => true,
      local: () => Promise.resolve({ token: 0, ok: true, result: new Uint8Array(1024 * 1024) }),
      forward: () => Promise.reject(new Error('unused')),
      scan: () => Promise.reject(new Error('unused')),
      control: () => Promise.reject(new Error('unused')),
      inspect: () => Promise.reject(new Error('unused')),
    },
  );
  const reqs: WireRequest[] = [1, 2, 3, 4, 5, 6].map((token) => ({
    kind: 'read',
    token,
    key: 'mine',
    query: Uint8Array.of(1),
    consistency: 'linearizable',
  }));
  session.onFrame(FrameType.requests, encodeRequests(reqs));
  await settle();
  t.true(frames.length >= 2, `${frames.length} frame(s) for 6 MiB of results`);
  t.true(
    frames.every(([, p]) => p.length <= 5 * 1024 * 1024),
    'each frame stays near the soft bound',
  );
  t.deepEqual(
    results(frames)
      .map((r) => r.id)
      .sort(),
    [1, 2, 3, 4, 5, 6],
  );
});
