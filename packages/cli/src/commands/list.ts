import { expectPositionals, FORMAT_FLAG, jsonText, outputFormat, parseCommandArgs } from '../args.ts';
import { formatTable, stateDir } from '../context.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';
import { podJson } from '../pods.ts';

export const summary = 'List the pods';
export const usage = 'appc list [--json | --format json|json-pretty] [--no-legend] [--full]';
export const help = `Every pod of the state root, oldest first: UUID, name, apps, state, network.

  --json        one object per pod, as appc status --json (rkt's --format=json, or json-pretty, too)
  --full        whole UUIDs and image IDs
  --no-legend   no header line`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    'no-legend': { type: 'boolean' },
    full: { type: 'boolean' },
    ...FORMAT_FLAG,
  });
  const format = outputFormat(values);
  expectPositionals(positionals, 0, 0, 'no arguments');
  const { listPods } = await import('@appc/runtime-linux');
  const pods = await listPods(stateDir(globals, io));
  if (format !== 'text') {
    for (const p of pods) io.stdout.write(jsonText(podJson(p), format));
    return ExitCode.Ok;
  }
  const rows = pods.map((p) => [
    values.full ? p.uuid : p.uuid.slice(0, 8),
    p.name ?? '-',
    p.apps.map((a) => `${a.name}${a.exitCode === undefined ? '' : `(${a.exitCode})`}`).join(','),
    p.state,
    `${p.net}${p.address ? `:${p.address}` : ''}`,
  ]);
  if (!values['no-legend']) rows.unshift(['UUID', 'NAME', 'APPS', 'STATE', 'NETWORK']);
  for (const line of formatTable(rows)) io.stdout.write(`${line}\n`);
  return ExitCode.Ok;
}
