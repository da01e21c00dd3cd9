/**
 * The kv handle's answers, made where a result is received (issue 10, seventh session: one
 * promise per call, completions run by the request pipeline). The same cases run against the
 * embedded store's path (a backend with `callFor`, through a real RequestPipeline) and the
 * remote client's (a backend with `call` only, answered through ModelChannel's fallback): the
 * answers, the typed errors and their messages must be the same on both.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { KvNamespace } from '../../../../actors/store/kv';
import { PaxosStoreError } from '../../../../actors/store/errors';
import type { RequestBackend, RequestBody } from '../../../../actors/store/model-client';
import { RequestPipeline, resultAsIs } from '../../../../actors/store/request-pipeline';
import type { ClientTransport, Completion } from '../../../../actors/store/request-pipeline';
import {
  PayloadKind,
  beginBatch,
  endBatch,
  readBatch,
  readRequest,
  writeResult,
} from '../../../../actors/paxos/codec';
import type { ClientResult } from '../../../../actors/paxos/core/types';
import { kvStateMachine } from '../../../../models/kv/kv';
import { ModelTag, RESULT_WRONG_MODEL } from '../../../../models/model-tags';
import { createModelRegistry } from '../../../../models/registry';
import { splitRequestId } from '../../../../models/request-id';
import { ByteWriter } from '../../../../runtime/byte-codec';

const PLACEMENT = { replicas: 3, groups: 2 };

/**
 * One replica's worth of the kv model, applied in call order (no Paxos). `fault` answers a
 * request instead of the model when it returns something: a core failure, a raw result, or an
 * error to throw before the send.
 */
type Fault = (body: RequestBody) => ClientResult | Error | undefined;

function model() {
  const registry = createModelRegistry([[ModelTag.kv, kvStateMachine]]);
  const keys = new Map<string, { data: Uint8Array | null; version: number }>();
  const requests: RequestBody[] = [];
  return {
    requests,
    answer(token: number, body: RequestBody): ClientResult {
      requests.push(body);
      const rec = keys.get(body.key) ?? { data: null, version: 0 };
      if (body.kind === 'read')
        return { token, ok: true, result: registry.read(rec.data, rec.version, body.query) };
      const out = registry.apply(rec.data, rec.version, splitRequestId(body.op).op);
      keys.set(body.key, { data: out.data, version: out.mutated ? rec.version + 1 : rec.version });
      return { token, ok: true, result: out.result };
    },
  };
}

/** The remote client's shape: `call` only. */
function callOnlyBackend(fault: Fault) {
  const m = model();
  const backend: RequestBackend = {
    valueBytesMax: 1024,
    call(_replica, body) {
      const f = fault(body);
      if (f instanceof Error) return Promise.reject(f);
      return Promise.resolve(f ?? m.answer(0, body));
    },
  };
  return { backend, requests: m.requests, close: () => undefined };
}

/** The embedded store's shape: `callFor` into a real pipeline, answered a turn later. */
function pipelineBackend(fault: Fault) {
  const m = model();
  let receive: ((from: number, payload: Uint8Array) => void) | undefined;
  const transport: ClientTransport = {
    send(_to, payload) {
      const results: ClientResult[] = [];
      readBatch(payload, PayloadKind.requests, readRequest, (req) => {
        if (req.kind === 'scan') return;
        const body: RequestBody =
          req.kind === 'write'
            ? { kind: 'write', key: req.key, op: req.op }
            : { kind: 'read', key: req.key, query: req.query, consistency: req.consistency };
        const f = fault(body);
        results.push(
          f instanceof Error || f === undefined
            ? m.answer(req.token, body)
            : { ...f, token: req.token },
        );
      });
      setImmediate(() => {
        const w = new ByteWriter();
        const countAt = beginBatch(w, PayloadKind.results);
        for (const r of results) writeResult(w, r);
        const borrowed = endBatch(w, countAt, results.length);
        receive?.(0, borrowed);
        borrowed.fill(0xee); // the ring reuses its bytes once the handler returns
      });
    },
    onReceive(handler) {
      receive = handler;
    },
  };
  const pipeline = new RequestPipeline(transport, PLACEMENT, 60_000);
  const backend: RequestBackend = {
    valueBytesMax: 1024,
    call: (replica, body, transient) =>
      backend.callFor?.(replica, body, resultAsIs(transient === true), body.key) ??
      Promise.reject(new Error('no callFor')),
    callFor<T>(
      replica: number | undefined,
      body: RequestBody,
      completion: Completion<T>,
      shownKey: string,
    ): Promise<T> {
      // As PaxosStore.callFor: a refusal before the send rejects with what the completion makes of it.
      const f = fault(body);
      if (f instanceof Error) return Promise.reject(completion.refused(f, shownKey) as Error);
      return pipeline.submitFor(replica ?? 0, body, undefined, completion, shownKey);
    },
  };
  return { backend, requests: m.requests, close: () => pipeline.close() };
}

