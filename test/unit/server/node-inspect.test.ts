/**
 * A node checks an inspect request from the network before its actor sees it
 * (server/node-inspect.ts): the actor asserts on a request it does not know, so a malformed one
 * must never reach it; backup pages need an ordered engine; a failure is an answer.
 */
import test from 'ava';
import { serveInspect } from '../../../server/node-inspect';
import type { InspectTarget } from '../../../server/node-inspect';
import type { InspectFrame } from '../../../client/inspect-protocol';

function target(engine = 'lsm'): InspectTarget & { seen: unknown[] } {
  const seen: unknown[] = [];
  return {
    groups: 4,
    engine,
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

test('an actor that throws answers its code', async (t) => {
  const tg: InspectTarget = {
    groups: 1,
    engine: 'lsm',
    inspect: () => Promise.reject(Object.assign(new Error('gone'), { code: 'PXS_NO_ACTOR' })),
  };
  t.deepEqual(await serveInspect(tg, frame({ kind: 'stats' })), {
    ok: false,
    code: 'PXS_NO_ACTOR',
    message: 'gone',
  });
});
