/**
 * The API's contract at its edges (issue 13, item 3): every public method of every handle,
 * called with adversarial arguments (BigInts, symbols, cyclic objects, proxies and revoked
 * proxies, null-prototype objects, sparse arrays, huge strings, lone surrogates, NaN and
 * Infinity, fake and detached Uint8Arrays, throwing getters) either succeeds or fails with a
 * PaxosStoreError whose code is in the README's error table — thrown or rejected, and also
 * while an async iterator is consumed. The README's table and ErrorCodes list the same codes.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, PaxosStore, PaxosStoreError } from '../../index';
import { openStore, tempDir } from './helpers';

const README = path.join(__dirname, '..', '..', '..', 'README.md');

/** The codes of the README's "### Errors" table (first column; cells may list several). */
function readmeCodes(): Set<string> {
  const text = fs.readFileSync(README, 'utf8');
  const start = text.indexOf('### Errors');
  const end = text.indexOf('\n#', start + 1);
  const codes = new Set<string>();
  for (const line of text.slice(start, end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(/`([A-Z_]+)`/g)) if (m[1] !== undefined) codes.add(m[1]);
  }
  return codes;
}

test("the README's error table lists exactly the codes of ErrorCodes", (t) => {
  t.deepEqual([...readmeCodes()].sort(), Object.values(ErrorCodes).sort());
});

// ---- adversarial values (each made fresh per call: some are stateful) ----

type Make = () => unknown;

const HUGE = 'x'.repeat(30 * 1024 * 1024);

function cyclicObject(): object {
  const o: Record<string, unknown> = { consistency: 'local', opId: 'o' };
  o.self = o;
  return o;
}

function cyclicArray(): unknown[] {
  const a: unknown[] = [];
  a.push(a);
  return a;
}

function detached(length: number): Uint8Array {
  const view = new Uint8Array(length);
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}

function revoked(): object {
  const r = Proxy.revocable({}, {});
  r.revoke();
  return r.proxy;
}

const boom = (): never => {
  throw new Error('trap');
};
/** A proxy every trap of which throws. */
const throwingProxy = (): object =>
  new Proxy(
    {},
    {
      get: boom,
      has: boom,
      ownKeys: boom,
      getPrototypeOf: boom,
      getOwnPropertyDescriptor: boom,
      apply: boom,
      set: boom,
    },
  );

/** Each property answers a valid value to its first read and a BigInt to every later one. */
function fickle(): object {
  const target: Record<string, unknown> = {
    c: 'x',
    n: 1,
    consistency: 'local',
    opId: 'o',
    limit: 1,
    gte: 'a',
    op: 'set',
    path: 'a',
    value: 1,
    indexes: ['c'],
  };
  const seen = new Set<string | symbol>();
  return new Proxy(target, {
    get(t, key): unknown {
      if (seen.has(key)) return 1n;
      seen.add(key);
      return t[key as string];
    },
  });
}

