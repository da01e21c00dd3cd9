/**
 * What survives a process kill, and the directory lock, for the bitcask engine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import test from 'ava';
import { BitcaskEngine } from '../../../engines/bitcask/bitcask-engine';
import { isStoreError } from '../../../engines/errors';
import { EngineStore } from '../../../engines/store';
import { contents, withDir, withStore } from './fixtures/bitcask-helpers';
import { expectedAfter, markerKey } from './fixtures/bitcask-workload';

const WRITER = path.join(__dirname, 'fixtures', 'bitcask-writer.js');
const ROUNDS = 4;
const FILE_BYTES_MAX = 16 * 1024;
const MERGE_EVERY = 60;
const STEP_TIMEOUT_MS = 15_000;

/** A child running the writer fixture, with its stdout gathered line by line. */
class Writer {
  readonly child: ChildProcess;
  private text = '';
  private stderr = '';

  constructor(dir: string, start: number) {
    const args = [WRITER, dir, String(start), String(FILE_BYTES_MAX), String(MERGE_EVERY)];
    this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.text += chunk.toString('latin1')));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('latin1')));
  }

  /** Complete lines only: a line cut by the kill was never fully acknowledged. */
  lines(): string[] {
    return this.text.split('\n').slice(0, -1);
  }

  lastAck(): number | undefined {
    const acks = this.lines().filter((line) => line.startsWith('ack '));
    const last = acks[acks.length - 1];
    return last === undefined ? undefined : Number(last.slice(4));
  }

  async waitFor(predicate: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (!predicate()) {
      if (this.child.exitCode !== null) throw new Error(`writer exited early: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`writer: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async kill(): Promise<string | null> {
    const exited = once(this.child, 'exit');
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('writer has no pid');
    process.kill(pid, 'SIGKILL');
    const [, signal] = (await exited) as [number | null, string | null];
    return signal;
  }
}

test('sync:false batches acknowledged before kill -9 survive, across rounds and merges', (t) =>
  withDir(async (dir) => {
    let applied = 0; // batches 0..applied-1 are in the store
    let hintsLoaded = 0; // merged files found at open: merges ran in the child
    for (let round = 0; round < ROUNDS; round++) {
      const writer = new Writer(dir, applied);
      await writer.waitFor(() => writer.lines().includes('open'), 'open');
      if (round === ROUNDS - 1) {
        // However slow the machine, the last round kills only after a merge finished.
        await writer.waitFor(() => writer.lines().includes('merged'), 'a finished merge');
      }
      // Let it write a random while; the kill lands at any point of a write or a merge.
      const runMs = 150 + Math.floor(Math.random() * 400);
      await new Promise((resolve) => setTimeout(resolve, runMs));
      await writer.waitFor(() => writer.lastAck() !== undefined, 'a first ack');
      t.is(await writer.kill(), 'SIGKILL');
      const lastAck = writer.lastAck();
      if (lastAck === undefined) return t.fail('no ack');
      await withStore(dir, { fileBytesMax: FILE_BYTES_MAX }, async ({ engine, store }) => {
        // Every acknowledged batch is in; the one in flight at the kill is all in or all out.
        const inFlightLanded = (await store.get(markerKey(lastAck + 1))) !== undefined;
        applied = lastAck + 1 + (inFlightLanded ? 1 : 0);
        t.deepEqual(await contents(store), expectedAfter(applied), `round ${round}`);
        const recovery = engine.bitcaskStats().recovery;
        hintsLoaded += recovery?.hintFilesLoaded ?? 0;
        t.log(`round ${round}: ${lastAck + 1} acked, in flight landed: ${inFlightLanded}`);
        t.log(recovery);
      });
    }
    t.true(applied > ROUNDS, `${applied} batches applied`);
    t.true(hintsLoaded > 0, 'the child merged at least once');
  }),
);

test('two opens at once: exactly one gets the lock', (t) =>
  withDir(async (dir) => {
    const engines = [new BitcaskEngine(dir), new BitcaskEngine(dir)];
    const results = await Promise.allSettled(engines.map((engine) => engine.open()));
    const locked = results.filter(
      (r) => r.status === 'rejected' && isStoreError(r.reason, 'LOCKED'),
    );
    t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
    t.is(locked.length, 1);
    await Promise.all(engines.map((engine) => engine.close()));
  }),
);

test('a live process holding the directory: LOCKED; once killed, its lock is taken', (t) =>
  withDir(async (dir) => {
    const writer = new Writer(dir, 0);
    await writer.waitFor(() => writer.lastAck() !== undefined, 'a first ack');
    const err = await t.throwsAsync(() => new BitcaskEngine(dir).open());
    t.true(isStoreError(err, 'LOCKED'), String(err));
    t.is(await writer.kill(), 'SIGKILL');
    await withStore(dir, undefined, async ({ store }) => {
      t.truthy(await store.get(markerKey(0)));
    });
  }),
);
