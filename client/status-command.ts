/**
 * `paxosstore status --config cluster.json`: asks every node of the cluster file for its
 * status and prints one row per node (node, Set, zone, up, keys, groups behind). Exit 0 when
 * every node answered, 3 when some did not, 2 on a bad command line or cluster file.
 */
import { parseArgs } from 'node:util';
import { loadClusterConfig } from '../cluster/cluster-config';
import { formatStatusTable } from '../cluster/status-table';
import type { StatusRow } from '../cluster/status-table';
import { controlCall } from './control-call';

const STATUS_TIMEOUT_MS = 3_000;

/** A count decoded from a node's answer, or undefined ("-") when it is not one. */
function countOf(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export async function status(argv: readonly string[]): Promise<number> {
  let configPath: string | undefined;
  let json = false;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { config: { type: 'string' }, json: { type: 'boolean' } },
      strict: true,
    });
    configPath = values.config;
    json = values.json === true;
  } catch (error) {
    process.stderr.write(
      `INVALID_CONFIG: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 2;
  }
  if (configPath === undefined) {
    process.stderr.write('INVALID_CONFIG: --config is required\n');
    return 2;
  }
  let config;
  try {
    config = loadClusterConfig(configPath);
  } catch (error) {
    process.stderr.write(
      `INVALID_CONFIG: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 2;
  }
  const asks = config.sets.flatMap((set) =>
    set.replicas.map(async (r): Promise<StatusRow> => {
      try {
        const s = (await controlCall(
          { host: r.host, port: r.port, secret: config.secret, timeoutMs: STATUS_TIMEOUT_MS },
          'status',
        )) as { keys?: unknown; groupsBehind?: unknown };
        return {
          node: r.node,
          set: set.id,
          zone: r.zone,
          up: true,
          keys: countOf(s.keys),
          groupsBehind: countOf(s.groupsBehind),
        };
      } catch {
        return {
          node: r.node,
          set: set.id,
          zone: r.zone,
          up: false,
          keys: undefined,
          groupsBehind: undefined,
        };
      }
    }),
  );
  const rows = await Promise.all(asks);
  process.stdout.write(json ? `${JSON.stringify(rows)}\n` : formatStatusTable(rows));
  return rows.every((r) => r.up) ? 0 : 3;
}
