/**
 * The printed result of the cluster bench: one row per (system, sync, phase), then PaxosStore
 * against etcd (ratios) and the targets at sync `always`. Prints figures, asserts none.
 */
import type { PhaseResult } from './closed-loop';

export interface SystemRun {
  readonly system: 'paxosstore' | 'etcd';
  /** PaxosStore's sync mode; etcd's is `fsync` (every commit fsynced on a majority). */
  readonly sync: string;
  /** Server CPU with no load (before the warm-up), in % of one core: the background cost. */
  readonly idleServerCpuPercent: number;
  readonly write: PhaseResult;
  /** Absent with `--phases write`. */
  readonly read: PhaseResult | undefined;
}

/** Issue 9: at sync always, PaxosStore / etcd. */
export const TARGETS = { writesRatioMin: 5, readsRatioMin: 10 } as const;

const fmtInt = (n: number): string =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
const fmtMs = (n: number): string => n.toFixed(n < 10 ? 2 : 1);
const fmtRatio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}x` : 'n/a');

function fmtErrors(p: PhaseResult): string {
  const parts = Object.entries(p.errors).map(([k, v]) => `${k}=${v}`);
  if (p.notFound > 0) parts.push(`notFound=${p.notFound}`);
  return parts.length === 0 ? '0' : parts.join(' ');
}

export function formatRows(runs: readonly SystemRun[]): string {
  const header = [
    'system',
    'sync',
    'phase',
    'ops/s',
    'ops',
    'p50 ms',
    'p99 ms',
    'p999 ms',
    'max ms',
    'cpu us/op',
    'servers',
    'errors',
  ];
  const widths = [10, 6, 5, 9, 9, 7, 7, 8, 8, 9, 8, 0];
  const left = new Set([0, 1, 2, header.length - 1]);
  const row = (cells: string[]): string =>
    cells
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [row(header)];
  for (const r of runs) {
    for (const p of r.read === undefined ? [r.write] : [r.write, r.read]) {
      const cells = [
        r.system,
        r.sync,
        p.phase,
        fmtInt(p.opsPerSecond),
        fmtInt(p.ops),
        fmtMs(p.p50Ms),
        fmtMs(p.p99Ms),
        fmtMs(p.p999Ms),
        fmtMs(p.maxMs),
      ];
      lines.push(
        row([
          ...cells,
          p.cpuMicrosPerOp.toFixed(1),
          p.serverCpuMicrosPerOp.toFixed(1),
          fmtErrors(p),
        ]),
      );
    }
  }
  const idle = runs
    .map((r) => `${r.system}/${r.sync} ${r.idleServerCpuPercent.toFixed(1)}%`)
    .join(', ');
  lines.push(`servers' CPU with no load (% of one core, all 3 servers): ${idle}`);
  for (const r of runs) {
    for (const p of r.read === undefined ? [r.write] : [r.write, r.read]) {
      const t = p.serverThreads;
      if (t === undefined) continue;
      lines.push(
        `${r.system}/${r.sync} ${p.phase}: servers' cpu us/op by thread: main ${t.main.toFixed(1)}, ` +
          `workers ${t.busiest.toFixed(1)}, other threads ${t.rest.toFixed(1)} ` +
          `(GC helpers, libuv pool); kernel ${t.system.toFixed(1)} of it`,
      );
    }
  }
  return lines.join('\n');
}

export interface Comparison {
  readonly sync: string;
  readonly writes: number;
  readonly reads: number;
  readonly writeP99: number;
  readonly readP99: number;
}

export function compare(paxosstore: SystemRun, etcd: SystemRun): Comparison {
  return {
    sync: paxosstore.sync,
    writes: paxosstore.write.opsPerSecond / etcd.write.opsPerSecond,
    reads: (paxosstore.read?.opsPerSecond ?? NaN) / (etcd.read?.opsPerSecond ?? NaN),
    writeP99: paxosstore.write.p99Ms / etcd.write.p99Ms,
    readP99: (paxosstore.read?.p99Ms ?? NaN) / (etcd.read?.p99Ms ?? NaN),
  };
}

export function formatComparisons(comparisons: readonly Comparison[]): string {
  const lines = ['PaxosStore / etcd   writes/s   reads/s   write p99   read p99'];
  for (const c of comparisons) {
    const cells = [
      fmtRatio(c.writes).padStart(8),
      fmtRatio(c.reads).padStart(9),
      fmtRatio(c.writeP99).padStart(11),
      fmtRatio(c.readP99).padStart(10),
    ];
    lines.push(`sync ${c.sync.padEnd(14)} ${cells.join(' ')}`);
  }
  const always = comparisons.find((c) => c.sync === 'always');
  if (always !== undefined) {
    // A ratio is NaN when a phase did not run (--phases write): say n/a, not "NOT met".
    const mark = (ratio: number, ok: boolean): string =>
      Number.isNaN(ratio) ? 'n/a' : ok ? 'met' : 'NOT met';
    const p99Worst = Math.max(always.writeP99, always.readP99);
    lines.push(
      `targets at sync always: writes >= ${TARGETS.writesRatioMin}x ${mark(always.writes, always.writes >= TARGETS.writesRatioMin)}, ` +
        `reads >= ${TARGETS.readsRatioMin}x ${mark(always.reads, always.reads >= TARGETS.readsRatioMin)}, ` +
        `lower p99 ${mark(p99Worst, p99Worst < 1)} (write ${fmtRatio(always.writeP99)}, read ${fmtRatio(always.readP99)})`,
    );
  }
  return lines.join('\n');
}