const ADVERSARIAL: Array<[string, Make]> = [
  ['1n', () => 1n],
  ['2^70n', () => 2n ** 70n],
  ['Symbol', () => Symbol('s')],
  ['Object(Symbol)', () => Object(Symbol('s'))],
  ['cyclic object', cyclicObject],
  ['cyclic array', cyclicArray],
  ['empty Proxy', () => new Proxy({}, {})],
  ['throwing Proxy', throwingProxy],
  ['revoked Proxy', revoked],
  ['Proxy of an array', () => new Proxy([{ op: 'set', path: 'a', value: 1 }], {})],
  ['Proxy of a Uint8Array', () => new Proxy(new Uint8Array(4), {})],
  ['null-prototype object', () => Object.create(null)],
  ['Uint8Array.prototype object', () => Object.create(Uint8Array.prototype)],
  ['sparse array', () => [, 1]],
  ['new Array(5)', () => new Array(5)],
  ['30 MiB string', () => HUGE],
  ['1025-char string', () => 'k'.repeat(1025)],
  ['lone high surrogate', () => '\ud800'],
  ['lone low surrogate', () => 'a\udc00'],
  ['NaN', () => Number.NaN],
  ['Infinity', () => Number.POSITIVE_INFINITY],
  ['-Infinity', () => Number.NEGATIVE_INFINITY],
  ['-0', () => -0],
  ['2^53', () => 2 ** 53],
  ['1.5', () => 1.5],
  ['-1', () => -1],
  ['detached Uint8Array', () => detached(8)],
  ['empty detached Uint8Array', () => detached(0)],
  ['function', () => () => 1],
  ['null', () => null],
  ['undefined', () => undefined],
  ['true', () => true],
  ['empty string', () => ''],
  ['{}', () => ({})],
  ['[]', () => []],
  ['String object', () => new String('k')],
  ['Date', () => new Date(0)],
  ['Map', () => new Map([['consistency', 'local']])],
  [
    'throwing getters',
    () => ({
      get consistency(): never {
        return boom();
      },
      get opId(): never {
        return boom();
      },
      get limit(): never {
        return boom();
      },
      get gte(): never {
        return boom();
      },
      get indexes(): never {
        return boom();
      },
      get ifVersion(): never {
        return boom();
      },
    }),
  ],
  [
    'ops with a throwing getter',
    () => [
      {
        op: 'set',
        path: 'a',
        get value(): never {
          return boom();
        },
      },
    ],
  ],
  ['fickle object', fickle],
  ['fickle ops', () => [fickle()]],
];

/** Values that let a call get past validation, so later arguments and the send are exercised. */
const VALID: Array<[string, Make]> = [
  ['"k"', () => 'k'],
  ['"a"', () => 'a'],
  ['"a.b"', () => 'a.b'],
  ['0', () => 0],
  ['1', () => 1],
  ['2', () => 2],
  ['Buffer', () => Buffer.from('v')],
  ['Uint8Array(0)', () => new Uint8Array(0)],
  ['local', () => ({ consistency: 'local' })],
  ['{ opId }', () => ({ opId: 'op' })],
  [
    'ops',
    () => [
      { op: 'set', path: 'a', value: 1 },
      { op: 'incr', path: 'n' },
    ],
  ],
  ['{ indexes }', () => ({ indexes: ['c'] })],
  ['{ gte, lt, limit }', () => ({ gte: 'a', lt: 'z', limit: 3 })],
  ['[[0], [1, 2]]', () => [[0], [1, 2]]],
];

const argArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ADVERSARIAL) },
  { weight: 2, arbitrary: fc.constantFrom(...VALID) },
);
const argsArb = fc.array(argArb, { minLength: 0, maxLength: 4 });
/** Per position: null keeps the method's valid argument there, else an adversarial one. */
const mutationArb = fc.array(
  fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: argArb }),
  { minLength: 0, maxLength: 4 },
);

