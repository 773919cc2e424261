import { stat } from 'node:fs/promises';
import { computeImageId, imageIdOfLayout } from '@appc/aci';
import { expectPositionals, parseCommandArgs, parseSourceDateEpoch, pathArg } from '../args.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary =
  'Print the image ID of an ACI, or of a layout directory as a deterministic build gives it';
export const usage = 'appc id [--source-date-epoch SECONDS] FILE_OR_DIR';
export const help = `For an ACI (any compression): sha512- and the SHA-512 of its uncompressed tar (ACI-010).
For an image layout directory: the ID that "appc build --deterministic" gives for it, computed without
writing an archive (SOURCE_DATE_EPOCH or --source-date-epoch, default 0).`;

export async function run(argv: string[], io: Io, _globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, { 'source-date-epoch': { type: 'string' } });
  expectPositionals(positionals, 1, 1, 'one ACI file or layout directory');
  const path = pathArg(io, positionals[0] as string);
  let id: string;
  if ((await stat(path)).isDirectory()) {
    const epoch = parseSourceDateEpoch(values['source-date-epoch'] ?? io.env.SOURCE_DATE_EPOCH);
    id = await imageIdOfLayout(path, {
      deterministic: true,
      ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } else {
    id = await computeImageId(path, io.signal ? { signal: io.signal } : {});
  }
  io.stdout.write(`${id}\n`);
  return ExitCode.Ok;
}
