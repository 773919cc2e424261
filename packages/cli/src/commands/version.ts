import { SPEC_VERSION } from '@appc/schema';
import { parseCommandArgs } from '../args.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';
import { VERSION } from '../version.ts';

export const summary = 'Print the version of appc and of the App Container spec it implements';
export const usage = 'appc version [--json]';
export const help = '  --json   {"appc": "...", "appcSpec": "..."}';

export async function run(argv: string[], io: Io, _globals: Globals): Promise<ExitCode> {
  const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } });
  if (values.json) io.stdout.write(`${JSON.stringify({ appc: VERSION, appcSpec: SPEC_VERSION })}\n`);
  else io.stdout.write(`appc version ${VERSION}\nappc spec version ${SPEC_VERSION}\n`);
  return ExitCode.Ok;
}