const v = (name: string, value: unknown): [string, Make] => [name, () => value];
/** A valid call of each handle method (values made fresh per call). */
const METHOD_ARGS: Record<string, Array<[string, Make]>> = {
  'kv.put': [v('"k"', 'k'), ['Buffer', () => Buffer.from('v')]],
  'kv.get': [v('"k"', 'k'), v('local', { consistency: 'local' })],
  'kv.cas': [v('"k"', 'k'), v('0', 0), v('"v"', 'v')],
  'kv.delete': [v('"k"', 'k')],
  'kv.incr': [v('"n"', 'n'), v('2', 2)],
  'queue.push': [v('"a"', 'a'), ['Uint8Array', () => new Uint8Array([1])]],
  'queue.range': [v('0', 0), v('3', 3), v('{}', {})],
  'set.add': [v('"a"', 'a'), ['Buffer', () => Buffer.from('b')]],
  'set.remove': [v('"a"', 'a')],
  'set.has': [v('"a"', 'a'), v('local', { consistency: 'local' })],
  'table.set': [v('"r"', 'r'), v('"c"', 'c'), v('"v"', 'v')],
  'table.get': [v('"r"', 'r'), v('"c"', 'c')],
  'table.row': [v('"r"', 'r')],
  'table.delete': [v('"r"', 'r'), v('"c"', 'c')],
  'table.deleteRow': [v('"r"', 'r')],
  'doc.update': [
    [
      'ops',
      () => [
        { op: 'set', path: 'a.b', value: { x: [1, 'y', null] } },
        { op: 'incr', path: 'n', by: 2 },
      ],
    ],
    v('{}', {}),
  ],
  'doc.get': [v('"a.b"', 'a.b'), v('{}', {})],
  'account.add': [v('5', 5), ['{ opId }', () => ({ opId: 'op-add' })]],
  'account.subtract': [v('1', 1), ['{ opId }', () => ({ opId: 'op-sub' })]],
  'account.prepare': [v('"tx"', 'tx'), v('-1', -1)],
  'account.commit': [v('"tx"', 'tx')],
  'account.rollback': [v('"tx2"', 'tx2')],
  'account.journalPage': [v('0', 0), ['{ limit }', () => ({ limit: 10 })]],
  'account.journal': [['{ fromVersion }', () => ({ fromVersion: 0, pageSize: 2 })]],
  'bigtable.insert': [v('"pk"', 'pk'), ['row', () => ({ c: 'x', n: 1, b: true, z: null })]],
  'bigtable.update': [v('"pk"', 'pk'), ['patch', () => ({ n: 2 })]],
  'bigtable.delete': [v('"pk"', 'pk')],
  'bigtable.get': [v('"pk"', 'pk')],
  'bigtable.scan': [['{ gte, lt, limit }', () => ({ gte: 'a', lt: 'z', limit: 3 })]],
  'bigtable.byIndex': [v('"c"', 'c'), v('"x"', 'x'), ['{ limit }', () => ({ limit: 2 })]],
};

/** The method's valid arguments with some positions replaced (or appended) by adversarial ones. */
function mutate(
  template: Array<[string, Make]>,
  mutation: Array<[string, Make] | null>,
): Array<[string, Make]> {
  const out = [...template];
  mutation.forEach((m, i) => {
    if (m !== null) out[i] = m;
  });
  // Positions past the template that were kept stay absent (no holes in the argument list).
  return out.filter((a): a is [string, Make] => a !== undefined);
}

/** Arguments that make a handle, so that most runs reach the handle's methods. */
const HANDLE_ARGS: Record<string, Array<[string, Make]>> = {
  kv: [['"ns"', () => 'ns']],
  queue: [['"q"', () => 'q']],
  set: [['"s"', () => 's']],
  table: [['"t"', () => 't']],
  doc: [['"d"', () => 'd']],
  account: [['"acct"', () => 'acct']],
  bigtable: [
    ['"bt"', () => 'bt'],
    ['{ indexes: [c] }', () => ({ indexes: ['c'] })],
  ],
  replica: [['1', () => 1]],
  partition: [['[[0], [1, 2]]', () => [[0], [1, 2]]]],
  verify: [['{ buckets: 4 }', () => ({ buckets: 4 })]],
  heal: [],
};

const DOCUMENTED: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

type AnyFn = (...args: unknown[]) => unknown;

/** Every public method of each handle, by name (the store's own, then each handle's). */
const STORE_METHODS = [
  'kv',
  'queue',
  'set',
  'table',
  'doc',
  'account',
  'bigtable',
  'replica',
  'partition',
  'heal',
  'verify',
  'stats',
];
const HANDLE_METHODS: Record<string, string[]> = {
  kv: ['put', 'get', 'cas', 'delete', 'incr'],
  queue: ['push', 'pop', 'peek', 'length', 'range'],
  set: ['add', 'remove', 'has', 'members', 'size'],
  table: ['set', 'get', 'row', 'all', 'delete', 'deleteRow'],
  doc: ['update', 'get'],
  account: [
    'balance',
    'add',
    'subtract',
    'prepare',
    'commit',
    'rollback',
    'journalPage',
    'journal',
  ],
  bigtable: ['insert', 'update', 'delete', 'get', 'scan', 'byIndex'],
  replica: ['kv', 'queue', 'set', 'table', 'doc', 'account', 'bigtable'],
};

