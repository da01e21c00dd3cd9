/**
 * Journal subscription in one short run: a reconciler subscribes, consumes every change with
 * dedupe by (group, seq), acknowledges, "crashes" (stops without acking the rest) and
 * subscribes again under its name: it resumes after its last ack and sees each change exactly
 * once after dedupe. A second, independent subscriber reads from the start.
 *
 *   npx tsc -p . && node dist/examples/subscribe.js
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PaxosStore } from '../index';
import type { StoreJournalEntry, Subscription } from '../index';

/** Reads up to `n` entries (the subscription waits for more when none is there). */
async function read(sub: Subscription, n: number): Promise<StoreJournalEntry[]> {
  const out: StoreJournalEntry[] = [];
  for await (const e of sub) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-subscribe-'));
  const store = await PaxosStore.open({
    engine: 'bitcask',
    dir,
    workers: 2,
    groups: 2,
    journal: { retainAckedEntries: 1000 },
  });
  try {
    const seen = new Set<string>();
    const sub = store.subscribe('reconciler', { from: 'start' });
    await sub.ready();
    const balances = store.kv('balances');
    for (let i = 1; i <= 6; i++) await balances.incr(`user:${i % 3}`, i * 10);

    // Consume four, acknowledge them, then stop as a crashed consumer would.
    for (const e of await read(sub, 4)) {
      seen.add(`${e.group}:${e.seq}`);
      console.log(`saw  group ${e.group} seq ${e.seq}: ${e.namespace}/${e.key} v${e.version}`);
      await sub.ack(e);
    }
    await sub.return();

    // Subscribe again under the same name: it resumes after the last acknowledged entry.
    const again = store.subscribe('reconciler');
    for (const e of await read(again, 2)) {
      const id = `${e.group}:${e.seq}`;
      console.log(
        `${seen.has(id) ? 'dup ' : 'new '} group ${e.group} seq ${e.seq}: ${e.key} v${e.version}`,
      );
      seen.add(id);
      await again.ack(e);
    }
    await again.return();
    console.log(`reconciler saw ${seen.size} distinct changes of 6`);

    // Another name is independent of the first.
    const audit = await read(store.subscribe('audit', { from: 'start' }), 6);
    console.log(`audit read ${audit.length} changes from the start`);
    const range = await store.journalRange(0);
    console.log(`group 0 journal: seq ${range.first}..${range.head}, epoch ${range.epoch}`);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
