/** `paxosstore status` table: alignment, unknowns, and hostile cells. */
import test from 'ava';
import { CELL_CHARS_MAX, formatStatusTable } from '../../../cluster/status-table';

test('columns align: text left, numbers right, unknowns as "-"', (t) => {
  const text = formatStatusTable([
    { node: 'n1', set: 's0', zone: 'zone-a', up: true, keys: 1042, groupsBehind: 0 },
    {
      node: 'node-two',
      set: 's0',
      zone: undefined,
      up: false,
      keys: undefined,
      groupsBehind: undefined,
    },
    { node: 'n3', set: 's10', zone: 'b', up: true, keys: 7, groupsBehind: 12 },
  ]);
  t.is(
    text,
    [
      'NODE      SET  ZONE    UP   KEYS  BEHIND',
      'n1        s0   zone-a  yes  1042       0',
      'node-two  s0   -       no      -       -',
      'n3        s10  b       yes     7      12',
      '',
    ].join('\n'),
  );
});

test('no rows: the header alone', (t) => {
  t.is(formatStatusTable([]), 'NODE  SET  ZONE  UP  KEYS  BEHIND\n');
});

test('control characters are replaced and long cells cut, so each row stays one line', (t) => {
  const text = formatStatusTable([
    {
      node: 'n1\n\u001b[31mevil',
      set: 'x'.repeat(200),
      zone: 'a',
      up: true,
      keys: 1,
      groupsBehind: 0,
    },
  ]);
  const lines = text.trimEnd().split('\n');
  t.is(lines.length, 2);
  t.true(lines[1]?.startsWith('n1??[31mevil  '));
  t.true(lines[1]?.includes(`${'x'.repeat(CELL_CHARS_MAX - 3)}...`));
  t.false(lines[1]?.includes('x'.repeat(CELL_CHARS_MAX)));
});

test('a count that is not a count is a programmer error', (t) => {
  t.throws(
    () =>
      formatStatusTable([
        { node: 'n1', set: 's0', zone: 'a', up: true, keys: -1, groupsBehind: 0 },
      ]),
    { name: 'AssertionError' },
  );
});
