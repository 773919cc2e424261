import { access } from 'node:fs/promises';
import { readManifest } from '@appc/aci';
import { expectPositionals, parseCommandArgs, pathArg, readSmallFile } from '../args.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = 'Write a static discovery site for signed images';
export const usage = 'appc publish --out DIR [--base-url URL] [--key PUBLIC_KEY_FILE]... ACI...';
export const help = `Writes a directory that any static web server, CDN or object store can serve at URL, from which
"appc fetch NAME:VERSION" finds, downloads and verifies the images: images/NAME-VERSION-OS-ARCH.aci and .asc as
the ac-discovery template lays them out (the newest version also as "latest", which is what a fetch without a
version asks for), pubkeys.gpg with the public keys, and index.html pages carrying the ac-discovery and
ac-discovery-pubkeys meta tags at the root and at each level of each name (DISC-001..DISC-008). Each ACI's
signature is ACI.asc beside it (appc sign); an unsigned ACI is refused unless --insecure-options=image.
Earlier files in DIR stay, so publishing a new version adds to the site; "latest" never moves to an older
version, and without --key an earlier pubkeys.gpg stays and is still advertised.

  --out DIR          the site directory (created when missing)
  --base-url URL     where DIR will be served (default https://HOST of the first image's name); give the port
                     when it is not the default, e.g. https://example.com:8443
  --key FILE         a public key to publish (gpg --armor --export), armored or binary; repeatable; replaces
                     an earlier pubkeys.gpg. A private key or a file that is not a key is refused`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    out: { type: 'string', short: 'o' },
    'base-url': { type: 'string' },
    key: { type: 'string', multiple: true },
  });
  expectPositionals(positionals, 1, Number.POSITIVE_INFINITY, 'one or more ACIs');
  if (values.out === undefined) throw new UsageError('--out DIR is required');
  const { insecureOptions } = await import('../context.ts');
  const unsignedOk = (await insecureOptions(globals)).has('image');
  const images = [];
  for (const arg of positionals) {
    const file = pathArg(io, arg);
    const { manifest } = await readManifest(file);
    const signatureFile = `${file}.asc`;
    const signed = await access(signatureFile).then(
      () => true,
      () => false,
    );
    if (!signed && !unsignedOk)
      throw new UsageError(
        `${arg} has no signature ${arg}.asc; sign it first (appc sign --key KEY ${arg}), or publish it unsigned with --insecure-options=image`,
      );
    const labels = Object.fromEntries((manifest.labels ?? []).map((l) => [l.name, l.value]));
    images.push({ file, name: manifest.name, labels, ...(signed ? { signatureFile } : {}) });
  }
  // each key is parsed: a private key given by mistake would be served to everyone, and a file that is not a key
  // would make every later "appc trust add" of the site fail (VERIFY-005)
  const { MAX_KEY_BYTES, readPublicKeys, VerifyError } = await import('@appc/verify');
  const publicKeys: string[] = [];
  for (const k of values.key ?? []) {
    const path = pathArg(io, k);
    const bytes = await readSmallFile(
      path,
      MAX_KEY_BYTES,
      (size) =>
        new VerifyError(`${path}: ${size} bytes is too large for an OpenPGP public key.`, {
          code: 'ERR_VERIFY_KEY_TOO_LARGE',
          file: path,
        }),
    );
    for (const info of await readPublicKeys(bytes, path, { publicOnly: true })) publicKeys.push(info.armored);
  }
  const baseUrl = values['base-url'] ?? `https://${(images[0]?.name ?? '').split('/')[0]}`;
  const { writeDiscoverySite } = await import('@appc/discovery');
  const out = pathArg(io, values.out);
  const site = await writeDiscoverySite({
    out,
    baseUrl,
    images,
    publicKeys,
    // an existing site's `latest` only moves forward
    versionOf: async (f) => (await readManifest(f)).manifest.labels?.find((l) => l.name === 'version')?.value,
  });
  io.stdout.write(`${out}\n`);
  io.stderr.write(
    `Wrote ${site.files.length} files for ${images.length} image(s); serve ${out} at ${baseUrl}. Template: ${site.template}\n`,
  );
  if (globals.debug) for (const f of site.files) io.stderr.write(`  ${f}\n`);
  return ExitCode.Ok;
}
