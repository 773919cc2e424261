import { stat } from 'node:fs/promises';
import { build, type Compression } from '@appc/aci';
import { expectPositionals, parseCommandArgs, parseSourceDateEpoch, pathArg } from '../args.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io, isTty } from '../io.ts';

export const summary = 'Build an ACI from an image layout directory (manifest + rootfs/)';
export const usage =
  'appc build [--deterministic] [--source-date-epoch SECONDS] [--compression gzip|none|xz|bzip2] [--no-compression] [--owner-root] [--overwrite] LAYOUT_DIR OUT.aci';
export const help = `Checks the layout first (ACI-009), then writes OUT.aci and prints its image ID (ACI-010) on stdout.
A failed build leaves no partial output. OUT must end in .aci (ACI-001).

  --deterministic           same tree, same image ID: entries sorted, mtimes clamped to the epoch,
                            no owner names, canonical manifest (SOURCE_DATE_EPOCH, default 0)
  --source-date-epoch N     the epoch for --deterministic (seconds; overrides SOURCE_DATE_EPOCH)
  --compression C           gzip (default, parallel members), none, xz or bzip2
  --no-compression          the same as --compression none (actool's flag)
  --owner-root              record every file as owned by 0:0
  --overwrite               replace OUT if it exists`;

const COMPRESSIONS = ['gzip', 'none', 'xz', 'bzip2'] as const;

export async function run(argv: string[], io: Io, _globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    deterministic: { type: 'boolean' },
    'source-date-epoch': { type: 'string' },
    compression: { type: 'string' },
    'no-compression': { type: 'boolean' },
    'owner-root': { type: 'boolean' },
    overwrite: { type: 'boolean' },
  });
  expectPositionals(positionals, 2, 2, 'LAYOUT_DIR and OUT.aci');
  let compression: Compression = 'gzip';
  if (values.compression !== undefined) {
    if (!(COMPRESSIONS as readonly string[]).includes(values.compression))
      throw new UsageError(
        `--compression must be one of ${COMPRESSIONS.join(', ')}, not "${values.compression}"`,
      );
    compression = values.compression as Compression;
  }
  if (values['no-compression']) compression = 'none';
  const sourceDateEpoch = parseSourceDateEpoch(
    values['source-date-epoch'] ?? (values.deterministic ? io.env.SOURCE_DATE_EPOCH : undefined),
  );
  // the epoch only clamps a deterministic build: given alone it would be ignored without a word
  if (values['source-date-epoch'] !== undefined && !values.deterministic)
    throw new UsageError('--source-date-epoch applies to a deterministic build; add --deterministic');
  const [layout, out] = positionals as [string, string];
  // A layout that is not there is an I/O error (exit 2, ENOENT with its path); a bad layout is judged (exit 1).
  if (!(await stat(pathArg(io, layout))).isDirectory())
    throw new UsageError(
      `${layout} is not a directory; LAYOUT_DIR is a directory holding manifest and rootfs/`,
    );
  const progress = isTty(io.stderr);
  const result = await build(pathArg(io, layout), pathArg(io, out), {
    compression,
    deterministic: values.deterministic ?? false,
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    ownerRoot: values['owner-root'] ?? false,
    overwrite: values.overwrite ?? false,
    ...(io.signal ? { signal: io.signal } : {}),
    ...(progress
      ? { onProgress: (bytes: number) => io.stderr.write(`\rbuilding: ${(bytes / 1048576).toFixed(1)} MiB`) }
      : {}),
  });
  if (progress) io.stderr.write('\n');
  io.stdout.write(`${result.imageId}\n`);
  return ExitCode.Ok;
}
