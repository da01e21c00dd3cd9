// Lint rules that carry STYLE.md (../shared/STYLE.md) and DESIGN.md §2 where a rule can.
// `npm run lint`; CI runs it before the tests.
import tseslint from 'typescript-eslint';

const CORE_FORBIDDEN_GLOBALS = [
  { name: 'Date', message: 'The Paxos core has no clock (STYLE.md §1): take time as an input.' },
  { name: 'setTimeout', message: 'The Paxos core has no timers (STYLE.md §1): use tick().' },
  { name: 'setInterval', message: 'The Paxos core has no timers (STYLE.md §1): use tick().' },
  { name: 'setImmediate', message: 'The Paxos core is synchronous (STYLE.md §1).' },
  { name: 'process', message: 'The Paxos core does no I/O (STYLE.md §1).' },
  { name: 'performance', message: 'The Paxos core has no clock (STYLE.md §1).' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'dist-bug/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // STYLE.md §6/§7: type-only imports; no non-null assertions (assert and narrow instead).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      // STYLE.md §7: functions of 70 lines or fewer.
      'max-lines-per-function': ['error', { max: 70, skipBlankLines: true, skipComments: true }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'No TS enum (STYLE.md §6): use an as-const object.' }],
    },
  },
  {
    // A scenario test reads top to bottom as one script (set up, act, check); splitting it at 70
    // lines would scatter one story over helpers. Production code keeps STYLE.md's 70.
    files: ['test/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 130, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // The pure protocol core (DESIGN.md §2, STYLE.md §1): no clock, timers, randomness or I/O;
    // imports only runtime/assert, runtime/reused-list (a pure list, docs/decisions.md "Lists
    // that keep their slots") and the models' state-machine type.
    files: ['actors/paxos/core/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...CORE_FORBIDDEN_GLOBALS],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'The Paxos core is deterministic (STYLE.md §1).' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'worker_threads', 'fs', 'path', 'os'], message: 'The Paxos core does no I/O (STYLE.md §1).' },
            { regex: '^\\.\\./\\.\\./\\.\\./runtime/(?!assert$|reused-list$)', message: 'The core imports only runtime/assert and runtime/reused-list from the runtime.' },
            { group: ['**/paxos-actor', '**/record-port', '**/store/*'], message: 'The core knows nothing of its shell or the store.' },
          ],
        },
      ],
    },
  },
  {
    // Dependencies point one way (DESIGN.md §2): runtime and engines never import actors.
    files: ['runtime/**/*.ts', 'engines/**/*.ts', 'models/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/actors/**', '../actors/*', '../../actors/*'], message: 'runtime/, engines/ and models/ never import actors/ (DESIGN.md §2).' }] }],
    },
  },
  {
    // cluster/ (cluster/README.md): pure routing and configuration for the node process; it may
    // import node:*, runtime/assert and the store's key hashes, nothing else of the project.
    files: ['cluster/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^\\.\\./runtime/(?!assert$)', message: 'cluster/ imports only runtime/assert from the runtime.' },
            { regex: '^\\.\\./actors/(?!store/routing$|paxos/core/key-hash$)', message: 'cluster/ imports only actors/store/routing and actors/paxos/core/key-hash.' },
            { regex: '^\\.\\./(engines|models|bin|bench|test|examples|index)(/|$)', message: 'cluster/ does not import the engines, models or the public API.' },
            { group: ['worker_threads', 'fs', 'path', 'os', 'crypto', 'util'], message: 'Use the node: prefix (node:fs).' },
          ],
        },
      ],
    },
  },
  {
    // The wire layer (net/README.md) moves opaque frames and knows nothing of Paxos, keys or the
    // store: it imports only node:*, its own files, runtime/assert and engines/crc32.
    files: ['net/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(?!node:|\\./|\\.\\./runtime/assert$|\\.\\./engines/crc32$)', message: 'net/ imports only node:*, ./, runtime/assert and engines/crc32 (net/README.md).' },
          ],
        },
      ],
    },
  },
  {
    // client/ (client/README.md) never imports server/; lower layers never import either.
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./server/', message: 'client/ never imports server/ (client/README.md).' }] }],
    },
  },
);
