/**
 * Every compiled example (dist/examples/*.js) runs as a child process and exits 0.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runNode } from './helpers';

const EXAMPLES_DIR = path.resolve(__dirname, '..', '..', 'examples');
const TIMEOUT_MS = 20_000;

const examples = fs.existsSync(EXAMPLES_DIR)
  ? fs
      .readdirSync(EXAMPLES_DIR)
      .filter((f) => f.endsWith('.js'))
      .sort()
  : [];

test('there is at least one example', (t) => {
  t.true(examples.length > 0, `no .js files in ${EXAMPLES_DIR}`);
  t.true(examples.includes('bigtable.js'), 'the big-table example is built and run');
});

for (const file of examples) {
  test(`example ${file} exits 0`, async (t) => {
    const script = path.join(EXAMPLES_DIR, file);
    const r = await runNode(t, [script], TIMEOUT_MS, EXAMPLES_DIR);
    t.false(r.timedOut, `${file} still running after ${TIMEOUT_MS} ms`);
    t.is(r.signal, null);
    t.is(r.code, 0, `stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
    t.not(r.stdout.trim(), '', 'the example prints what it does');
  });
}
