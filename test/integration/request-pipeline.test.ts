/**
 * RequestPipeline against a fake transport: batches split at PAYLOAD_SOFT_BYTES_MAX so no
 * payload comes near the runtime's limit, and a send that throws fails its requests with
 * UNAVAILABLE instead of throwing out of the flush microtask.
 */
import test from 'ava';
import { PayloadKind, readBatch, readRequest } from '../../actors/paxos/codec';
import { PAYLOAD_SOFT_BYTES_MAX, RequestPipeline } from '../../actors/store/request-pipeline';
import type { ClientTransport } from '../../actors/store/request-pipeline';
import { groupOfKey } from '../../actors/store/routing';
import { actorIdOf } from '../../actors/paxos/placement';

const PLACEMENT = { replicas: 3, groups: 4 };
/** The runtime's payload limit with its default 4 MiB rings. */
const RUNTIME_PAYLOAD_MAX = 2 * 1024 * 1024 - 8;

function fakeTransport(send: (to: number, payload: Uint8Array) => void): ClientTransport {
  return { send, onReceive: () => undefined };
}

function keysOfGroup0(n: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < n; i++)
    if (groupOfKey(`k${i}`, PLACEMENT.groups) === 0) keys.push(`k${i}`);
  return keys;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('large requests to one actor are split into payloads near the soft limit', async (t) => {
  const payloads: Uint8Array[] = [];
  const pipeline = new RequestPipeline(
    fakeTransport((_to, p) => payloads.push(p.slice())),
    PLACEMENT,
    60_000,
  );
  t.teardown(() => pipeline.close());
  const sizes = [
    256 * 1024,
    256 * 1024,
    256 * 1024,
    1024 * 1024,
    10,
    256 * 1024,
    256 * 1024,
    256 * 1024,
    256 * 1024,
    1024 * 1024,
  ];
  const keys = keysOfGroup0(sizes.length);
  sizes.forEach(
    (size, i) =>
      void pipeline.submit(0, { kind: 'write', key: keys[i] as string, op: new Uint8Array(size) }),
  );
  await tick();
  t.true(payloads.length > 1, `${payloads.length} payloads`);
  const seen: string[] = [];
  for (const p of payloads) {
    t.true(p.byteLength < RUNTIME_PAYLOAD_MAX, `${p.byteLength} bytes`);
    // Over the soft limit only when one request alone is bigger than it.
    const n = readBatch(p, PayloadKind.requests, readRequest, (req) => seen.push(req.key));
    if (p.byteLength > PAYLOAD_SOFT_BYTES_MAX + 1024)
      t.is(n, 1, `a ${p.byteLength}-byte payload holds one request`);
  }
  t.deepEqual(seen, keys, 'every request sent once, in order');
  t.is(pipeline.inFlight, sizes.length);
});

test('a send that throws fails that batch with UNAVAILABLE and does not throw', async (t) => {
  let fail = true;
  const sent: number[] = [];
  const pipeline = new RequestPipeline(
    fakeTransport((_to, p) => {
      if (fail) throw new Error('PXS_PAYLOAD_TOO_LARGE');
      sent.push(readBatch(p, PayloadKind.requests, readRequest, () => undefined));
    }),
    PLACEMENT,
    60_000,
  );
  t.teardown(() => pipeline.close());
  const [k0, k1] = keysOfGroup0(2) as [string, string];
  const errors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(' '));
  try {
    const write = pipeline.submit(0, { kind: 'write', key: k0, op: new Uint8Array(4) });
    const read = pipeline.submit(0, {
      kind: 'read',
      key: k1,
      query: new Uint8Array(1),
      consistency: 'linearizable',
    });
    const [w, r] = await Promise.all([write, read]);
    t.like(w, { ok: false, code: 'UNAVAILABLE' });
    t.like(r, { ok: false, code: 'UNAVAILABLE' });
    t.is(pipeline.inFlight, 0);
    t.is(errors.length, 1, 'logged once per failed batch');
  } finally {
    console.error = original;
  }
  // The pipeline keeps working once sends succeed again.
  fail = false;
  void pipeline.submit(0, { kind: 'write', key: k0, op: new Uint8Array(4) });
  await tick();
  t.deepEqual(sent, [1]);
});

test('failActors settles what a failed actor held: sent writes UNKNOWN_OUTCOME, reads and unsent requests UNAVAILABLE', async (t) => {
  const pipeline = new RequestPipeline(
    fakeTransport(() => undefined),
    PLACEMENT,
    60_000,
  );
  t.teardown(() => pipeline.close());
  const [k0, k1, k2] = keysOfGroup0(3) as [string, string, string];
  const actor = actorIdOf(1, 0, PLACEMENT);
  const write = pipeline.submit(1, { kind: 'write', key: k0, op: new Uint8Array(4) });
  const read = pipeline.submit(1, {
    kind: 'read',
    key: k1,
    query: new Uint8Array(1),
    consistency: 'linearizable',
  });
  const other = pipeline.submit(2, { kind: 'write', key: k0, op: new Uint8Array(4) });
  await tick();
  // Submitted, still batched (the flush microtask has not run): never sent.
  const unsent = pipeline.submit(1, { kind: 'write', key: k2, op: new Uint8Array(4) });
  pipeline.failActors(new Set([actor]), 'actor failed');
  t.like(await write, { ok: false, code: 'UNKNOWN_OUTCOME' });
  t.like(await read, { ok: false, code: 'UNAVAILABLE' });
  t.like(await unsent, { ok: false, code: 'UNAVAILABLE' });
  t.is(pipeline.inFlight, 1, 'the request to another replica is still in flight');
  pipeline.close();
  t.like(await other, { ok: false });
});

// The store hands the key's group it has already hashed (one hash per request, issue 10); the
// pipeline routes by it, and under VERIFY checks it against its own hash.
test('a request goes to the actor of the group it is given, checked under VERIFY', async (t) => {
  const sent: number[] = [];
  const pipeline = new RequestPipeline(
    fakeTransport((to) => sent.push(to)),
    PLACEMENT,
    60_000,
  );
  t.teardown(() => pipeline.close());
  const [key] = keysOfGroup0(1);
  if (key === undefined) return t.fail('no key of group 0');
  void pipeline.submit(1, { kind: 'write', key, op: new Uint8Array(4) }, 0);
  await tick();
  t.deepEqual(sent, [actorIdOf(1, 0, PLACEMENT)]);
  t.throws(() => void pipeline.submit(1, { kind: 'write', key, op: new Uint8Array(4) }, 1), {
    message: /group 1, expected 0/,
  });
});
