/**
 * A node checks an inspect request from the network before its actor sees it
 * (server/node-inspect.ts): the actor asserts on a request it does not know, so a malformed one
 * must never reach it; backup pages need an ordered engine; a failure is an answer.
 */
import test from 'ava';
import { serveInspect } from '../../../server/node-inspect';
import type { InspectTarget } from '../../../server/node-inspect';
import type { InspectFrame } from '../../../client/inspect-protocol';

function target(engine = 'lsm', journal = true): InspectTarget & { seen: unknown[] } {
  const seen: unknown[] = [];
  return {
    groups: 4,
    engine,
    journal,
    seen,
    inspect: (group, request) => {
      seen.push(request);
      return Promise.resolve({ ok: true, value: { group } });
    },
  };
}

const frame = (request: Record<string, unknown>, group = 0): InspectFrame =>
  ({ id: 1, group, request }) as unknown as InspectFrame;

test('well-formed requests of every kind reach the actor', async (t) => {
  const good = [
    { kind: 'digest', buckets: 8, list: [1], listKeysMax: 10 },
    { kind: 'backup-page', gte: '', limit: 10, bytesMax: 1000 },
    { kind: 'backup-keys', keys: ['a'] },
    { kind: 'amnesia' },
    { kind: 'recordKeys', keysMax: 5 },
    { kind: 'clearAmnesia', incarnation: 3 },
    { kind: 'stats' },
    { kind: 'journal-open', name: 'reconciler', from: 'start' },
    { kind: 'journal-read', epoch: 0, from: 1, limit: 4096, bytesMax: 2 * 1024 * 1024 },
    { kind: 'journal-ack', name: 'a.b:c-d_e', epoch: 3, seq: 7 },
    { kind: 'journal-remove', name: 'r' },
    { kind: 'journal-info' },
    { kind: 'journal-seek', time: 1.5e12 },
  ];
  const tg = target();
  for (const r of good)
    t.deepEqual(await serveInspect(tg, frame(r, 3)), { ok: true, value: { group: 3 } });
  t.is(tg.seen.length, good.length);
});

test('malformed requests, groups out of range and unordered engines are refused before the actor', async (t) => {
  const bad: [Record<string, unknown>, number, string][] = [
    [{ kind: 'digest', buckets: 0, list: [], listKeysMax: 0 }, 0, 'lsm'],
    [{ kind: 'digest', buckets: 8, list: [9], listKeysMax: 0 }, 0, 'lsm'],
    [{ kind: 'backup-page', gte: 1, limit: 10, bytesMax: 1 }, 0, 'lsm'],
    [{ kind: 'backup-page', gte: '', limit: 1e9, bytesMax: 1 }, 0, 'lsm'],
    [{ kind: 'backup-keys', keys: [1] }, 0, 'lsm'],
    [{ kind: 'recordKeys', keysMax: -1 }, 0, 'lsm'],
    [{ kind: 'clearAmnesia' }, 0, 'lsm'],
    [{ kind: 'stats' }, 4, 'lsm'],
    [{ kind: 'backup-page', gte: '', limit: 10, bytesMax: 1000 }, 0, 'bitcask2'],
    [{ kind: 'backup-keys', keys: ['a'] }, 0, 'memory'],
  ];
  for (const [request, group, engine] of bad) {
    const tg = target(engine);
    const res = await serveInspect(tg, frame(request, group));
    t.like(res, { ok: false, code: 'INVALID_ARGUMENT' }, JSON.stringify(request));
    t.is(tg.seen.length, 0);
  }
});

// A journal page from the network is bounded (entries and bytes), names are the store's
// pattern, numbers are safe integers, and no field beyond the kind's own reaches the actor.
test('hostile or oversized journal requests are refused before the actor', async (t) => {
  const read = { kind: 'journal-read', epoch: 0, from: 1, limit: 10, bytesMax: 1000 };
  const bad: Record<string, unknown>[] = [
    { ...read, limit: 4097 },
    { ...read, limit: 0 },
    { ...read, bytesMax: 2 * 1024 * 1024 + 1 },
    { ...read, bytesMax: 1e12 },
    { ...read, from: 0 },
    { ...read, from: 1.5 },
    { ...read, from: Number.MAX_SAFE_INTEGER + 2 },
    { ...read, epoch: -1 },
    { ...read, extra: 1 },
    { kind: 'journal-read', epoch: 0, from: 1, limit: 10 },
    { kind: 'journal-open', name: 'x'.repeat(65), from: 'start' },
    { kind: 'journal-open', name: 'a b', from: 'start' },
    { kind: 'journal-open', name: 'a', from: 'later' },
    { kind: 'journal-ack', name: 'a', epoch: 0, seq: 0 },
    { kind: 'journal-ack', name: 'a', epoch: 0, seq: '5' },
    { kind: 'journal-remove', name: ['a'] },
    { kind: 'journal-info', name: 'a' },
    { kind: 'journal-seek', time: Infinity },
    { kind: 'journal-seek', time: '2026' },
  ];
  for (const request of bad) {
    const tg = target();
    const res = await serveInspect(tg, frame(request));
    t.like(res, { ok: false, code: 'INVALID_ARGUMENT' }, JSON.stringify(request));
    t.is(tg.seen.length, 0);
  }
});

test('a node without --journal refuses journal requests with a clear code', async (t) => {
  const tg = target('lsm', false);
  const res = await serveInspect(tg, frame({ kind: 'journal-info' }));
  t.like(res, { ok: false, code: 'INVALID_ARGUMENT' });
  t.regex(res.ok ? '' : res.message, /--journal/);
  t.is(tg.seen.length, 0);
});

test('an actor that throws answers its code', async (t) => {
  const tg: InspectTarget = {
    groups: 1,
    engine: 'lsm',
    journal: false,
    inspect: () => Promise.reject(Object.assign(new Error('gone'), { code: 'PXS_NO_ACTOR' })),
  };
  t.deepEqual(await serveInspect(tg, frame({ kind: 'stats' })), {
    ok: false,
    code: 'PXS_NO_ACTOR',
    message: 'gone',
  });
});
