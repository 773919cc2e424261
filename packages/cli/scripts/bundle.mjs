#!/usr/bin/env node
// Bundles the built CLI (dist/bin.js and every workspace library it imports) into dist/appc.cjs, the `appc` bin,
// with one chunk per lazily loaded command under dist/chunks/. Loading ~80 ES modules one by one cost `appc run`
// about 50 ms of its start-up; a handful of files cost a fraction of that. The bundle is CommonJS: Node starts a
// CommonJS entry and requires its chunks sooner than it loads ES modules (another ~30 ms on `appc run`).
// better-sqlite3's JavaScript is bundled too; its compiled addon stays in the better-sqlite3 package (a dependency
// of this one), where @appc/store finds it. Outside the bundle, as dependencies of this package: openpgp (LGPL: it
// stays a library of its own that a user can replace), and ajv and ajv-formats, which only @appc/schema's
// validateWithJsonSchema loads (the CLI never calls it). Run after `tsc --build` (the root `build` script does
// both).
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));

// chunk names carry a hash of their content: the last build's go first
rmSync(join(pkgDir, 'dist', 'chunks'), { recursive: true, force: true });
const bundle = await rolldown({
  input: { appc: join(pkgDir, 'dist', 'bin.js') },
  platform: 'node',
  external: [/^node:/, 'openpgp', /^ajv(\/|$)/, 'ajv-formats'],
  // the libraries' built files (dist/), never their TypeScript sources
  resolve: { conditionNames: ['import', 'node', 'default'] },
  transform: { define: { __APPC_CLI_VERSION__: JSON.stringify(version) } },
  logLevel: 'warn',
});
await bundle.write({
  dir: join(pkgDir, 'dist'),
  format: 'cjs',
  entryFileNames: '[name].cjs',
  chunkFileNames: 'chunks/[name]-[hash].cjs',
  minify: false,
});
await bundle.close();
