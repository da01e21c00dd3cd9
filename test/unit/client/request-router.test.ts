/**
 * The cluster client's router over fake node links: which node gets a request, what fails
 * over, and what answers UNKNOWN_OUTCOME. No sockets: the links are in memory.
 */
import test from 'ava';
import { RequestRouter } from '../../../client/request-router';
import type { NodeLink } from '../../../client/request-router';
import { FrameType, decodeRequests, encodeResults } from '../../../client/wire-protocol';
import type { WireRequest, WireResult } from '../../../client/wire-protocol';

class FakeLink implements NodeLink {
  up = true;
  accept = true;
  readonly received: WireRequest[] = [];
  frames = 0;
  private frameHandler: ((type: number, payload: Uint8Array) => void) | undefined;
  private downHandler: ((reason: string) => void) | undefined;

  constructor(readonly name: string) {}
  isUp(): boolean {
    return this.up;
  }
  send(type: number, payload: Uint8Array): boolean {
    if (!this.up || !this.accept) return false;
    if (type === FrameType.requests) {
      this.frames++;
      this.received.push(...decodeRequests(payload));
    }
    return true;
  }
  onFrame(handler: (type: number, payload: Uint8Array) => void): void {
    this.frameHandler = handler;
  }
  onDown(handler: (reason: string) => void): void {
    this.downHandler = handler;
  }
  reply(results: WireResult[]): void {
    this.frameHandler?.(FrameType.results, encodeResults(results));
  }
  private upWaiters: ((up: boolean) => void)[] = [];
  whenUp(timeoutMs: number): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    return new Promise((resolve) => {
      setTimeout(() => resolve(false), timeoutMs);
      this.upWaiters.push(resolve);
    });
  }
  bringUp(): void {
    this.up = true;
    for (const w of this.upWaiters.splice(0)) w(true);
  }
  drop(): void {
    this.up = false;
    this.downHandler?.('test');
  }
}

function setup(timeoutMs = 60_000): {
  a: FakeLink;
  b: FakeLink;
  c: FakeLink;
  router: RequestRouter;
} {
  const a = new FakeLink('a');
  const b = new FakeLink('b');
  const c = new FakeLink('c');
  const links = new Map<string, NodeLink>([
    ['a', a],
    ['b', b],
    ['c', c],
  ]);
  const router = new RequestRouter(links, () => ['a', 'b', 'c'], timeoutMs);
  return { a, b, c, router };
}

const write = { kind: 'write' as const, key: 'k', op: new Uint8Array([1, 2]) };
const read = {
  kind: 'read' as const,
  key: 'k',
  query: new Uint8Array([3]),
  consistency: 'linearizable' as const,
};
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('requests of one microtask go to the first node in one frame, and results match by id', async (t) => {
  const { a, b, router } = setup();
  const calls = [router.call(write), router.call(read), router.call(write)];
  await tick();
  t.is(a.frames, 1);
  t.is(a.received.length, 3);
  t.is(b.received.length, 0);
  const [w1, r, w2] = a.received;
  a.reply([
    { id: w2?.token ?? -1, ok: true, result: new Uint8Array([22]) },
    { id: w1?.token ?? -1, ok: true, result: new Uint8Array([11]) },
    { id: r?.token ?? -1, ok: false, code: 'VERSION_CONFLICT', message: 'x' },
  ]);
  const [x, y, z] = await Promise.all(calls);
  t.deepEqual(x.ok ? [...x.result] : null, [11]);
  t.deepEqual(z.ok ? [...z.result] : null, [22]);
  t.like(y, { ok: false, code: 'VERSION_CONFLICT' });
  router.close();
});

test('a node that is down or answers UNAVAILABLE is skipped: the next node serves', async (t) => {
  const { a, b, c, router } = setup();
  a.up = false;
  const call = router.call(write);
  await tick();
  t.is(a.received.length, 0);
  b.reply([
    { id: b.received[0]?.token ?? -1, ok: false, code: 'UNAVAILABLE', message: 'no majority' },
  ]);
  await tick();
  await tick();
  t.is(c.received.length, 1, 'UNAVAILABLE applied nothing: the write may go to the next node');
  c.reply([{ id: c.received[0]?.token ?? -1, ok: true, result: new Uint8Array() }]);
  t.true((await call).ok);
  t.is(router.stats.failovers, 1);
  router.close();
});

test('a write in flight on a lost connection answers UNKNOWN_OUTCOME and is not resent; a read goes on', async (t) => {
  const { a, b, router } = setup();
  const w = router.call(write);
  const r = router.call(read);
  await tick();
  t.is(a.received.length, 2);
  a.drop();
  t.like(await w, { ok: false, code: 'UNKNOWN_OUTCOME' });
  await tick();
  t.is(b.received.length, 1, 'only the read is sent again');
  t.is(b.received[0]?.kind, 'read');
  b.reply([{ id: b.received[0]?.token ?? -1, ok: true, result: new Uint8Array([7]) }]);
  t.true((await r).ok);
  router.close();
});

test('a frame the link does not take counts as not sent: the next node gets it, even a write', async (t) => {
  const { a, b, router } = setup();
  a.accept = false;
  const w = router.call(write);
  await tick();
  await tick();
  t.is(b.received.length, 1);
  b.reply([{ id: b.received[0]?.token ?? -1, ok: true, result: new Uint8Array() }]);
  t.true((await w).ok);
  router.close();
});

test('every node down: UNAVAILABLE naming each; via sends only to that node; close settles what is in flight', async (t) => {
  const { a, b, c, router } = setup(50);
  a.up = b.up = c.up = false;
  const res = await router.call(read);
  t.like(res, { ok: false, code: 'UNAVAILABLE' });
  t.regex(res.ok ? '' : res.message, /a: not connected.*b: not connected.*c: not connected/);
  b.up = true;
  const via = router.call(write, 'b');
  await tick();
  t.is(b.received.length, 1);
  router.close();
  t.like(await via, { ok: false, code: 'UNKNOWN_OUTCOME' });
});

test('every node of the Set down: the call waits for one to come back instead of failing at once', async (t) => {
  const { a, b, c, router } = setup();
  a.up = b.up = c.up = false;
  const call = router.call(write);
  await tick();
  t.is(router.stats.waitsForLink, 1);
  b.bringUp();
  for (let i = 0; i < 10 && b.received.length === 0; i++) await tick();
  t.is(b.received.length, 1, 'sent once b is back');
  b.reply([{ id: b.received[0]?.token ?? -1, ok: true, result: new Uint8Array() }]);
  t.true((await call).ok);
  router.close();
});

test('a RESULTS frame that does not decode is ignored and counted; big requests are split over frames', async (t) => {
  const { a, router } = setup();
  const big = { kind: 'write' as const, key: 'k', op: new Uint8Array(1024 * 1024) };
  const calls = [0, 1, 2, 3, 4, 5].map(() => router.call(big));
  await tick();
  t.true(a.frames >= 2, `6 MiB of requests went in ${a.frames} frame(s)`);
  (a as unknown as { frameHandler: (type: number, p: Uint8Array) => void }).frameHandler(
    FrameType.results,
    Uint8Array.of(9, 9, 9),
  );
  t.is(router.stats.badFrames, 1);
  router.close();
  await Promise.all(calls);
});
