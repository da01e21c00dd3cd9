#!/usr/bin/env node
/**
 * paxosstore — a small command-line tool over an embedded Set on disk (lsm engine).
 *
 *   paxosstore --dir ./data put <namespace> <key> <value>
 *   paxosstore --dir ./data get <namespace> <key>
 *   paxosstore --dir ./data incr <namespace> <key> [by]
 *   paxosstore --dir ./data delete <namespace> <key>
 */
import { PaxosStore } from '../index';

function usage(): never {
  console.error('usage: paxosstore --dir DIR (put NS KEY VALUE | get NS KEY | incr NS KEY [BY] | delete NS KEY)');
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('--dir');
  if (argv.includes('--help') || at === -1 || argv[at + 1] === undefined) usage();
  const dir = argv[at + 1] as string;
  const [command, ns, key, arg] = argv.filter((_, i) => i !== at && i !== at + 1);
  if (command === undefined || ns === undefined || key === undefined) usage();
  const store = await PaxosStore.open({ engine: 'lsm', dir, sync: 'always', workers: 1, groups: 4 });
  try {
    const kv = store.kv(ns);
    if (command === 'put' && arg !== undefined) console.log(JSON.stringify(await kv.put(key, arg)));
    else if (command === 'get') {
      const r = await kv.get(key);
      console.log(r === undefined ? '(absent)' : JSON.stringify({ value: r.value.toString(), version: r.version }));
    } else if (command === 'incr') console.log(JSON.stringify(await kv.incr(key, arg === undefined ? 1 : Number(arg))));
    else if (command === 'delete') console.log(JSON.stringify(await kv.delete(key)));
    else usage();
  } finally {
    await store.close();
  }
}

main(process.argv.slice(2)).catch((err: { code?: string; message: string }) => {
  console.error(`${err.code ?? 'ERROR'}: ${err.message}`);
  process.exit(1);
});
