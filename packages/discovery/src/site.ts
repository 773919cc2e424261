import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { compareVersionLabels, isAcIdentifier } from '@appc/schema';
import { DiscoveryError } from './errors.ts';

/** One image to publish: its archive, its detached signature, and the name and labels of its manifest. */
export interface SiteImage {
  /** The ACI file. */
  file: string;
  /** Its detached signature (`.asc`); absent for an unsigned image (fetching it then needs
   * `--insecure-options=image`). */
  signatureFile?: string | undefined;
  name: string;
  /** The manifest's labels; `version`, `os` and `arch` place the file (DISC-006). */
  labels: Record<string, string>;
}

/** Options of {@link writeDiscoverySite}. */
export interface DiscoverySiteOptions {
  /** The directory to write; created when missing. Files of earlier publications stay. */
  out: string;
  /** The URL the directory will be served at, e.g. `https://example.com` (no query, no fragment). */
  baseUrl: string;
  images: readonly SiteImage[];
  /** ASCII-armored public keys that verify the images, written together as `pubkeys.gpg` (replacing an earlier
   * one). When none are given, a `pubkeys.gpg` already in `out` stays and is still named by the pages. */
  publicKeys?: readonly string[] | undefined;
  /** Reads the `version` label of an image already in `out` (e.g. with `readManifest` of `@appc/aci`). Given,
   * `latest` only moves forward: publishing an older version to an existing site keeps the newer `latest`.
   * Without it, `latest` is the newest of this call's images. */
  versionOf?: ((file: string) => Promise<string | undefined>) | undefined;
}

/** What {@link writeDiscoverySite} wrote. */
export interface DiscoverySite {
  /** The `ac-discovery` template of every page. */
  template: string;
  /** URL of the key file, when keys were given. */
  pubkeysUrl: string | undefined;
  /** Every file written, relative to `out`, sorted. */
  files: string[];
  /** The image URLs, including the `latest` copies. */
  imageUrls: string[];
}

