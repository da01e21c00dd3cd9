import test from 'ava';
import { CLIENT_ADDRESS } from '../../../runtime/actor';
import { LinkFaults, newLinkFaults } from '../../../runtime/link-faults';

// Three nodes of four actors each: actors 0-3 on node 0, 4-7 on node 1, 8-11 on node 2.
test('a partition cuts links between sides only; the client endpoint is never cut', (t) => {
  const faults = new LinkFaults(newLinkFaults(3, 4));
  t.deepEqual(
    [0, 3, 4, 11, 12, CLIENT_ADDRESS].map((a) => faults.nodeOf(a)),
    [0, 0, 1, 2, undefined, undefined],
  );
  t.false(faults.blocked(0, 5));
  faults.partition([[0], [1, 2]]);
  t.true(faults.blocked(0, 5), 'node 0 → node 1');
  t.true(faults.blocked(9, 1), 'node 2 → node 0');
  t.false(faults.blocked(5, 9), 'nodes 1 and 2 share a side');
  t.false(faults.blocked(1, 2), 'within a node');
  t.false(faults.blocked(0, CLIENT_ADDRESS) || faults.blocked(CLIENT_ADDRESS, 5), 'client traffic');
  faults.partition([[1]]);
  t.false(faults.blocked(0, 9), 'nodes on no side form one side together');
  t.true(faults.blocked(0, 4));
  faults.heal();
  t.false(faults.blocked(0, 5) || faults.blocked(4, 0));
});

test('the matrix is shared: a second view over the same config sees the cut', (t) => {
  const config = newLinkFaults(2, 1);
  new LinkFaults(config).partition([[0], [1]]);
  t.true(new LinkFaults(config).blocked(0, 1));
});
