export type { Command, Globals, Io } from './io.ts';
export { ExitCode } from './io.ts';
export { commands, main } from './main.ts';