const TEMPLATE_PATH = 'images/{name}-{version}-{os}-{arch}.{ext}';
/** Characters a label value cannot carry into a URL path as they are. */
const URL_UNSAFE = /[#?%\\\s\p{Cc}]/u;

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function bad(message: string): DiscoveryError {
  return new DiscoveryError(message, { code: 'ERR_DISC_BAD_OPTIONS', requirement: 'DISC-006' });
}

/** The path of a file of the site, relative to its root, for a name and labels (the template filled). */
function imagePath(name: string, version: string, os: string, arch: string, ext: 'aci' | 'aci.asc'): string {
  return `images/${name}-${version}-${os}-${arch}.${ext}`;
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode: 0o644 });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function copyAtomic(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const tmp = `${to}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await copyFile(from, tmp);
    await rename(tmp, to);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Writes a static discovery site that any static web server, CDN or object store can serve (DISC-001..DISC-008):
 * the images and signatures under `images/` as the template `{name}-{version}-{os}-{arch}.{ext}` lays them out
 * (the newest version of each name, os and arch also as `latest`, which discovery asks for when no version is
 * given), `pubkeys.gpg` with the public keys, and an `index.html` with the `ac-discovery` and
 * `ac-discovery-pubkeys` meta tags at the root and at every path level of every name (so the first request of
 * the parent walk already finds them). Served at `baseUrl`, `example.com/app:1.0` is then found and fetched.
 * @throws {@link DiscoveryError} `ERR_DISC_BAD_OPTIONS` for a bad base URL, name or missing label; I/O errors
 * pass through.
 * @example
 * await writeDiscoverySite({ out: 'site', baseUrl: 'https://example.com', publicKeys: [armored],
 *   images: [{ file: 'app.aci', signatureFile: 'app.aci.asc', name: 'example.com/app',
 *              labels: { version: '1.0.0', os: 'linux', arch: 'amd64' } }] });
 */
export async function writeDiscoverySite(options: DiscoverySiteOptions): Promise<DiscoverySite> {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw bad(
      `baseUrl ${JSON.stringify(options.baseUrl)} is not a URL; give where the site will be served, e.g. https://example.com.`,
    );
  }
  if ((base.protocol !== 'https:' && base.protocol !== 'http:') || base.search || base.hash)
    throw bad(`baseUrl ${options.baseUrl} must be an http(s) URL without query or fragment.`);
  const root = base.href.replace(/\/+$/, '');
  const template = `${root}/${TEMPLATE_PATH}`;
  if (options.images.length === 0) throw bad('no image to publish.');

  const written = new Set<string>();
  const imageUrls: string[] = [];
  const hosts = new Set<string>();
  const levels = new Set<string>(['']);
  const newest = new Map<string, { image: SiteImage; place: (version: string) => Promise<void> }>();
  for (const image of options.images) {
    if (!isAcIdentifier(image.name))
      throw bad(`${image.file}: ${JSON.stringify(image.name)} is not an AC Identifier.`);
    for (const label of ['version', 'os', 'arch'] as const) {
      const v = image.labels[label];
      if (v === undefined || v === '' || v.includes('/'))
        throw bad(
          `${image.file}: the manifest needs a "${label}" label without "/" to be placed by the template ${TEMPLATE_PATH} (DISC-006); add it with appc patch-manifest.`,
        );
      // the template is filled verbatim (DISC-006): a value with `#`, `?`, `%`, `\`, blanks or control characters
      // makes a URL that does not name the file written (`#` cuts it, `?` starts a query, `%` is read as an escape)
      const unsafe = URL_UNSAFE.exec(v);
      if (unsafe)
        throw bad(
          `${image.file}: the "${label}" label ${JSON.stringify(v)} has ${JSON.stringify(unsafe[0])}, which cannot appear as it is in the image's URL (DISC-006): fetching it would ask for another path. Use a value without # ? % \\, blanks or control characters (appc patch-manifest).`,
        );
    }
    const { version, os, arch } = image.labels as { version: string; os: string; arch: string };
    const parts = image.name.split('/');
    hosts.add(parts[0] as string);
    for (let i = 2; i <= parts.length; i++) levels.add(parts.slice(1, i).join('/'));
    const key = `${image.name}\u0000${os}\u0000${arch}`;
    const place = async (version: string) => {
      const aci = imagePath(image.name, version, os, arch, 'aci');
      await copyAtomic(image.file, join(options.out, aci));
      written.add(aci);
      imageUrls.push(`${root}/${aci}`);
      if (image.signatureFile !== undefined) {
        const asc = imagePath(image.name, version, os, arch, 'aci.asc');
        await copyAtomic(image.signatureFile, join(options.out, asc));
        written.add(asc);
      }
    };
    await place(version);
    const seen = newest.get(key);
    if (!seen || compareVersionLabels(version, seen.image.labels.version) > 0)
      newest.set(key, { image, place });
  }
  const explicitLatest = new Set(
    options.images
      .filter((i) => i.labels.version === 'latest')
      .map((i) => `${i.name}\u0000${i.labels.os}\u0000${i.labels.arch}`),
  );
  for (const [key, { image, place }] of newest) {
    if (explicitLatest.has(key)) continue;
    // a site published to before may already serve a newer `latest` than any image of this call
    const { version, os, arch } = image.labels as { version: string; os: string; arch: string };
    const current = join(options.out, imagePath(image.name, 'latest', os, arch, 'aci'));
    const currentVersion =
      options.versionOf && existsSync(current)
        ? await options.versionOf(current).catch(() => undefined)
        : undefined;
    if (currentVersion !== undefined && compareVersionLabels(version, currentVersion) < 0) continue;
    await place('latest');
  }

  let pubkeysUrl: string | undefined;
  if (options.publicKeys && options.publicKeys.length > 0) {
    await writeAtomic(
      join(options.out, 'pubkeys.gpg'),
      `${options.publicKeys.map((k) => k.trim()).join('\n')}\n`,
    );
    written.add('pubkeys.gpg');
    pubkeysUrl = `${root}/pubkeys.gpg`;
  } else if (existsSync(join(options.out, 'pubkeys.gpg'))) {
    // published before: the pages rewritten below must keep naming it, or key discovery stops working
    pubkeysUrl = `${root}/pubkeys.gpg`;
  }
  const tags = [...hosts]
    .sort()
    .flatMap((host) => [
      `<meta name="ac-discovery" content="${escapeHtml(`${host} ${template}`)}">`,
      ...(pubkeysUrl
        ? [`<meta name="ac-discovery-pubkeys" content="${escapeHtml(`${host} ${pubkeysUrl}`)}">`]
        : []),
    ]);
  const listing = [
    ...new Set(options.images.map((i) => `${i.name} ${i.labels.version} ${i.labels.os}/${i.labels.arch}`)),
  ]
    .sort()
    .map((l) => `<li>${escapeHtml(l)}</li>`);
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>App Container images</title>
${tags.join('\n')}
</head>
<body>
<h1>App Container images</h1>
<p>Fetch with <code>appc fetch NAME:VERSION</code> after trusting the publisher's key (<code>appc trust add --prefix NAME</code>).</p>
<ul>
${listing.join('\n')}
</ul>
</body>
</html>
`;
  for (const level of levels) {
    const file = level === '' ? 'index.html' : `${level}/index.html`;
    await writeAtomic(join(options.out, file), page);
    written.add(file);
  }
  return { template, pubkeysUrl, files: [...written].sort(), imageUrls };
}
