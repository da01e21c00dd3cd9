/**
 * Also checks item 5: new directories are fsynced into their parents.
 *
 * lsm with sync 'none' (issue 12, item 4): a clean close removes UNSYNCED-RUN, which tells the
 * next open that nothing acknowledged can be missing. That is only true after a power loss if
 * close made LevelDB's log durable first; LevelDB's own close syncs nothing. A power loss cannot
 * be staged in a test, so this one watches the system calls: a child runs a 'none' store under
 * strace and closes it, and every group's LevelDB log must have been fsynced (or fdatasynced)
 * before the marker was removed. Skipped where strace is missing or not permitted.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { INDEX_JS, runNode, tempDir } from './helpers';

const straceWorks = ((): boolean => {
  const probe = spawnSync('strace', ['-f', '-e', 'trace=fsync', '-o', '/dev/null', 'true'], {
    stdio: 'ignore',
  });
  return probe.status === 0;
})();

(straceWorks ? test : test.skip)(
  'lsm, sync none: a clean close fsyncs every LevelDB log before it removes UNSYNCED-RUN; new directories are fsynced into their parents',
  async (t) => {
    const dir = tempDir(t);
    const trace = path.join(dir, 'strace.txt');
    const data = path.join(dir, 'data');
    const script = `
    const { PaxosStore } = require(${JSON.stringify(INDEX_JS)});
    (async () => {
      const store = await PaxosStore.open({ workers: 2, groups: 4, engine: 'lsm', dir: ${JSON.stringify(data)}, sync: 'none' });
      for (let i = 0; i < 100; i++) await store.kv('ns').put('k' + i, 'v' + i);
      await store.close();
    })().catch((e) => { console.error(e); process.exit(2); });
  `;
    const args = [
      '-f',
      '-y',
      '-e',
      'trace=fsync,fdatasync,unlink,unlinkat,mkdir,mkdirat',
      '-o',
      trace,
      process.execPath,
      '-e',
      script,
    ];
    // runNode starts process.execPath; strace is started the same way through a small shim.
    const shim = `require('child_process').spawnSync('strace', ${JSON.stringify(args)}, { stdio: 'inherit' }).status === 0 || process.exit(3);`;
    const child = await runNode(t, ['-e', shim], 120_000);
    t.is(child.code, 0, child.stderr);
    t.false(fs.existsSync(path.join(data, 'UNSYNCED-RUN')));
    const lines = fs.readFileSync(trace, 'utf8').split('\n');
    const markerRemoved = lines.findIndex((line) => /unlink(at)?\(.*UNSYNCED-RUN/.test(line));
    t.true(markerRemoved >= 0, 'the marker removal is in the trace');
    for (let r = 0; r < 3; r++) {
      for (let g = 0; g < 4; g++) {
        const log = new RegExp(`f(data)?sync\\(\\d+<[^>]*replica-${r}/group-${g}/\\d+\\.log>`);
        const synced = lines.findIndex((line) => log.test(line));
        t.true(
          synced >= 0 && synced < markerRemoved,
          `replica ${r} group ${g}: log fsynced before the marker went`,
        );
      }
    }
    // Item 5: every directory the store created (data dir, replica-R, group-G) is made durable in
    // its parent: an fsync of the parent follows the mkdir.
    const created = createdDirectories(lines);
    const ours = created.filter(({ dir: made }) => made.startsWith(data));
    t.true(ours.length >= 1 + 3 + 12, `${ours.length} directories created`);
    for (const { dir: made, at } of ours) {
      const parent = path.dirname(made);
      const synced = lines.some(
        (line, i) => i > at && line.includes(`fsync(`) && line.includes(`<${parent}>`),
      );
      t.true(synced, `${made}: its parent was fsynced after the mkdir`);
    }
  },
);

/** Directories strace saw created (mkdir returned 0), with the line where that happened. */
function createdDirectories(lines: readonly string[]): Array<{ dir: string; at: number }> {
  const pending = new Map<string, string>(); // pid → path of an unfinished mkdir
  const out: Array<{ dir: string; at: number }> = [];
  lines.forEach((line, at) => {
    const pid = line.split(/\s+/)[0] ?? '';
    const call = /mkdir(?:at)?\((?:[^,"]+, )?"([^"]+)"/.exec(line);
    if (call !== null) {
      if (line.includes('<unfinished')) pending.set(pid, call[1]);
      else if (/\) = 0$/.test(line)) out.push({ dir: call[1], at });
      return;
    }
    const resumed = pending.get(pid);
    if (resumed !== undefined && line.includes('mkdir resumed')) {
      pending.delete(pid);
      if (/= 0$/.test(line)) out.push({ dir: resumed, at });
    }
  });
  return out;
}
