/** The lossy-network wrapper of a node's peer links: drop, duplicate, delay, seeded replays. */
import test from 'ava';
import { ChaosLink, NO_CHAOS, checkChaos } from '../../../server/link-chaos';

function recorder(): {
  sent: number[];
  link: { isUp: () => boolean; send: (type: number, p: Uint8Array) => boolean };
} {
  const sent: number[] = [];
  return { sent, link: { isUp: () => true, send: (_t, p) => sent.push(p[0] ?? -1) > 0 } };
}

test('no chaos passes frames through; drop 1 drops all; duplicate 1 sends each twice', (t) => {
  const r = recorder();
  const chaos = new ChaosLink(r.link);
  chaos.send(16, Uint8Array.of(1));
  chaos.set(checkChaos({ dropRate: 1 }));
  chaos.send(16, Uint8Array.of(2));
  chaos.set(checkChaos({ duplicateRate: 1 }));
  chaos.send(16, Uint8Array.of(3));
  chaos.set(NO_CHAOS);
  chaos.send(16, Uint8Array.of(4));
  t.deepEqual(r.sent, [1, 3, 3, 4]);
  t.like(chaos.stats, { dropped: 1, duplicated: 1 });
});

test('a seed replays the same drops', (t) => {
  const runs = [1, 2].map(() => {
    const r = recorder();
    const chaos = new ChaosLink(r.link);
    chaos.set(checkChaos({ dropRate: 0.5, seed: 42 }));
    for (let i = 0; i < 100; i++) chaos.send(16, Uint8Array.of(i));
    return r.sent;
  });
  t.deepEqual(runs[0], runs[1]);
  t.true((runs[0]?.length ?? 0) > 20 && (runs[0]?.length ?? 100) < 80, 'about half dropped');
});

test('delayed frames arrive later, in order without jitter; close drops what is held', async (t) => {
  const r = recorder();
  const chaos = new ChaosLink(r.link);
  chaos.set(checkChaos({ delayMs: 5 }));
  for (let i = 0; i < 5; i++) chaos.send(16, Uint8Array.of(i));
  t.deepEqual(r.sent, [], 'nothing leaves at once');
  for (let i = 0; i < 200 && r.sent.length < 5; i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  t.deepEqual(r.sent, [0, 1, 2, 3, 4]);
  chaos.send(16, Uint8Array.of(9));
  chaos.close();
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.deepEqual(r.sent, [0, 1, 2, 3, 4], 'a held frame is dropped at close');
});

test('settings from the network are checked', (t) => {
  t.throws(() => checkChaos({ dropRate: 2 }), { message: /dropRate/ });
  t.throws(() => checkChaos({ delayMs: -1 }), { message: /delayMs/ });
  t.throws(() => checkChaos({ delayMs: 1e9 }), { message: /delayMs/ });
  t.throws(() => checkChaos({ loss: 0.1 }), { message: /unknown chaos setting loss/ });
  t.throws(() => checkChaos(null));
});
