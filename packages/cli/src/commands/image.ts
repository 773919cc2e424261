import { basename, join } from 'node:path';
import { extract, render } from '@appc/aci';
import { AppcError, serializeImageManifest } from '@appc/schema';
import { type Store, type StoredImage, StoreError } from '@appc/store';
import {
  expectPositionals,
  FORMAT_FLAG,
  jsonText,
  outputFormat,
  parseCommandArgs,
  parseDuration,
  pathArg,
} from '../args.ts';
import { formatBytes, formatTable, openImageStore } from '../context.ts';
import { describeError, exitCodeFor, UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = 'Work with the image store: list, rm, gc, export, extract, render, cat-manifest';
export const usage = `appc image list [--json | --format json|json-pretty] [--name NAME] [--sort FIELD] [--order asc|desc] [--no-legend] [--full]
       appc image rm ID...
       appc image gc [--grace-period DURATION]
       appc image export [--overwrite] ID OUT.aci
       appc image extract [--rootfs-only] [--overwrite] ID DIR
       appc image render [--rootfs-only] [--overwrite] ID DIR
       appc image cat-manifest [--pretty-print] ID`;
export const help = `ID is an image ID (sha512-...), a unique prefix of one (TYPES-006), or a name with labels
(NAME[:VERSION][,LABEL=VALUE]...; the newest version that matches). The store is DIR/images under --dir.

list: every stored image, newest import first. --sort importedAt (default), lastUsedAt, name, sizeBytes or id;
  --json one object per image {"id", "name", "labels", "version", "sizeBytes", "compression", "importedAt",
  "lastUsedAt", "sourceUrl", "signatureFingerprint"} (rkt's --format=json, or json-pretty, too); --full prints
  whole IDs.
rm: removes images (and their rendered trees); a missing ID is reported and the others still go.
gc: removes images not used for the grace period (default 24h; units s, m, h, d, e.g. 90m or 0s), rendered
  trees unused as long, temporary files of dead processes and orphans.
export: writes the stored archive byte for byte, after checking it still gives its image ID (a damaged one is
  refused, ERR_STORE_CORRUPT). extract/render: as appc extract/render, from the store
  (render resolves dependencies from the store). cat-manifest: the manifest as imported.`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const [sub, ...rest] = argv;
  const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (!handler)
    throw new UsageError(
      sub === undefined
        ? `say one of ${Object.keys(SUBCOMMANDS).join(', ')}`
        : `unknown subcommand "${sub}"; say one of ${Object.keys(SUBCOMMANDS).join(', ')}`,
    );
  // list, cat-manifest, export, extract and render only read the index
  const readOnly = sub !== 'rm' && sub !== 'gc';
  const store = await openImageStore(globals, io, { readOnly });
  try {
    return await handler(rest, io, globals, store);
  } finally {
    store.close();
  }
}

type Sub = (argv: string[], io: Io, globals: Globals, store: Store) => Promise<ExitCode>;

/** An ID, an ID prefix, or a name with labels (newest match). */
async function resolveImage(store: Store, ref: string): Promise<StoredImage> {
  if (ref.startsWith('sha512-')) return store.get(ref);
  const { parseAppString } = await import('@appc/discovery');
  const app = parseAppString(ref);
  const found = store.find({ name: app.name, labels: app.labels });
  if (!found) {
    const { StoreError } = await import('@appc/store');
    throw new StoreError(`no stored image matches ${ref}; see appc image list, or fetch it (appc fetch).`, {
      code: 'ERR_STORE_NOT_FOUND',
    });
  }
  return found;
}

const SORTS = new Set(['importedAt', 'lastUsedAt', 'name', 'sizeBytes', 'id']);

function age(d: Date, now: number): string {
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

const list: Sub = async (argv, io, _globals, store) => {
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    name: { type: 'string' },
    sort: { type: 'string', default: 'importedAt' },
    order: { type: 'string' },
    'no-legend': { type: 'boolean' },
    full: { type: 'boolean' },
    ...FORMAT_FLAG,
  });
  expectPositionals(positionals, 0, 0, 'no arguments');
  const format = outputFormat(values);
  const sort = values.sort as string;
  if (!SORTS.has(sort)) throw new UsageError(`--sort ${sort}: use one of ${[...SORTS].join(', ')}`);
  if (values.order !== undefined && values.order !== 'asc' && values.order !== 'desc')
    throw new UsageError(`--order ${values.order}: use asc or desc`);
  const images = store.list({
    sort: sort as 'importedAt',
    ...(values.order ? { order: values.order as 'asc' | 'desc' } : {}),
    ...(values.name !== undefined ? { name: values.name } : {}),
  });
  const out: string[] = [];
  if (format !== 'text') {
    for (const i of images) out.push(jsonText(i, format).trimEnd());
  } else {
    const now = Date.now();
    const rows = images.map((i) => [
      values.full ? i.id : i.id.slice(0, 19),
      i.name,
      i.version ?? '',
      formatBytes(i.sizeBytes),
      age(i.importedAt, now),
      age(i.lastUsedAt, now),
    ]);
    if (!values['no-legend']) rows.unshift(['ID', 'NAME', 'VERSION', 'SIZE', 'IMPORTED', 'LAST USED']);
    out.push(...formatTable(rows));
  }
  if (out.length > 0) io.stdout.write(`${out.join('\n')}\n`);
  return ExitCode.Ok;
};

