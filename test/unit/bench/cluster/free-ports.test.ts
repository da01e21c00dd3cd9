/**
 * The cluster bench's start retry (bench/cluster/free-ports.ts): a start that failed because a
 * port was taken between the pick and the bind is run again, a bounded number of times; any
 * other failure is thrown at once.
 */
import test from 'ava';
import { START_ATTEMPTS, freePorts, startOnFreshPorts } from '../../../../bench/cluster/free-ports';

test('a start that lost a port (either server) is run again and its result returned', async (t) => {
  for (const message of [
    'paxosstore n2 (pid 7) exited before "ready": ADDRESS_IN_USE: 127.0.0.1:40000 is in use',
    'etcd m1 exited while starting: listen tcp 127.0.0.1:40001: bind: address already in use',
  ]) {
    let calls = 0;
    const lines: string[] = [];
    const got = await startOnFreshPorts(
      async () => {
        calls += 1;
        if (calls === 1) throw new Error(message);
        return 'cluster';
      },
      (line) => lines.push(line),
    );
    t.is(got, 'cluster');
    t.is(calls, 2);
    t.is(lines.length, 1);
  }
});

/** A start that always fails with `message`, and how many times it was called. */
function alwaysFailing(message: string): { start: () => Promise<never>; calls: () => number } {
  let calls = 0;
  return {
    start: async () => {
      calls += 1;
      throw new Error(message);
    },
    calls: () => calls,
  };
}

test('a port lost on every attempt gives up after START_ATTEMPTS; other errors at once', async (t) => {
  const lost = alwaysFailing('ADDRESS_IN_USE: again');
  await t.throwsAsync(
    startOnFreshPorts(lost.start, () => undefined),
    {
      message: /ADDRESS_IN_USE/,
    },
  );
  t.is(lost.calls(), START_ATTEMPTS);
  const bad = alwaysFailing('INVALID_CONFIG: bad');
  await t.throwsAsync(
    startOnFreshPorts(bad.start, () => undefined),
    { message: /INVALID_CONFIG/ },
  );
  t.is(bad.calls(), 1);
});

test('freePorts gives distinct ports', async (t) => {
  const ports = await freePorts(6);
  t.is(new Set(ports).size, 6);
});
