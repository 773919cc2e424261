export type { AdapterOptions, AdapterResult } from './adapter.ts';
export { materialize, runAdapter } from './adapter.ts';
