/**
 * `paxosstore serve`: runs one cluster node in this process until SIGTERM or SIGINT.
 *
 *   npx paxosstore serve --config cluster.json --node n1 --dir data/n1 [--engine ...]
 *
 * Logs JSON lines to stdout (pino); once it serves it logs `"msg":"ready"`. SIGTERM closes it
 * cleanly (exit 0). A bad configuration exits 2 with one line on stderr (`INVALID_CONFIG:
 * ...`); an address in use, a locked dir or another start failure exits 1 the same way.
 */
import pino from 'pino';
import type { Logger } from 'pino';
import { loadClusterConfig } from '../cluster/cluster-config';
import { groupsFor, parseServeArgs } from '../cluster/serve-options';
import type { ServeJournal } from '../cluster/serve-options';
import type { JournalOptions } from '../actors/store/journal-options';
import type { NetLog } from '../net/errors';
import { ClusterNode } from './cluster-node';

/** Exit codes of `serve`. */
export const ServeExit = { ok: 0, failed: 1, badConfig: 2 } as const;

function netLog(logger: Logger): NetLog {
  return (level, msg, fields) => logger[level](fields ?? {}, msg);
}

/** One line saying why the node cannot start, with a stable code first. */
export function startFailure(error: unknown, address: string): { line: string; exit: number } {
  const e = error as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | null;
  // net/'s listen() reports a bind failure as UNAVAILABLE with the OS errno as its cause.
  const errno = e?.cause?.code;
  const code =
    typeof errno === 'string' && errno.startsWith('EADDR')
      ? errno
      : typeof e?.code === 'string'
        ? e.code
        : 'ERROR';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (code === 'INVALID_CONFIG')
    return { line: `INVALID_CONFIG: ${message}`, exit: ServeExit.badConfig };
  if (code === 'EADDRINUSE')
    return {
      line: `ADDRESS_IN_USE: ${address} is in use by another process`,
      exit: ServeExit.failed,
    };
  if (code === 'EADDRNOTAVAIL')
    return {
      line: `ADDRESS_NOT_AVAILABLE: ${address} is not an address of this machine`,
      exit: ServeExit.failed,
    };
  return { line: `${code}: ${message.replace(/\s+/g, ' ')}`, exit: ServeExit.failed };
}

/** `--journal` and its bounds as the store's `journal` option (bounds left out: defaults). */
function journalOf(j: ServeJournal): JournalOptions {
  const out: { -readonly [K in keyof JournalOptions]: JournalOptions[K] } = {};
  if (j.retainEntriesMax !== undefined) out.retainEntriesMax = j.retainEntriesMax;
  if (j.retainBytesMax !== undefined) out.retainBytesMax = j.retainBytesMax;
  if (j.retainAckedEntries !== undefined) out.retainAckedEntries = j.retainAckedEntries;
  if (j.subscribersMax !== undefined) out.subscribersMax = j.subscribersMax;
  return out;
}

export async function serve(argv: readonly string[]): Promise<number> {
  let address = '?';
  let node: ClusterNode;
  const logger = pino({ base: { pid: process.pid } });
  try {
    const options = parseServeArgs(argv);
    const config = loadClusterConfig(options.configPath);
    const groups = groupsFor(config, options);
    const place = config.sets.flatMap((s) => s.replicas).find((r) => r.node === options.node);
    address = place?.address ?? '?';
    node = await ClusterNode.start({
      config,
      node: options.node,
      groups,
      store: {
        dir: options.dir,
        engine: options.engine,
        persist: options.persist,
        sync: options.sync,
        ...(options.workers === undefined ? {} : { workers: options.workers }),
        repair: {
          enabled: options.repair.enabled,
          ...(options.repair.intervalMs === undefined
            ? {}
            : { intervalMs: options.repair.intervalMs }),
          ...(options.repair.keysPerSecond === undefined
            ? {}
            : { keysPerSecond: options.repair.keysPerSecond }),
        },
        ...(options.journal === undefined ? {} : { journal: journalOf(options.journal) }),
      },
      log: netLog(logger.child({ node: options.node })),
    });
  } catch (error) {
    const { line, exit } = startFailure(error, address);
    process.stderr.write(`${line}\n`);
    return exit;
  }
  logger.info(
    {
      node: node.place.node.node,
      set: node.place.set.id,
      replica: node.place.replicaIndex,
      address,
      port: node.port,
      routeVersion: node.routes.version,
    },
    'ready',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info({}, 'closing');
  await node.close();
  logger.info({}, 'closed');
  return ServeExit.ok;
}
