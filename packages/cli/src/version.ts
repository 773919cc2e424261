import { createRequire } from 'node:module';

// Set by scripts/bundle.mjs in dist/appc.cjs; the unbundled build reads package.json (from src/ and dist/ alike).
declare const __APPC_CLI_VERSION__: string | undefined;

/** This package's version. */
export const VERSION: string =
  typeof __APPC_CLI_VERSION__ === 'string'
    ? __APPC_CLI_VERSION__
    : (createRequire(import.meta.url)('../package.json') as { version: string }).version;
