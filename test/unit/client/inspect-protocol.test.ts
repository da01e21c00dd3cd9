/**
 * INSPECT / INSPECT_RESULT frames (client/inspect-protocol.ts): byte arrays survive the JSON
 * round trip (Buffers too, whose own toJSON would turn them into number lists), and every
 * malformed envelope is a ProtocolError, never a crash or a request the node would pass on.
 */
import test from 'ava';
import {
  INSPECT_ANSWER_BYTES_MAX,
  decodeInspect,
  decodeInspectAnswer,
  decodeTagged,
  encodeInspect,
  encodeInspectAnswer,
  encodeTagged,
} from '../../../client/inspect-protocol';
import { ProtocolError } from '../../../client/wire-protocol';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test('byte arrays and Buffers round-trip, nested, null kept', (t) => {
  const value = {
    id: 3,
    a: new Uint8Array([1, 2, 255]),
    b: Buffer.from('hello'),
    nested: [{ data: new Uint8Array(0), other: null }],
    sub: new Uint8Array([9, 8, 7, 6]).subarray(1, 3),
  };
  const back = decodeTagged(encodeTagged(value), 'x');
  t.deepEqual(back.a, new Uint8Array([1, 2, 255]));
  t.true(back.b instanceof Uint8Array);
  t.is(Buffer.from(back.b as Uint8Array).toString(), 'hello');
  t.deepEqual(back.nested, [{ data: new Uint8Array(0), other: null }]);
  t.deepEqual(back.sub, new Uint8Array([8, 7]), 'a view encodes its own bytes only');
});

test('an inspect request round-trips; unknown kinds, bad groups and junk are ProtocolErrors', (t) => {
  const frame = { id: 7, group: 2, request: { kind: 'backup-page' as const, gte: '', limit: 5 } };
  t.deepEqual(decodeInspect(encodeInspect(frame)), frame);
  const bad = [
    '{"id":1,"group":0,"request":{"kind":"write"}}',
    '{"id":1,"group":0,"request":{}}',
    '{"id":1,"group":-1,"request":{"kind":"stats"}}',
    '{"id":1,"group":4096,"request":{"kind":"stats"}}',
    '{"id":1,"group":1.5,"request":{"kind":"stats"}}',
    '{"id":1,"group":0,"request":[]}',
    '{"id":-1,"group":0,"request":{"kind":"stats"}}',
    '{"group":0,"request":{"kind":"stats"}}',
    '{"id":1,"group":0,"request":{"kind":"stats","x":{"$b":5}}}',
    '[1]',
    'not json',
  ];
  for (const s of bad) t.throws(() => decodeInspect(text(s)), { instanceOf: ProtocolError }, s);
  t.throws(() => decodeInspect(new Uint8Array([0xff, 0xfe])), { instanceOf: ProtocolError });
  let deep = '1';
  for (let i = 0; i < 40; i++) deep = `[${deep}]`;
  t.throws(() => decodeInspect(text(`{"id":1,"group":0,"request":{"kind":"stats","d":${deep}}}`)), {
    instanceOf: ProtocolError,
    message: /deeper/,
  });
});

test('answers round-trip, ok or failed; a bad shape is a ProtocolError', (t) => {
  const ok = { id: 1, ok: true as const, value: { entries: [{ data: new Uint8Array([5]) }] } };
  t.deepEqual(decodeInspectAnswer(encodeInspectAnswer(ok)), ok);
  const failed = { id: 2, ok: false as const, code: 'UNAVAILABLE', message: 'down' };
  t.deepEqual(decodeInspectAnswer(encodeInspectAnswer(failed)), failed);
  const huge = { id: 3, ok: true as const, value: new Uint8Array(INSPECT_ANSWER_BYTES_MAX) };
  t.like(decodeInspectAnswer(encodeInspectAnswer(huge)), { id: 3, ok: false, code: 'TOO_LARGE' });
  for (const s of ['{"id":1,"ok":false}', '{"id":1}', '{"id":1,"ok":"yes","value":1}'])
    t.throws(() => decodeInspectAnswer(text(s)), { instanceOf: ProtocolError }, s);
});