/** Settles a call's result: a promise, an async iterator (read a few items), or a value. */
async function settle(result: unknown): Promise<unknown> {
  const value = await result;
  if (typeof value === 'object' && value !== null && Symbol.asyncIterator in value) {
    const it = value as AsyncIterableIterator<unknown>;
    for (let i = 0; i < 3; i++) if ((await it.next()).done === true) break;
    await it.return?.(undefined);
  }
  return value;
}

/** Outcomes by method: how many calls succeeded and how many failed with each code. */
const outcomes = new Map<string, Map<string, number>>();

function count(method: string, outcome: string): void {
  const m = outcomes.get(method) ?? new Map<string, number>();
  m.set(outcome, (m.get(outcome) ?? 0) + 1);
  outcomes.set(method, m);
}

/** Requests the stores under test have handed to their pipelines (see countRequests). */
let requestsSent = 0;

/**
 * Counts what reaches the store's request pipeline (an internal: the check is skipped if it
 * moves), so that a call refused with INVALID_ARGUMENT can be shown to have sent nothing.
 */
function countRequests(t: ExecutionContext, store: PaxosStore): void {
  // Every request goes through submitFor (submit answers through it too).
  const pipeline = (store as unknown as { pipeline?: { submitFor?: AnyFn } }).pipeline;
  const submitFor = pipeline?.submitFor;
  if (pipeline === undefined || typeof submitFor !== 'function') {
    t.log('the store has no pipeline.submitFor: requests are not counted');
    return;
  }
  pipeline.submitFor = (...args: unknown[]): unknown => {
    requestsSent += 1;
    return submitFor.apply(pipeline, args);
  };
}

/** Runs `call`; a failure must be a PaxosStoreError with a documented code. */
async function check(
  t: ExecutionContext,
  what: string,
  call: () => unknown,
  method = what,
): Promise<unknown> {
  const sentBefore = requestsSent;
  try {
    const result = await settle(call());
    count(method, 'ok');
    return result;
  } catch (error) {
    count(method, error instanceof PaxosStoreError ? error.code : 'UNDOCUMENTED');
    if (
      error instanceof PaxosStoreError &&
      error.code === 'INVALID_ARGUMENT' &&
      requestsSent !== sentBefore
    ) {
      t.fail(
        `${what}: INVALID_ARGUMENT after ${requestsSent - sentBefore} requests were sent (${error.message})`,
      );
    }
    if (!(error instanceof PaxosStoreError) || !DOCUMENTED.has(error.code)) {
      const shown =
        error instanceof Error
          ? `${error.name} ${(error as { code?: unknown }).code}: ${error.message}`
          : typeof error;
      t.fail(`${what} failed with ${shown}`);
      throw new Error(`${what}: ${shown}`);
    }
    return undefined;
  }
}

const names = (args: Array<[string, Make]>): string => args.map(([n]) => n).join(', ');

/**
 * One run: a store method with adversarial arguments; if it made a handle, one of its methods
 * with adversarial arguments (and, for a replica handle, one more level).
 */
async function runOne(
  t: ExecutionContext,
  store: PaxosStore,
  storeMethod: string,
  valid: boolean,
  a1: Array<[string, Make]>,
  method: number,
  a2: Array<[string, Make]>,
  a3: Array<[string, Make]>,
  m2: Array<[string, Make] | null>,
): Promise<void> {
  const s = store as unknown as Record<string, AnyFn>;
  const what = `store.${storeMethod}(${names(a1)})`;
  const made = await check(
    t,
    what,
    () => s[storeMethod]?.(...a1.map(([, make]) => make())),
    `store.${storeMethod}`,
  );
  if (storeMethod === 'partition') store.heal();
  const methods = HANDLE_METHODS[storeMethod];
  if (made === undefined || methods === undefined) return;
  const name = methods[method % methods.length] ?? '';
  const h = made as Record<string, AnyFn>;
  // Through a replica handle, mostly make a valid data handle first.
  if (storeMethod === 'replica' && valid) a2 = HANDLE_ARGS[name] ?? a2;
  else if (valid) a2 = mutate(METHOD_ARGS[`${storeMethod}.${name}`] ?? [], m2);
  const what2 = `${what}.${name}(${names(a2)})`;
  const made2 = await check(
    t,
    what2,
    () => h[name]?.(...a2.map(([, make]) => make())),
    `${storeMethod}.${name}`,
  );
  const methods2 = HANDLE_METHODS[name];
  if (storeMethod !== 'replica' || made2 === undefined || methods2 === undefined) return;
  const name2 = methods2[Math.floor(method / methods.length) % methods2.length] ?? '';
  if (valid) a3 = mutate(METHOD_ARGS[`${name}.${name2}`] ?? [], m2);
  const h2 = made2 as Record<string, AnyFn>;
  await check(
    t,
    `${what2}.${name2}(${names(a3)})`,
    () => h2[name2]?.(...a3.map(([, make]) => make())),
    `${name}.${name2}`,
  );
}

