import { applyManifestPatch, type Compression, type ManifestPatch, patchManifest } from '@appc/aci';
import { type ImageManifest, parseImageManifest, parseJson } from '@appc/schema';
import { expectPositionals, parseCommandArgs, pathArg, readNamedFile } from '../args.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = "Copy an ACI with its manifest changed (actool's patch-manifest)";
export const usage =
  'appc patch-manifest [flags] IN.aci OUT.aci | appc patch-manifest --replace [flags] IN.aci';
export const help = `Copies IN entry by entry and replaces only the manifest, at its place (ACI-013); prints the new
image ID. The result is validated before anything is written; a failure leaves no partial output.

  --manifest FILE                 the new manifest as a whole (not with the flags below)
  --name NAME                     image name (AC Identifier)
  --exec "CMD ARGS"               app.exec, split on single spaces; creates app when absent
  --user U, --group G             app.user, app.group
  --supplementary-groups 1,2      app.supplementaryGIDs
  --capability CAP_A,CAP_B        a capabilities-retain-set, replacing any capability isolator
  --revoke-capability CAP_A,...   a capabilities-remove-set, replacing any capability isolator
  --mounts NAME,path=P[,readOnly=B][:...]                            append mountPoints
  --ports NAME,protocol=tcp,port=N[,count=C][,socketActivated=B][:...]  append ports
  --isolators NAME,key=value[,...][:...]                             append isolators
  --seccomp-mode remove|retain[,errno=E] --seccomp-set sys1,sys2     replace the seccomp isolator
  --replace                       write over IN (no OUT)
  --overwrite                     replace OUT if it exists
  --compression C, --no-compression   output compression (default gzip)`;

const MANIFEST_EXCLUSIVE = [
  'name',
  'exec',
  'user',
  'group',
  'capability',
  'revoke-capability',
  'mounts',
] as const;

export async function run(argv: string[], io: Io, _globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    manifest: { type: 'string' },
    name: { type: 'string' },
    exec: { type: 'string' },
    user: { type: 'string' },
    group: { type: 'string' },
    'supplementary-groups': { type: 'string' },
    capability: { type: 'string' },
    'revoke-capability': { type: 'string' },
    mounts: { type: 'string' },
    ports: { type: 'string' },
    isolators: { type: 'string' },
    'seccomp-mode': { type: 'string' },
    'seccomp-set': { type: 'string' },
    replace: { type: 'boolean' },
    overwrite: { type: 'boolean' },
    compression: { type: 'string' },
    'no-compression': { type: 'boolean' },
  });
  if (values.replace) {
    if (values.overwrite) throw new UsageError('--replace and --overwrite cannot be combined');
    expectPositionals(positionals, 1, 1, 'IN.aci (with --replace)');
  } else expectPositionals(positionals, 2, 2, 'IN.aci and OUT.aci');
  if (values.manifest !== undefined) {
    const clash = MANIFEST_EXCLUSIVE.filter((f) => values[f] !== undefined);
    if (clash.length > 0)
      throw new UsageError(`--manifest cannot be combined with ${clash.map((f) => `--${f}`).join(', ')}`);
  }
  if (values.capability !== undefined && values['revoke-capability'] !== undefined)
    throw new UsageError('--capability and --revoke-capability cannot be combined (ISO-011)');
  if ((values['seccomp-set'] === undefined) !== (values['seccomp-mode'] === undefined))
    throw new UsageError('--seccomp-mode and --seccomp-set go together');
  let compression: Compression = 'gzip';
  if (values.compression !== undefined) {
    if (!['gzip', 'none', 'xz', 'bzip2'].includes(values.compression))
      throw new UsageError(`--compression must be gzip, none, xz or bzip2, not "${values.compression}"`);
    compression = values.compression as Compression;
  }
  if (values['no-compression']) compression = 'none';

  const input = pathArg(io, positionals[0] as string);
  const output = values.replace ? input : pathArg(io, positionals[1] as string);
  let replacement: ImageManifest | undefined;
  if (values.manifest !== undefined) {
    const file = pathArg(io, values.manifest);
    replacement = parseImageManifest(parseJson(await readNamedFile(file), { file }), { file });
  }
  const patch: ManifestPatch = {
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values.exec !== undefined ? { exec: values.exec } : {}),
    ...(values.user !== undefined ? { user: values.user } : {}),
    ...(values.group !== undefined ? { group: values.group } : {}),
    ...(values['supplementary-groups'] !== undefined
      ? { supplementaryGIDs: values['supplementary-groups'] }
      : {}),
    ...(values.capability !== undefined ? { capabilityRetain: values.capability } : {}),
    ...(values['revoke-capability'] !== undefined ? { capabilityRemove: values['revoke-capability'] } : {}),
    ...(values.mounts !== undefined ? { mounts: values.mounts } : {}),
    ...(values.ports !== undefined ? { ports: values.ports } : {}),
    ...(values.isolators !== undefined ? { isolators: values.isolators } : {}),
    ...(values['seccomp-mode'] !== undefined
      ? { seccomp: values['seccomp-mode'], seccompSet: values['seccomp-set'] ?? '' }
      : {}),
  };
  const result = await patchManifest(input, output, (m) => applyManifestPatch(replacement ?? m, patch), {
    compression,
    overwrite: values.overwrite ?? values.replace ?? false,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  io.stdout.write(`${result.imageId}\n`);
  return ExitCode.Ok;
}
