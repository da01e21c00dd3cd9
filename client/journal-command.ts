/**
 * `paxosstore journal --config cluster.json --name NAME [--from start|now] [--ack]
 *                     [--replica R] [--count N] [--remove]`
 *
 * An operator's subscriber (README "Journal subscription"): connects to the cluster in the
 * file, subscribes under NAME and prints every entry as one JSON line (op and data in base64),
 * until SIGINT/SIGTERM or after N entries. With --ack each entry is acknowledged once its line
 * is written, so the next run under NAME resumes after it; without --ack the cursor still
 * exists (retention keeps entries for it) but does not move. --remove unsubscribes NAME.
 * Exit 0 when stopped or done, 1 on an error (`CODE: message` on stderr, e.g.
 * SUBSCRIPTION_EXPIRED), 2 on a bad command line or cluster file.
 */
import { parseArgs } from 'node:util';
import { loadClusterConfig } from '../cluster/cluster-config';
import type { StoreJournalEntry, Subscription } from '../actors/store/subscription';
import { RemoteStore } from './remote-store';

export const JOURNAL_USAGE =
  '       paxosstore journal --config CLUSTER.json --name NAME [--from start|now] [--ack] [--replica R] [--count N] [--remove]\n';

interface JournalArgs {
  readonly config: string;
  readonly name: string;
  readonly from: 'start' | 'now';
  readonly ack: boolean;
  readonly replica: number;
  readonly count: number | undefined;
  readonly remove: boolean;
}

function parse(argv: readonly string[]): JournalArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      config: { type: 'string' },
      name: { type: 'string' },
      from: { type: 'string' },
      ack: { type: 'boolean' },
      replica: { type: 'string' },
      count: { type: 'string' },
      remove: { type: 'boolean' },
    },
  });
  const int = (v: string | undefined, what: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^[0-9]{1,9}$/.test(v)) throw new Error(`--${what} must be a whole number, got ${v}`);
    return Number(v);
  };
  if (values.config === undefined) throw new Error('--config is required');
  if (values.name === undefined) throw new Error('--name is required');
  const from = values.from ?? 'now';
  if (from !== 'start' && from !== 'now') throw new Error(`--from must be start or now`);
  return {
    config: values.config,
    name: values.name,
    from,
    ack: values.ack === true,
    replica: int(values.replica, 'replica') ?? 0,
    count: int(values.count, 'count'),
    remove: values.remove === true,
  };
}

/** One entry as a JSON line: bytes in base64. */
export function entryLine(e: StoreJournalEntry): string {
  const b64 = (b: Uint8Array | null): string | null =>
    b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  return `${JSON.stringify({ ...e, op: b64(e.op), data: b64(e.data) })}\n`;
}

function write(line: string): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(line, (error) => (error ? reject(error) : resolve())),
  );
}

/** Prints (and acks) until stopped or `count` entries; the count bounds the loop when given. */
async function follow(sub: Subscription, args: JournalArgs): Promise<void> {
  let printed = 0;
  for await (const e of sub) {
    await write(entryLine(e));
    if (args.ack) await sub.ack(e);
    printed++;
    if (args.count !== undefined && printed >= args.count) break;
  }
}

export async function journalCommand(argv: readonly string[]): Promise<number> {
  let args: JournalArgs;
  let config;
  try {
    args = parse(argv);
    config = loadClusterConfig(args.config);
  } catch (error) {
    process.stderr.write(`INVALID_CONFIG: ${(error as Error).message}\n${JOURNAL_USAGE}`);
    return 2;
  }
  const nodes = config.sets.flatMap((s) => s.replicas.map((r) => r.address));
  let store: RemoteStore | undefined;
  let sub: Subscription | undefined;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    void sub?.return();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    store = await RemoteStore.connect({ nodes, secret: config.secret });
    if (args.remove) await store.unsubscribe(args.name, { replica: args.replica });
    else if (!stopped) {
      sub = store.subscribe(args.name, { from: args.from, replica: args.replica });
      await follow(sub, args);
    }
    return 0;
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    process.stderr.write(
      `${typeof e.code === 'string' ? e.code : 'ERROR'}: ${String(e.message ?? error)}\n`,
    );
    return 1;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await store?.close();
  }
}
