/**
 * The account API in one short run: idempotent deposits, a two-phase transfer between two
 * accounts (prepare the debit on A and the credit on B, then commit both), reserved funds
 * refusing a charge (INSUFFICIENT_FUNDS), a repeated commit answering the same outcome, an
 * abandoned transfer rolled back on both sides (fencing a prepare that arrives late), and both
 * journals.
 *
 *   npx tsc -p . && node dist/examples/account.js
 */
import { PaxosStore, PaxosStoreError } from '../index';

/** Runs `fn` expecting a PaxosStoreError with `code`; prints it. */
async function expectError(what: string, code: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (!(error instanceof PaxosStoreError) || error.code !== code) throw error;
    console.log(`${what} -> ${code}`);
    return;
  }
  throw new Error(`${what} should have failed with ${code}`);
}

async function main(): Promise<void> {
  const store = await PaxosStore.open({ replicas: 3, engine: 'memory', workers: 2, groups: 4 });
  try {
    const a = store.account('merchant:7', { min: 0 });
    const b = store.account('merchant:8', { min: 0, max: 10_000 });

    // An opId applies once: the retry answers the first result and changes nothing.
    console.log('A deposit 500            ->', await a.add(500, { opId: 'deposit-1' }));
    console.log('A deposit 500 (retry)    ->', await a.add(500, { opId: 'deposit-1' }));

    // Two-phase transfer of 200 from A to B: reserve on both sides, then commit both.
    const tx = 'transfer-1';
    console.log('A prepare -200           ->', await a.prepare(tx, -200));
    console.log('B prepare +200           ->', await b.prepare(tx, 200));
    console.log('A while reserved         ->', await a.balance());
    await expectError('A subtract 400 (held)   ', 'INSUFFICIENT_FUNDS', () =>
      a.subtract(400, { opId: 'charge-1' }),
    );
    console.log('A commit                 ->', await a.commit(tx));
    console.log('B commit                 ->', await b.commit(tx));
    console.log('A commit (retry)         ->', await a.commit(tx));

    // An abandoned transfer: B's prepare never arrived. Rolling back both sides is safe, and
    // B refuses the prepare if it shows up afterwards.
    const lost = 'transfer-2';
    await a.prepare(lost, -50);
    console.log('A rollback               ->', await a.rollback(lost));
    console.log('B rollback (unknown tx)  ->', await b.rollback(lost));
    await expectError('B prepare (late)        ', 'TRANSACTION_FINISHED', () =>
      b.prepare(lost, 50),
    );

    console.log('A                        ->', await a.balance());
    console.log('B                        ->', await b.balance());
    for (const [name, acct] of [
      ['A', a],
      ['B', b],
    ] as const) {
      console.log(`${name} journal:`);
      for await (const entry of acct.journal()) console.log('  ', JSON.stringify(entry));
    }
  } finally {
    await store.close();
  }
  console.log('closed');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