const rm: Sub = async (argv, io, globals, store) => {
  const { positionals } = parseCommandArgs(argv, {});
  expectPositionals(positionals, 1, Number.POSITIVE_INFINITY, 'one or more image IDs');
  let status: ExitCode = ExitCode.Ok;
  for (const ref of positionals) {
    try {
      const image = await store.rm((await resolveImage(store, ref)).id);
      io.stdout.write(`${image.id}\n`);
    } catch (e) {
      const { message } = describeError(e, globals.debug);
      io.stderr.write(`appc image rm: ${ref}: ${message}\n`);
      status = Math.max(status, exitCodeFor(e)) as ExitCode;
    }
  }
  return status;
};

const gc: Sub = async (argv, io, _globals, store) => {
  const { values, positionals } = parseCommandArgs(argv, {
    'grace-period': { type: 'string', default: '24h' },
  });
  expectPositionals(positionals, 0, 0, 'no arguments');
  const gracePeriodMs = parseDuration(values['grace-period'] as string);
  const { gcTrees } = await import('@appc/store');
  const trees = await gcTrees(store, { gracePeriodMs });
  const report = await store.gc({ gracePeriodMs });
  for (const id of report.removedImages) io.stdout.write(`${id}\n`);
  io.stderr.write(
    `Removed ${report.removedImages.length} image(s), ${formatBytes(report.freedBytes)}; ${report.tempFilesRemoved} temporary file(s); ${trees.removed.length} rendered tree(s).\n`,
  );
  return ExitCode.Ok;
};

const exportImage: Sub = async (argv, io, _globals, store) => {
  const { values, positionals } = parseCommandArgs(argv, { overwrite: { type: 'boolean' } });
  expectPositionals(positionals, 2, 2, 'ID and OUT.aci');
  const image = await resolveImage(store, positionals[0] as string);
  await store.export(image.id, pathArg(io, positionals[1] as string), {
    overwrite: values.overwrite ?? false,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  return ExitCode.Ok;
};

/** Runs `work` on stored archives; an error about reading one of them (a damaged or changed blob: it was checked
 * whole on import) becomes `ERR_STORE_CORRUPT`, which says which image to remove and fetch again (ACI-024),
 * instead of advice to download or build an archive the user never named. */
async function fromStore<T>(store: Store, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const blobs = join(store.dir, 'blobs', 'sha512');
    if (!(e instanceof AppcError) || e.code === 'ERR_ACI_ABORTED' || !e.file?.startsWith(blobs)) throw e;
    const id = `sha512-${basename(e.file)}`;
    throw new StoreError(
      `${e.file}: the stored archive of ${id} is damaged or was changed since it was imported (${e.message} [${e.code}]); remove it (appc image rm ${id}) and fetch it again (ACI-024).`,
      { code: 'ERR_STORE_CORRUPT', requirement: 'ACI-024', file: e.file, cause: e },
    );
  }
}

const extractImage: Sub = async (argv, io, _globals, store) => {
  const { values, positionals } = parseCommandArgs(argv, {
    'rootfs-only': { type: 'boolean' },
    overwrite: { type: 'boolean' },
  });
  expectPositionals(positionals, 2, 2, 'ID and DIR');
  const { image, path } = await store.openBlob((await resolveImage(store, positionals[0] as string)).id);
  await fromStore(store, () =>
    extract(path, pathArg(io, positionals[1] as string), {
      rootfsOnly: values['rootfs-only'] ?? false,
      overwrite: values.overwrite ?? false,
      expectedImageId: image.id,
      ...(io.signal ? { signal: io.signal } : {}),
    }),
  );
  store.touch(image.id);
  return ExitCode.Ok;
};

const renderImage: Sub = async (argv, io, _globals, store) => {
  const { values, positionals } = parseCommandArgs(argv, {
    'rootfs-only': { type: 'boolean' },
    overwrite: { type: 'boolean' },
  });
  expectPositionals(positionals, 2, 2, 'ID and DIR');
  const { image, path } = await store.openBlob((await resolveImage(store, positionals[0] as string)).id);
  const { createStoreImageProvider } = await import('@appc/store');
  const result = await fromStore(store, () =>
    render(path, pathArg(io, positionals[1] as string), {
      provider: createStoreImageProvider(store),
      rootfsOnly: values['rootfs-only'] ?? false,
      overwrite: values.overwrite ?? false,
      // the stored archive must still give the ID it is stored under (ACI-024), not merely its own hash
      expectedImageId: image.id,
      ...(io.signal ? { signal: io.signal } : {}),
    }),
  );
  for (const w of result.warnings) io.stderr.write(`warning: ${w}\n`);
  store.touch(image.id);
  return ExitCode.Ok;
};

const catManifest: Sub = async (argv, io, _globals, store) => {
  const { values, positionals } = parseCommandArgs(argv, { 'pretty-print': { type: 'boolean' } });
  expectPositionals(positionals, 1, 1, 'one image ID');
  const manifest = store.manifest((await resolveImage(store, positionals[0] as string)).id);
  io.stdout.write(`${serializeImageManifest(manifest, values['pretty-print'] ? { indent: 2 } : {})}\n`);
  return ExitCode.Ok;
};

const SUBCOMMANDS: Record<string, Sub> = {
  list,
  ls: list,
  rm,
  gc,
  export: exportImage,
  extract: extractImage,
  render: renderImage,
  'cat-manifest': catManifest,
};
