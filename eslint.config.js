import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * Modules are entered through their index.ts.
 * - A module is a top-level folder under src/ (alias-cache, boundary, cli, …); from anywhere
 *   outside it (another module, test/, bench/, scripts/) only `<module>/index.js` may be imported.
 * - A folder deeper in src/ with its own index.ts is a sub-module (proxy/transparent,
 *   proxy/connect): elsewhere in its module it is entered through that index; its own files may
 *   still use their parent module's files (proxy/types.ts, relay.ts), which are the module's
 *   shared inside.
 * - A folder without index.ts (platform/linux, platform/darwin, platform/service,
 *   dns/handlers) is part of its module, not a boundary: darwin reuses linux helpers, the
 *   handlers are built on dns's wire and packet code, and the module's index.ts exposes what
 *   others use of them.
 * - Within one (sub-)module any relative import is fine, unit tests next to the code included.
 * The folders are read from the tree, so a new module or sub-module is covered without a
 * change here. Dynamic `import()` is not checked by the rule.
 */
const root = import.meta.dirname;
const src = join(root, 'src');
const message = 'Enter the module through its index.js; it re-exports what other modules use.';
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function folders(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isDirectory()) {
      const path = join(dir, entry.name);
      out.push(path, ...folders(path));
    }
  return out;
}
const srcFolders = existsSync(src) ? folders(src) : [];
const subModules = srcFolders.filter(
  (dir) => relative(src, dir).includes('/') && existsSync(join(dir, 'index.ts')),
);
const topOf = (dir) => relative(src, dir).split('/')[0];

function moduleEntryRules(dir) {
  const depth = relative(src, dir).split('/').length;
  const patterns = [
    // Up to src/, then into another module's folder anywhere but its index.js.
    { regex: `^(\\.\\./){${depth}}(?!\\.\\.)[^/]+/(?!index\\.js$)`, message },
  ];
  for (const sub of subModules) {
    if (topOf(sub) !== topOf(dir) || sub === dir || (dir + '/').startsWith(sub + '/')) continue;
    let path = relative(dir, sub);
    if (!path.startsWith('.')) path = `./${path}`;
    patterns.push({ regex: `^${escape(path)}/(?!index\\.js$)`, message });
  }
  return {
    files: [`${relative(root, dir)}/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  ...srcFolders.map(moduleEntryRules),
  {
    // Integration tests, benchmarks and scripts use the modules as other modules do.
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(\\.\\./)+src/[^/]+/(?!index\\.js$)', message }] },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
