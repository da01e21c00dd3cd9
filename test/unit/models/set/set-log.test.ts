/**
 * The set's change section (models/set/set-log.ts): a big set adds and removes by appending
 * records in place, folds them into its sorted main past main / 8, and holds the same bytes
 * whether each state grew in place or was copied fresh (every replica must hold byte-equal
 * records, whichever buffers its states live in).
 */
import { deepStrictEqual } from 'node:assert';
import test from 'ava';
import fc from 'fast-check';
import { isAppendView } from '../../../../models/append-bytes';
import { ModelTag } from '../../../../models/model-tags';
import { createModelRegistry, splitVersion, tagged } from '../../../../models/registry';
import {
  SetStatus,
  createSetStateMachine,
  decodeSetData,
  decodeSetResult,
  encodeSetData,
  encodeSetOp,
  encodeSetQuery,
} from '../../../../models/set/set';
import type { SetLimits, SetOp } from '../../../../models/set/set';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const LIMITS: SetLimits = {
  bytesMax: 1 << 20,
  membersMax: 10_000,
  readMax: 10_000,
  appendBytesMin: 64,
  changeBytesMin: 64,
};

const opOf = (op: SetOp) => tagged(ModelTag.set, encodeSetOp(op));
const add = (...members: string[]): SetOp => ({ type: 'add', members: members.map(text) });
const remove = (...members: string[]): SetOp => ({ type: 'remove', members: members.map(text) });

/** Applies `ops` keeping each state (in place), and again on a fresh copy of each state. */
function twoWays(ops: readonly SetOp[], limits: SetLimits) {
  const machine = createModelRegistry([[ModelTag.set, createSetStateMachine(limits)]]);
  const runs = [false, true].map((copy) => {
    let data: Uint8Array | null = null;
    let inPlace = 0;
    const steps = ops.map((op) => {
      const before = data;
      const out = machine.apply(copy && data !== null ? data.slice() : data, 0, opOf(op));
      if (before !== null && out.data !== null && out.data.buffer === before.buffer) inPlace++;
      data = out.data;
      return { result: out.result, data: out.data === null ? null : out.data.slice() };
    });
    return { steps, inPlace };
  });
  return runs as [(typeof runs)[0], (typeof runs)[0]];
}

const name = (i: number) => `m${(i * 7919) % 1000}`.padEnd(8, '.');

test('a big set adds and removes in place; a fresh copy of each state gives the same bytes', (t) => {
  const ops: SetOp[] = [];
  for (let i = 0; i < 200; i++) ops.push(add(name(i)));
  for (let i = 0; i < 100; i++) ops.push(i % 2 === 0 ? remove(name(i)) : add(name(i + 500)));
  const [kept, fresh] = twoWays(ops, LIMITS);
  t.deepEqual(kept.steps, fresh.steps);
  t.true(kept.inPlace >= 150, `${kept.inPlace} ops grew in place`);
  t.is(fresh.inPlace, 0);
});

test('an add appends a record in place; the fold leaves the canonical layout', (t) => {
  const machine = createSetStateMachine({ ...LIMITS, changeBytesMin: 256 });
  let data: Uint8Array | null = null;
  let appended = 0;
  let folded = 0;
  for (let i = 0; i < 300; i++) {
    const before: Uint8Array | null = data;
    const out = machine.apply(data, 0, encodeSetOp(add(name(i), name(i))));
    t.is(decodeSetResult('add', out.result).added, 1);
    data = out.data;
    const members = decodeSetData(data);
    // An append is one record (marker, length, member) longer, in place or, past the
    // buffer's spare room, copied; a fold is the canonical layout, shorter than that.
    if (before !== null && data !== null && data.length === before.length + 8 + 8) {
      appended++;
    } else if (before !== null && before.length >= 64) {
      folded++;
      t.deepEqual(data, encodeSetData(members), 'a fold leaves the canonical layout');
      t.true(data !== null && isAppendView(data), 'a big fold grows in place next');
    }
  }
  t.true(appended > 200 && folded >= 2, `${appended} appended, ${folded} folds`);
  const has = (m: string) =>
    decodeSetResult('has', machine.read(data, 0, encodeSetQuery({ type: 'has', member: text(m) })));
  t.deepEqual([has(name(5)), has('absent')], [{ present: true }, { present: false }]);
});

test('the limit counts the canonical layout, not the change records', (t) => {
  const limits: SetLimits = { ...LIMITS, bytesMax: 12 * 20, changeBytesMin: 1 << 20 };
  const machine = createSetStateMachine(limits);
  let data: Uint8Array | null = null;
  for (let i = 0; i < 20; i++) data = machine.apply(data, 0, encodeSetOp(add(name(i)))).data;
  t.true((data?.length ?? 0) > 12 * 20, 'records are longer than entries');
  const over = machine.apply(data, 0, encodeSetOp(add(name(20))));
  t.deepEqual(decodeSetResult('add', over.result), {
    status: SetStatus.tooLarge,
    added: 0,
    size: 20,
  });
  data = machine.apply(data, 0, encodeSetOp(remove(name(3)))).data;
  const fits = machine.apply(data, 0, encodeSetOp(add(name(20))));
  t.deepEqual(decodeSetResult('add', fits.result), { status: SetStatus.ok, added: 1, size: 20 });
});

const memberArb = fc.integer({ min: 0, max: 40 }).map((i) => `k${i}`);
const opArb: fc.Arbitrary<SetOp> = fc.oneof(
  fc.array(memberArb, { maxLength: 3 }).map((m): SetOp => add(...m)),
  fc.array(memberArb, { maxLength: 2 }).map((m): SetOp => remove(...m)),
);

test('property: in place and fresh copies give byte-equal states, and both act as a Set', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 8, max: 128 }),
      fc.integer({ min: 0, max: 128 }),
      fc.integer({ min: 0, max: 300 }),
      fc.array(opArb, { maxLength: 80 }),
      (appendBytesMin, changeBytesMin, bytesMax, ops) => {
        const limits: SetLimits = {
          bytesMax,
          membersMax: 30,
          readMax: 100,
          appendBytesMin,
          changeBytesMin,
        };
        const [kept, fresh] = twoWays(ops, limits);
        deepStrictEqual(kept.steps, fresh.steps);
        const set = new Set<string>();
        ops.forEach((op, i) => {
          const step = kept.steps[i];
          if (step === undefined) throw new Error('missing step');
          const body = splitVersion(step.result).body;
          const result = decodeSetResult(op.type, body);
          if (result.status === SetStatus.ok) {
            for (const m of op.members) {
              if (op.type === 'add') set.add(str(m));
              else set.delete(str(m));
            }
          }
          deepStrictEqual(result.size, set.size);
          const data = step.data === null ? null : step.data.subarray(1);
          deepStrictEqual(decodeSetData(data).map(str), [...set].sort());
        });
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});
