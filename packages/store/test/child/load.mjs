// Loads @appc/store from its TypeScript sources in a plain Node child process (Node 20 has no type stripping):
// a vite dev server's module runner transforms the sources, with the `@appc/source` condition vitest uses, and
// inlines the workspace packages (@appc/*) instead of loading their builds. The runner stays open for the
// child's life, because the store loads some packages (@appc/aci, discovery, verify) on first use.
import { fileURLToPath } from 'node:url';
import { createServer, createServerModuleRunner } from 'vite';

const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const aci = fileURLToPath(new URL('../../../aci/src/index.ts', import.meta.url));

export async function loadStore() {
  const server = await createServer({
    logLevel: 'silent',
    configFile: false,
    root: fileURLToPath(new URL('../../../..', import.meta.url)),
    server: { middlewareMode: true, hmr: false, ws: false, watch: null },
    ssr: {
      noExternal: [/^@appc\//],
      resolve: { conditions: ['@appc/source'], externalConditions: ['@appc/source'] },
    },
    environments: {
      ssr: { resolve: { noExternal: [/^@appc\//], conditions: ['@appc/source'] } },
    },
  });
  const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
  // @appc/aci is transformed now rather than on the first put: a test that kills this process a few hundred
  // milliseconds after it is ready means to kill it mid-put, not while the runner transforms a package
  await runner.import(aci);
  return runner.import(entry);
}