async function property(
  t: ExecutionContext,
  store: PaxosStore,
  storeMethods: string[],
  numRuns: number,
): Promise<void> {
  requestsSent = 0;
  countRequests(t, store);
  const canary = await store.kv('canary').put('k', 'original');
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...storeMethods),
      fc.nat(9),
      argsArb,
      fc.nat(),
      argsArb,
      argsArb,
      mutationArb,
      async (m, valid, a1, method, a2, a3, m2) => {
        // Mostly a handle that can be made, then a method with some adversarial arguments.
        await runOne(
          t,
          store,
          m,
          valid < 8,
          valid < 8 ? (HANDLE_ARGS[m] ?? []) : a1,
          method,
          a2,
          a3,
          m2,
        );
      },
    ),
    {
      // PXS_CONTRACT_RUNS=k runs k times as many; PXS_CONTRACT_SEED=<seed> replays a failure.
      numRuns: numRuns * Number(process.env.PXS_CONTRACT_RUNS ?? 1),
      seed:
        process.env.PXS_CONTRACT_SEED === undefined
          ? undefined
          : Number(process.env.PXS_CONTRACT_SEED),
    },
  );
  t.deepEqual(await store.kv('canary').get('k'), {
    value: Buffer.from('original'),
    version: canary.version,
  });
  t.is((await store.stats()).inFlight, 0);
  const summary = [...outcomes].map(
    ([m, o]) => `${m}: ${[...o].map(([c, n]) => `${c} ${n}`).join(', ')}`,
  );
  t.log(`${requestsSent} requests sent in all\n${summary.join('\n')}`);
  t.true(requestsSent > numRuns / 8, 'the runs reach the replicas, not only the argument checks');
  outcomes.clear();
}

test.serial(
  'every method × adversarial arguments: success or a documented PaxosStoreError (memory)',
  async (t) => {
    const store = await openStore(t);
    await property(t, store, STORE_METHODS, 600);
    t.pass();
  },
);

test.serial(
  'big tables × adversarial arguments: success or a documented PaxosStoreError (lsm)',
  async (t) => {
    const store = await openStore(t, { engine: 'lsm', dir: tempDir(t) });
    await property(t, store, ['bigtable', 'replica'], 200);
    t.pass();
  },
);

test.serial(
  'PaxosStore.open × adversarial options: a documented PaxosStoreError, never a TypeError',
  async (t) => {
    const open = PaxosStore.open as AnyFn;
    // Plain objects with no options: the defaults (not opened here).
    const defaults = new Set(['undefined', '{}', 'empty Proxy', 'null-prototype object']);
    for (const [name, make] of ADVERSARIAL) {
      if (!defaults.has(name)) {
        const result = await check(t, `open(${name})`, () => open(make()));
        if (result instanceof PaxosStore) {
          await result.close();
          t.fail(`open(${name}) resolved`);
        }
      }
      for (const option of [
        'replicas',
        'engine',
        'sync',
        'workers',
        'dir',
        'persist',
        'valueBytesMax',
      ]) {
        // Absent means the default; plain memory ignores a valid dir.
        if (name === 'undefined' || (option === 'dir' && name === '1025-char string')) continue;
        const opened = await check(t, `open({ ${option}: ${name} })`, () =>
          open({ [option]: make() }),
        );
        if (opened instanceof PaxosStore) {
          await opened.close();
          t.fail(`open({ ${option}: ${name} }) resolved`);
        }
      }
    }
    t.pass();
  },
);
