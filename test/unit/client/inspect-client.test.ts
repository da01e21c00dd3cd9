/**
 * InspectClient (client/inspect-client.ts): every call is answered exactly once, by the node,
 * by its link going down, by its deadline, or by close(); calls in flight are bounded; answers
 * of the wrong shape are refused by the Set view (client/set-context.ts).
 */
import test from 'ava';
import { INSPECT_IN_FLIGHT_MAX, InspectClient } from '../../../client/inspect-client';
import { FrameType } from '../../../client/wire-protocol';
import { decodeInspect, encodeInspectAnswer } from '../../../client/inspect-protocol';
import type { InspectFrame } from '../../../client/inspect-protocol';
import type { NodeLink } from '../../../client/request-router';
import { inspectPortOf } from '../../../client/set-context';

class FakeLink implements NodeLink {
  up = true;
  sent: InspectFrame[] = [];
  private frames: ((type: number, payload: Uint8Array) => void)[] = [];
  private downs: ((reason: string) => void)[] = [];
  constructor(readonly name: string) {}
  isUp(): boolean {
    return this.up;
  }
  send(type: number, payload: Uint8Array): boolean {
    if (type === FrameType.inspect) this.sent.push(decodeInspect(payload));
    return this.up;
  }
  onFrame(h: (type: number, payload: Uint8Array) => void): void {
    this.frames.push(h);
  }
  onDown(h: (reason: string) => void): void {
    this.downs.push(h);
  }
  whenUp(): Promise<boolean> {
    return Promise.resolve(this.up);
  }
  deliver(answer: Parameters<typeof encodeInspectAnswer>[0]): void {
    for (const h of this.frames) h(FrameType.inspectResult, encodeInspectAnswer(answer));
  }
  down(): void {
    this.up = false;
    for (const h of this.downs) h('gone');
  }
}

function setup(timeoutMs = 10_000): { a: FakeLink; b: FakeLink; client: InspectClient } {
  const a = new FakeLink('a');
  const b = new FakeLink('b');
  const client = new InspectClient(
    new Map([
      ['a', a],
      ['b', b],
    ]),
    timeoutMs,
  );
  return { a, b, client };
}

test('answers are matched by id; a late or unknown answer is ignored', async (t) => {
  const { a, client } = setup();
  const one = client.inspect('a', 1, { kind: 'stats' });
  const two = client.inspect('a', 2, { kind: 'amnesia' });
  t.deepEqual(
    a.sent.map((f) => [f.group, f.request.kind]),
    [
      [1, 'stats'],
      [2, 'amnesia'],
    ],
  );
  const [first, second] = a.sent;
  a.deliver({ id: second?.id ?? -1, ok: false, code: 'UNAVAILABLE', message: 'x' });
  a.deliver({ id: first?.id ?? -1, ok: true, value: { keys: 1 } });
  a.deliver({ id: first?.id ?? -1, ok: true, value: { keys: 2 } });
  a.deliver({ id: 999, ok: true, value: 0 });
  t.deepEqual(await one, { ok: true, value: { keys: 1 } });
  t.like(await two, { ok: false, code: 'UNAVAILABLE' });
  t.is(client.inFlight, 0);
});

test('a link going down fails its calls only; a link down is not sent to', async (t) => {
  const { a, b, client } = setup();
  const onA = client.inspect('a', 0, { kind: 'stats' });
  const onB = client.inspect('b', 0, { kind: 'stats' });
  a.down();
  t.like(await onA, { ok: false, code: 'UNAVAILABLE' });
  t.is(client.inFlight, 1);
  const notSent = await client.inspect('a', 0, { kind: 'stats' });
  t.regex(notSent.ok ? '' : notSent.message, /not connected/);
  t.like(await client.inspect('zz', 0, { kind: 'stats' }), { ok: false });
  b.deliver({ id: b.sent[0]?.id ?? -1, ok: true, value: {} });
  t.like(await onB, { ok: true });
});

test('deadline, close and the in-flight bound each answer UNAVAILABLE', async (t) => {
  const slow = setup(20);
  const late = await slow.client.inspect('a', 0, { kind: 'stats' });
  t.regex(late.ok ? '' : late.message, /no answer/);
  const { client } = setup();
  const calls = Array.from({ length: INSPECT_IN_FLIGHT_MAX }, () =>
    client.inspect('b', 0, { kind: 'stats' }),
  );
  const over = await client.inspect('b', 0, { kind: 'stats' });
  t.regex(over.ok ? '' : over.message, /in flight/);
  client.close();
  const results = await Promise.all(calls);
  t.true(results.every((r) => !r.ok));
  const closed = await client.inspect('b', 0, { kind: 'stats' });
  t.regex(closed.ok ? '' : closed.message, /closed/);
});

test('the Set view maps actor ids to nodes and refuses answers of the wrong shape', async (t) => {
  const asked: [string, number][] = [];
  const port = inspectPortOf({
    nodes: ['n1', 'n2', 'n3'],
    groups: 4,
    isUp: () => true,
    call: () => Promise.reject(new Error('unused')),
    inspect: (node, group, request) => {
      asked.push([node, group]);
      return Promise.resolve({
        ok: true,
        value: request.kind === 'amnesia' ? { amnesic: false, clearable: true } : { bad: 1 },
      });
    },
  });
  // Actor ids are replica × groups + group (actors/paxos/placement.ts).
  t.like(await port.inspect(1 * 4 + 3, { kind: 'amnesia' }), { ok: true });
  t.like(await port.inspect(2 * 4 + 0, { kind: 'digest', buckets: 2 }), {
    ok: false,
    code: 'PROTOCOL',
  });
  t.like(await port.inspect(0, { kind: 'backup-page', limit: 2 }), { ok: false, code: 'PROTOCOL' });
  t.deepEqual(asked, [
    ['n2', 3],
    ['n3', 0],
    ['n1', 0],
  ]);
});

test("a paced digest scan (background repair) is not held to the client's deadline", async (t) => {
  const { a, client } = setup(20);
  const paced = client.inspect('a', 0, { kind: 'digest', buckets: 2, paced: true });
  const unpaced = client.inspect('a', 0, { kind: 'digest', buckets: 2 });
  t.like(await unpaced, { ok: false, code: 'UNAVAILABLE' }, 'the 20 ms deadline');
  await new Promise((resolve) => setTimeout(resolve, 40));
  t.is(client.inFlight, 1, 'the paced scan still waits for its answer');
  a.deliver({ id: a.sent[0]?.id ?? -1, ok: true, value: { keys: 3 } });
  t.deepEqual(await paced, { ok: true, value: { keys: 3 } });
  client.close();
});
