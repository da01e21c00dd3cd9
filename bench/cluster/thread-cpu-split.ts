/**
 * Where the servers' CPU goes, by thread (issue 10, "Over TCP"): per server process, the main
 * thread (tid = pid: the wire, the request path, the hop to the workers), its `busiest` other
 * threads (the worker threads: with one worker per node it is by far the busiest, ~10× any
 * helper), and the rest (V8's GC and compiler helpers and libuv's pool, which runs the
 * engines' writes and fdatasyncs). Node names none of its threads, so "busiest" stands in for
 * "worker"; the bench prints it as such. User and system time are kept apart: system time is
 * the kernel's share (loopback TCP, futex wake-ups, fdatasync).
 */
import * as fs from 'node:fs';
import { assert } from '../../runtime/assert';

export interface ThreadCpu {
  readonly pid: number;
  readonly tid: number;
  readonly userMicros: number;
  readonly systemMicros: number;
}

/** Microseconds of server CPU per operation, by thread class. */
export interface ThreadCpuSplit {
  readonly main: number;
  /** The `busiest` non-main threads of each process (the workers). */
  readonly busiest: number;
  readonly rest: number;
  /** Kernel time of all threads, a part of the three above. */
  readonly system: number;
}

/** Clock ticks per second for /proc/<pid>/task/<tid>/stat; 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
/** A bound on the threads read per process (Node has ~12 with one worker). */
const THREADS_MAX = 4096;

/** Every thread's CPU so far; a thread that ended between the listing and the read is left out. */
export function readThreadCpu(pids: readonly number[]): ThreadCpu[] {
  const out: ThreadCpu[] = [];
  for (const pid of pids) {
    const tids = fs.readdirSync(`/proc/${pid}/task`).slice(0, THREADS_MAX);
    for (const tid of tids) {
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const user = Number(rest[11]);
      const system = Number(rest[12]);
      assert(Number.isFinite(user) && Number.isFinite(system), `bad stat of ${pid}/${tid}`);
      const micros = 1_000_000 / CLOCK_TICKS_PER_SECOND;
      out.push({ pid, tid: Number(tid), userMicros: user * micros, systemMicros: system * micros });
    }
  }
  return out;
}

/**
 * The CPU each thread used between `before` and `after`, divided by `ops`, split per process
 * into main / the `busiest` other threads / the rest. A thread born in between counts from 0.
 */
export function splitThreadCpu(
  before: readonly ThreadCpu[],
  after: readonly ThreadCpu[],
  busiest: number,
  ops: number,
): ThreadCpuSplit {
  assert(Number.isInteger(busiest) && busiest >= 0, `busiest ${busiest}`);
  assert(ops > 0, `ops ${ops}`);
  const start = new Map(before.map((t) => [`${t.pid}/${t.tid}`, t]));
  const others = new Map<number, number[]>();
  let main = 0;
  let system = 0;
  for (const t of after) {
    const s = start.get(`${t.pid}/${t.tid}`);
    const user = t.userMicros - (s?.userMicros ?? 0);
    const kernel = t.systemMicros - (s?.systemMicros ?? 0);
    assert(user >= 0 && kernel >= 0, `thread ${t.pid}/${t.tid}: CPU went down`);
    system += kernel;
    if (t.tid === t.pid) main += user + kernel;
    else {
      const list = others.get(t.pid) ?? [];
      list.push(user + kernel);
      others.set(t.pid, list);
    }
  }
  let top = 0;
  let rest = 0;
  for (const list of others.values()) {
    list.sort((a, b) => b - a);
    list.forEach((micros, i) => {
      if (i < busiest) top += micros;
      else rest += micros;
    });
  }
  return { main: main / ops, busiest: top / ops, rest: rest / ops, system: system / ops };
}