const BACKENDS = { 'call only (remote)': callOnlyBackend, 'callFor (embedded)': pipelineBackend };

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (error) {
    if (error instanceof PaxosStoreError) return { code: error.code, message: error.message };
    return { code: 'not typed', message: String(error) };
  }
  return { code: 'resolved', message: '' };
}

function kvOf(
  t: ExecutionContext,
  make: (typeof BACKENDS)[keyof typeof BACKENDS],
  fault: Fault = () => undefined,
) {
  const b = make(fault);
  t.teardown(() => b.close());
  return { kv: new KvNamespace('ns', b.backend, undefined), requests: b.requests };
}

for (const [name, make] of Object.entries(BACKENDS)) {
  test(`${name}: put, get, cas, incr and delete answer as the API says`, async (t) => {
    const { kv } = kvOf(t, make);
    const value = Buffer.from('hello');
    const put = kv.put('a', value);
    value.fill(0); // copied at the call
    t.deepEqual(await put, { version: 1 });
    const got = await kv.get('a');
    t.deepEqual(got, { value: Buffer.from('hello'), version: 1 });
    t.true(got?.value instanceof Buffer);
    t.is(await kv.get('missing'), undefined);
    t.deepEqual(await kv.cas('a', 1, 'bye'), { version: 2 });
    t.deepEqual(await codeOf(kv.cas('a', 1, 'again')), {
      code: 'VERSION_CONFLICT',
      message: 'a: version is 2',
    });
    t.deepEqual(await kv.incr('n', 5), { value: 5, version: 1 });
    t.deepEqual(await codeOf(kv.incr('a')), {
      code: 'WRONG_TYPE',
      message: 'a: the stored value is not an integer',
    });
    t.deepEqual(await kv.delete('a', { requestId: 'r1' }), { version: 3 });
    t.is(await kv.get('a', { consistency: 'local' }), undefined);
  });

  test(`${name}: bad input rejects INVALID_ARGUMENT without a request (never a throw)`, async (t) => {
    const { kv, requests } = kvOf(t, make);
    const calls: Promise<unknown>[] = [];
    t.notThrows(() => {
      calls.push(kv.put('', 'v'));
      calls.push(kv.put('k', 5 as unknown as string));
      calls.push(kv.put('k', 'v', { requestId: '' }));
      calls.push(kv.get('k', { consistency: 'strong' as 'local' }));
      calls.push(kv.cas('k', -1, 'v'));
      calls.push(kv.incr('k', 1.5));
      calls.push(kv.delete('k', 'opts' as unknown as undefined));
    });
    for (const call of calls) t.is((await codeOf(call)).code, 'INVALID_ARGUMENT');
    t.is(requests.length, 0);
  });

  test(`${name}: core failures keep their code and name the caller's key; refusals are typed`, async (t) => {
    let mode: 'fail' | 'wrong-model' | 'refuse' | 'typed-refusal' = 'fail';
    const fault: Fault = (body) => {
      if (mode === 'fail')
        return { token: 0, ok: false, code: 'UNKNOWN_OUTCOME', message: `${body.key} timed out` };
      if (mode === 'wrong-model')
        return { token: 0, ok: true, result: Uint8Array.of(RESULT_WRONG_MODEL) };
      if (mode === 'typed-refusal')
        return new PaxosStoreError('UNAVAILABLE', 'replica 0 is down for this key');
      return new Error('a bug below the handle');
    };
    const { kv } = kvOf(t, make, fault);
    t.deepEqual(await codeOf(kv.put('k', 'v')), {
      code: 'UNKNOWN_OUTCOME',
      message: 'k timed out',
    });
    t.deepEqual(await codeOf(kv.get('k')), { code: 'UNKNOWN_OUTCOME', message: 'k timed out' });
    mode = 'wrong-model';
    t.deepEqual(await codeOf(kv.put('k', 'v')), {
      code: 'WRONG_TYPE',
      message: 'k: the key holds another data model',
    });
    t.is((await codeOf(kv.get('k'))).code, 'WRONG_TYPE');
    mode = 'refuse';
    // An untyped failure below the handle: a write may have left (UNKNOWN_OUTCOME), a read not.
    t.is((await codeOf(kv.put('k', 'v'))).code, 'UNKNOWN_OUTCOME');
    t.is((await codeOf(kv.get('k'))).code, 'UNAVAILABLE');
    mode = 'typed-refusal';
    t.deepEqual(await codeOf(kv.put('k', 'v')), {
      code: 'UNAVAILABLE',
      message: 'replica 0 is down for this key',
    });
  });
}
