/**
 * RequestPipeline against a fake transport: batches split at PAYLOAD_SOFT_BYTES_MAX so no
 * payload comes near the runtime's limit, and a send that throws fails its requests with
 * UNAVAILABLE instead of throwing out of the flush microtask.
 */
import test from 'ava';
import {
  PayloadKind,
  beginBatch,
  endBatch,
  readBatch,
  readRequest,
  writeResult,
} from '../../actors/paxos/codec';
import type { ClientRequest, ClientResult } from '../../actors/paxos/core/types';
import { PAYLOAD_SOFT_BYTES_MAX, RequestPipeline } from '../../actors/store/request-pipeline';
import type { ClientTransport, Completion, ResultBytes } from '../../actors/store/request-pipeline';
import { ByteWriter } from '../../runtime/byte-codec';
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

/** A transport that keeps the requests it is sent and answers them when the test says. */
function echoTransport(): ClientTransport & {
  requests: ClientRequest[];
  answer(results: ClientResult[]): void;
  deliver(payload: Uint8Array): void;
} {
  let handler: ((from: number, payload: Uint8Array) => void) | undefined;
  const requests: ClientRequest[] = [];
  return {
    requests,
    send: (_to, payload) =>
      void readBatch(payload, PayloadKind.requests, readRequest, (req) => {
        if (req.kind !== 'scan') requests.push(req);
      }),
    onReceive: (h) => {
      handler = h;
    },
    answer(results) {
      const w = new ByteWriter();
      const countAt = beginBatch(w, PayloadKind.results);
      for (const r of results) writeResult(w, r);
      // A borrowed payload, as the ring hands one out: overwritten once the handler returns.
      const payload = endBatch(w, countAt, results.length);
      handler?.(0, payload);
      payload.fill(0xee);
    },
    deliver(payload) {
      handler?.(0, payload);
    },
  };
}

/** A completion that counts its calls and answers with what it saw (or throws on `bad`). */
function countingCompletion(bytes: ResultBytes) {
  const calls: string[] = [];
  const completion: Completion<string> = {
    bytes,
    ok(result, token, key, shownKey) {
      calls.push(`ok ${token}`);
      if (result[0] === 0xbb) throw new Error(`bad result for ${shownKey}`);
      return `${key}/${shownKey}: ${Array.from(result).join(',')}`;
    },
    failed(code, message, token, key, shownKey) {
      calls.push(`failed ${token}`);
      return `${key}/${shownKey}: ${code} ${message}`;
    },
    refused: (error) => error,
  };
  return { calls, completion };
}

test('results are answered through their completion while the payload is read, exactly once', async (t) => {
  const transport = echoTransport();
  const pipeline = new RequestPipeline(transport, PLACEMENT, 60_000);
  t.teardown(() => pipeline.close());
  const [k0, k1, k2] = keysOfGroup0(3) as [string, string, string];
  const { calls, completion } = countingCompletion('borrowed');
  const write = (key: string) =>
    pipeline.submitFor(0, { kind: 'write', key, op: new Uint8Array(2) }, 0, completion, `<${key}>`);
  const a = write(k0);
  const b = write(k1);
  const c = write(k2);
  await tick();
  const [ta, tb, tc] = transport.requests.map((r) => r.token) as [number, number, number];
  transport.answer([
    { token: ta, ok: true, result: Uint8Array.of(1, 2, 3) },
    { token: tb, ok: false, code: 'OVERLOADED', message: `${k1} is busy` },
    { token: tc, ok: true, result: Uint8Array.of(0xbb) },
    // An answer for a token that is not in flight is skipped, bytes and all.
    { token: 12345, ok: true, result: Uint8Array.of(9) },
  ]);
  t.is(await a, `${k0}/<${k0}>: 1,2,3`, 'the borrowed bytes were read before the payload changed');
  t.is(await b, `${k1}/<${k1}>: OVERLOADED ${k1} is busy`);
  await t.throwsAsync(c, { message: `bad result for <${k2}>` });
  // A second answer to a settled request changes nothing.
  transport.answer([{ token: ta, ok: true, result: Uint8Array.of(7) }]);
  t.deepEqual(calls, [`ok ${ta}`, `failed ${tb}`, `ok ${tc}`]);
  t.is(pipeline.inFlight, 0);
});

