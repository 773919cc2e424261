// Loads @appc/store from its TypeScript sources in a plain Node child process (Node 20 has no type stripping):
// vite's module runner transforms the sources, with the `@appc/source` condition vitest uses, and inlines the
// workspace packages (@appc/*) instead of loading their builds.
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

export async function loadStore() {
  const { module } = await runnerImport(entry, {
    logLevel: 'silent',
    root: fileURLToPath(new URL('../../../..', import.meta.url)),
    environments: {
      inline: { resolve: { noExternal: [/^@appc\//], conditions: ['@appc/source'] } },
    },
  });
  return module;
}
