/**
 * Journal answers from a node are input (client/journal-answers.ts): a subscription derives
 * cursors and entries from them, so an answer of the wrong shape is refused before it is used;
 * and the cluster-wide group numbering of client/remote-journal.ts (set × groups + g, replica r
 * of a Set is its r-th node).
 */
import test from 'ava';
import { journalAnswerFits } from '../../../client/journal-answers';
import {
  decodeInspect,
  decodeInspectAnswer,
  encodeInspect,
  encodeInspectAnswer,
} from '../../../client/inspect-protocol';
import type { InspectFrame } from '../../../client/inspect-protocol';
import { ProtocolError } from '../../../client/wire-protocol';
import { servingNode } from '../../../client/remote-journal';
import { RouteTable } from '../../../cluster/route-table';
import { parseClusterConfig } from '../../../cluster/cluster-config';

const read = { kind: 'journal-read', epoch: 7, from: 1, limit: 2, bytesMax: 1000 };
const entry = (seq: number, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  seq,
  time: 1_700_000_000_000,
  kind: 0,
  key: 'ns\u0000k',
  version: seq,
  fromVersion: seq - 1,
  bytes: new Uint8Array([1, 2, 3]),
  ...over,
});
const page = (entries: unknown[]): Record<string, unknown> => ({
  ok: true,
  epoch: 7,
  head: 9,
  entries,
});
const range = { ok: true, epoch: 7, first: 1, head: 9, acked: 3, time: 5 };

test('well-formed answers of every journal kind fit, after a trip through the frame codec', (t) => {
  const cases: [Record<string, unknown>, unknown][] = [
    [read, page([entry(1), entry(2, { kind: 1, bytes: null })])],
    [read, page([])],
    [read, { ok: false, code: 'SUBSCRIPTION_EXPIRED', message: 'trimmed' }],
    [{ kind: 'journal-open', name: 'a', from: 'now' }, range],
    [{ kind: 'journal-ack', name: 'a', epoch: 7, seq: 3 }, range],
    [{ kind: 'journal-remove', name: 'a' }, range],
    [{ kind: 'journal-info' }, range],
    [
      { kind: 'journal-seek', time: 4 },
      { ok: true, epoch: 7, seq: 4 },
    ],
  ];
  for (const [request, value] of cases) {
    const back = decodeInspectAnswer(encodeInspectAnswer({ id: 1, ok: true, value }));
    t.true(
      back.ok && journalAnswerFits(request as { kind: string }, back.ok ? back.value : 0),
      JSON.stringify(request),
    );
  }
});

test('INSPECT frames carry the six journal kinds; another journal-like kind is a protocol error', (t) => {
  const kinds = [
    'journal-open',
    'journal-read',
    'journal-ack',
    'journal-remove',
    'journal-info',
    'journal-seek',
  ];
  for (const kind of kinds) {
    const frame = { id: 9, group: 3, request: { ...read, kind } } as unknown as InspectFrame;
    t.deepEqual(decodeInspect(encodeInspect(frame)), frame);
  }
  const other = {
    id: 1,
    group: 0,
    request: { kind: 'journal-truncate' },
  } as unknown as InspectFrame;
  t.throws(() => decodeInspect(encodeInspect(other)), { instanceOf: ProtocolError });
});

test('answers of the wrong shape are refused', (t) => {
  const bad: [Record<string, unknown>, unknown][] = [
    [read, page([entry(1), entry(2), entry(3)])], // more than the limit asked
    [read, page([entry(0)])],
    [read, page([entry(1, { kind: 9 })])],
    [read, page([entry(1, { key: 5 })])],
    [read, page([entry(1, { version: -1 })])],
    [read, page([entry(1, { bytes: 'AAA=' })])],
    [read, page([entry(1, { time: Infinity })])],
    [read, { ok: true, epoch: 7, entries: 'x', head: 1 }],
    [read, range],
    [read, { ok: false, code: 'WHATEVER', message: 'x' }],
    [read, null],
    [read, [page([])]],
    [
      { kind: 'journal-open', name: 'a', from: 'now' },
      { ...range, acked: 1.5 },
    ],
    [{ kind: 'journal-info' }, { ...range, epoch: '7' }],
    [{ kind: 'journal-seek', time: 4 }, range.first],
    [
      { kind: 'journal-seek', time: 4 },
      { ok: true, epoch: 7 },
    ],
    [{ kind: 'digest' }, range],
  ];
  for (const [request, value] of bad)
    t.false(journalAnswerFits(request as { kind: string }, value), JSON.stringify(value));
});

test('cluster groups: set × groups + g, replica r of a Set is its r-th node', (t) => {
  const config = parseClusterConfig(
    JSON.stringify({
      secret: 'x'.repeat(32),
      sets: ['a', 'b'].map((id, s) => ({
        id,
        replicas: [1, 2, 3].map((r) => ({
          node: `${id}${r}`,
          address: `127.0.0.1:${7000 + s * 3 + r}`,
        })),
      })),
    }),
    '.',
  );
  const routes = RouteTable.fromConfig(config);
  const host = { routes, groups: 4 };
  t.deepEqual(servingNode(host, 0, 0), { node: 'a1', group: 0 });
  t.deepEqual(servingNode(host, 2, 3), { node: 'a3', group: 3 });
  t.deepEqual(servingNode(host, 1, 5), { node: 'b2', group: 1 });
  t.throws(() => servingNode(host, 0, 8), { code: 'INVALID_ARGUMENT' });
  t.throws(() => servingNode(host, 3, 0), { code: 'INVALID_ARGUMENT' });
});
