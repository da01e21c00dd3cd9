/**
 * Command-line parsing shared by the benches: `node:util` parseArgs, strict (an unknown option
 * or a stray positional is an error naming it), `--help` on every bench. A bench declares its
 * flags once (name, type, and the line `--help` prints); defaults stay in the bench.
 */
import { parseArgs } from 'node:util';
import type { EngineName } from '../index';

export interface BenchFlag {
  readonly type: 'string' | 'boolean';
  /** The columns of its `--help` line: the value's form, its default (env var first if any), its meaning. */
  readonly help: readonly string[];
}

export type BenchFlags = Readonly<Record<string, BenchFlag>>;

export interface ParsedBenchArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** The `--help` text: usage line, then one line per flag. */
export function benchUsage(usage: string, flags: BenchFlags): string {
  const rows = Object.entries(flags).map(([name, flag]) => [`--${name}`, ...flag.help]);
  const columns = Math.max(2, ...rows.map((row) => row.length));
  rows.push(['--help', ...Array.from({ length: columns - 2 }, () => ''), 'print this and exit']);
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: string[]): string =>
    `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 2))).join('')}`;
  return [`usage: ${usage}`, ...rows.map(line)].join('\n');
}

/**
 * Parses `argv` against `flags`. Throws a TypeError whose message names the bad option
 * (unknown option, missing value, unexpected positional) for the caller to print.
 */
export function parseBenchArgs(
  argv: readonly string[],
  flags: BenchFlags,
  allowPositionals = false,
): ParsedBenchArgs & { help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, flag] of Object.entries(flags)) options[name] = { type: flag.type };
  const { values, positionals } = parseArgs({
    args: [...argv],
    options,
    strict: true,
    allowPositionals,
  });
  const help = values['help'] === true;
  return { values, positionals, help };
}

/**
 * The bench entry points' handling: `--help` prints the usage and exits 0; a parse or
 * validation error prints `<bench>: <message> (try --help)` and exits 2.
 */
export function parseBenchArgsOrExit<T>(
  bench: string,
  usage: string,
  flags: BenchFlags,
  argv: readonly string[],
  build: (args: ParsedBenchArgs) => T,
  allowPositionals = false,
): T {
  try {
    const args = parseBenchArgs(argv, flags, allowPositionals);
    if (args.help) {
      console.log(benchUsage(usage, flags));
      process.exit(0);
    }
    return build(args);
  } catch (error) {
    console.error(
      `${bench}: ${error instanceof Error ? error.message : String(error)} (try --help)`,
    );
    process.exit(2);
  }
}

/** The string value of a flag, or undefined. */
export function stringFlag(args: ParsedBenchArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A flag that must be a positive integer, or `dflt` when it is absent. */
export function positiveIntFlag(args: ParsedBenchArgs, name: string, dflt: number): number {
  const v = Number(stringFlag(args, name) ?? dflt);
  if (!Number.isInteger(v) || v < 1) throw new TypeError(`--${name} must be a positive integer`);
  return v;
}

/** The two builds an A/B bench alternates: `--a` (required) and `--b` (default `dist`). */
export const AB_BUILD_FLAGS: BenchFlags = {
  a: { type: 'string', help: ['<dir>', '(required)', 'build A (a dist directory)'] },
  b: { type: 'string', help: ['<dir>', 'dist', 'build B'] },
};

/** The builds named by AB_BUILD_FLAGS; a missing `--a` is a usage error. */
export function abBuilds(args: ParsedBenchArgs): { a: string; b: string } {
  const a = stringFlag(args, 'a');
  if (a === undefined) throw new TypeError('--a <dir> is required');
  return { a, b: stringFlag(args, 'b') ?? 'dist' };
}

/** The engines a whole-store A/B bench opens (`--engine`; memory + persist is a flag of its own). */
export const STORE_ENGINES: readonly EngineName[] = ['memory', 'lsm', 'bitcask', 'bitcask2'];

export const ENGINE_FLAG: BenchFlag = {
  type: 'string',
  help: ['NAME', 'memory', STORE_ENGINES.join(' | ')],
};

/** `--engine` (ENGINE_FLAG): one of STORE_ENGINES, memory by default; else a usage error. */
export function engineFlag(args: ParsedBenchArgs): EngineName {
  const name = stringFlag(args, 'engine') ?? 'memory';
  const engine = STORE_ENGINES.find((e) => e === name);
  if (engine === undefined) throw new TypeError(`--engine: one of ${STORE_ENGINES.join(', ')}`);
  return engine;
}
