export type { AceCheck, AceMode, AceOptions, AceReport } from './ace.ts';
export { ACE_MODES, buildAceImages, parseAceOutput, runAce } from './ace.ts';
export type { AdapterOptions, AdapterResult } from './adapter.ts';
export { materialize, runAdapter } from './adapter.ts';