test('submit answers with the core result as it is; copied bytes outlive the payload', async (t) => {
  const transport = echoTransport();
  const pipeline = new RequestPipeline(transport, PLACEMENT, 60_000);
  t.teardown(() => pipeline.close());
  const [key] = keysOfGroup0(1) as [string];
  const copied = pipeline.submit(0, { kind: 'write', key, op: new Uint8Array(2) });
  const transient = pipeline.submit(0, { kind: 'write', key, op: new Uint8Array(2) }, 0, true);
  await tick();
  const [t1, t2] = transport.requests.map((r) => r.token) as [number, number];
  transport.answer([
    { token: t1, ok: true, result: Uint8Array.of(4, 5) },
    { token: t2, ok: true, result: Uint8Array.of(6) },
  ]);
  t.deepEqual(await copied, { token: t1, ok: true, result: Uint8Array.of(4, 5) });
  t.deepEqual(await transient, { token: t2, ok: true, result: Uint8Array.of(6) });
});

test('the backstop fails a request with no answer once, and a late answer is ignored', async (t) => {
  const transport = echoTransport();
  // A 1 ms timeout: the sweep (every 100 ms) finds both past their deadline (+250 ms grace).
  const pipeline = new RequestPipeline(transport, PLACEMENT, 1);
  // The sweep's timer does not hold the process open (a store's workers do): this one does.
  const keepAlive = setTimeout(() => undefined, 10_000);
  t.teardown(() => {
    clearTimeout(keepAlive);
    pipeline.close();
  });
  const [k0, k1] = keysOfGroup0(2) as [string, string];
  const { calls, completion } = countingCompletion('copy');
  const write = pipeline.submitFor(
    0,
    { kind: 'write', key: k0, op: new Uint8Array(2) },
    0,
    completion,
    k0,
  );
  const read = pipeline.submitFor(
    0,
    { kind: 'read', key: k1, query: new Uint8Array(1), consistency: 'linearizable' },
    0,
    completion,
    k1,
  );
  t.is(await write, `${k0}/${k0}: UNKNOWN_OUTCOME no answer from the replica in time`);
  t.is(await read, `${k1}/${k1}: UNAVAILABLE no answer from the replica in time`);
  transport.answer(
    transport.requests.map((r) => ({ token: r.token, ok: true, result: Uint8Array.of(1) })),
  );
  t.is(calls.length, 2, 'each answered once');
  t.is(pipeline.inFlight, 0);
});

test('close and failReplica answer each request in flight once; a closed pipeline answers at once', async (t) => {
  const transport = echoTransport();
  const pipeline = new RequestPipeline(transport, PLACEMENT, 60_000);
  const keys = keysOfGroup0(2100);
  const { calls, completion } = countingCompletion('copy');
  // More than the ring's first 1024 slots, all in flight at once: the ring grows to hold them.
  const answers = keys.map((key, i) =>
    pipeline.submitFor(i % 3, { kind: 'write', key, op: new Uint8Array(2) }, 0, completion, key),
  );
  await tick();
  t.is(pipeline.inFlight, keys.length);
  pipeline.failReplica(1, 'replica 1 crashed');
  t.is(pipeline.inFlight, keys.length - Math.floor((keys.length + 1) / 3));
  pipeline.close();
  t.is(pipeline.inFlight, 0);
  const results = await Promise.all(answers);
  results.forEach((r, i) =>
    t.true(
      r.endsWith(
        i % 3 === 1 ? 'UNKNOWN_OUTCOME replica 1 crashed' : 'UNKNOWN_OUTCOME store closed',
      ),
      r,
    ),
  );
  t.is(calls.length, keys.length, 'one answer per request');
  const late = pipeline.submitFor(
    0,
    { kind: 'write', key: keys[0] as string, op: new Uint8Array(2) },
    0,
    completion,
    'late',
  );
  t.regex(await late, /UNAVAILABLE store closed$/);
});

test('a result that cannot be read leaves its request in flight, for the backstop or close to answer', async (t) => {
  const transport = echoTransport();
  const pipeline = new RequestPipeline(transport, PLACEMENT, 60_000);
  t.teardown(() => pipeline.close());
  const [key] = keysOfGroup0(1) as [string];
  const { calls, completion } = countingCompletion('borrowed');
  const write = pipeline.submitFor(
    0,
    { kind: 'write', key, op: new Uint8Array(2) },
    0,
    completion,
    key,
  );
  await tick();
  const token = transport.requests[0]?.token ?? 0;
  // One result whose bytes field claims more bytes than the payload holds.
  const w = new ByteWriter();
  const countAt = beginBatch(w, PayloadKind.results);
  w.f64(token);
  w.u8(1);
  w.u32(1000);
  w.u8(7);
  t.throws(() => transport.deliver(endBatch(w, countAt, 1)), { message: /past/ });
  t.is(pipeline.inFlight, 1, 'still in flight');
  t.deepEqual(calls, []);
  pipeline.close();
  t.regex(await write, /UNKNOWN_OUTCOME store closed$/);
  t.deepEqual(calls, [`failed ${token}`]);
});
