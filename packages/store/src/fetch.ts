import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { PassThrough } from 'node:stream';
import type { AppString, Attempt, DiscoveryOptions, Download } from '@appc/discovery';
import { parseAppString, validateDiscoveredManifest } from '@appc/discovery/names';
import { hostOsArch, type Issue } from '@appc/schema';
import type { Keyring, VerifiedSignature } from '@appc/verify';
import { StoreError } from './errors.ts';
import type { PutCandidate, Store, StoredImage } from './store.ts';

// the network and OpenPGP parts load on first use: a store opened to run a stored image never pays for them
const discovery = () => import('@appc/discovery');
const verifying = () => import('@appc/verify');

/** When a name or URL is looked up in the store instead of the network (DISC-013, rkt's `--pull-policy`). */
export type PullPolicy = 'new' | 'update' | 'never';

/** What {@link fetchImage} was asked for, as {@link classifyImageRef} reads it. */
export type ImageRef =
  | { kind: 'id'; id: string }
  | { kind: 'url'; url: string }
  | { kind: 'file'; path: string }
  | { kind: 'name'; app: AppString };

/** Progress of one download, for a progress bar. */
export interface FetchProgress {
  kind: 'image' | 'signature';
  url: string;
  receivedBytes: number;
  /** The declared length, when the server gave one. */
  totalBytes: number | undefined;
  done: boolean;
}

/** Relaxations of the fetch pipeline (VERIFY-007); all off by default. */
export interface FetchInsecureOptions {
  /** Store images without checking their signature (a warning says so). */
  image?: boolean | undefined;
  /** Plain http for discovery and downloads (DISC-011). */
  http?: boolean | undefined;
  /** Accept any TLS certificate (DISC-011). */
  tls?: boolean | undefined;
}

/** Options of {@link fetchImage}. */
export interface FetchImageOptions {
  /** The keys trusted per name (a `TrustStore` of `@appc/verify`); needed unless `insecure.image`. */
  trust?: Keyring | undefined;
  insecure?: FetchInsecureOptions | undefined;
  /** `new`: a stored image that matches is used without asking the network; `update` (default): ask the
   * remote, and reuse the stored image when it is unchanged (ETag, Cache-Control); `never`: the store only. */
  pullPolicy?: PullPolicy | undefined;
  /** Transport and discovery options passed to `@appc/discovery` (ca, resolve, port, auth, headers, fetch). */
  network?: Omit<DiscoveryOptions, 'insecure' | 'signal' | 'requirePublicKeys'> | undefined;
  /** Largest image accepted, in bytes, as declared or received (a dependency's `size`, for instance). */
  maxBytes?: number | undefined;
  /** The image must have this ID (ACI-011; a dependency's `imageID`), or nothing is stored. */
  expectedId?: string | undefined;
  /** Also fetch the image's dependencies, recursively (ACI-023); default true. */
  dependencies?: boolean | undefined;
  /** Asked when no key is trusted for a name fetched by discovery (VERIFY-006): it may trust keys (e.g. by
   * `TrustStore.add` after a review) and return true to try again; false leaves the fetch refused. */
  onUntrustedName?: ((name: string, pubkeys: string[]) => Promise<boolean>) | undefined;
  onProgress?: ((progress: FetchProgress) => void) | undefined;
  /** The moment cache ages are compared with; default now. */
  now?: Date | undefined;
  signal?: AbortSignal | undefined;
}

/** What {@link fetchImage} did. */
export interface FetchImageResult {
  image: StoredImage;
  /** `store`: found in the store, nothing asked; `cache`: a stored download still fresh by its max-age, nothing
   * asked; `not-modified`: the remote answered 304; `download`: downloaded now; `file`: imported from a file. */
  from: 'store' | 'cache' | 'not-modified' | 'download' | 'file';
  /** The image URL, for downloads. */
  url: string | undefined;
  /** The signature that was checked; undefined when nothing was imported or `insecure.image`. */
  signature: VerifiedSignature | undefined;
  /** Archive warnings, and a warning when the signature was not checked. */
  warnings: Issue[];
  /** Every discovery URL tried (for `--debug`). */
  attempts: Attempt[];
  /** The dependencies brought in or found in the store, depth first (ACI-023). */
  dependencies: StoredImage[];
}

const MAX_SIGNATURE_BYTES = 1024 * 1024;

/** Tells what an image reference names (DISC-014): a `sha512-` ID (or prefix), an `http(s)://` URL, a `file:`
 * URL or a path (absolute, `./` or `../`-relative, or ending in `.aci`), or else a name with labels.
 * @throws `DiscoveryError` `ERR_DISC_BAD_APP_STRING` when it is none of these. */
export function classifyImageRef(ref: string): ImageRef {
  if (/^sha512-[0-9a-f]*$/.test(ref)) return { kind: 'id', id: ref };
  if (/^https?:\/\//i.test(ref)) return { kind: 'url', url: ref };
  if (/^file:\/\//i.test(ref)) return { kind: 'file', path: new URL(ref).pathname };
  if (ref.startsWith('/') || ref.startsWith('./') || ref.startsWith('../') || ref.endsWith('.aci'))
    return { kind: 'file', path: ref };
  return { kind: 'name', app: parseAppString(ref) };
}

function withHostOsArch(labels: Record<string, string>): Record<string, string> {
  const host = hostOsArch();
  return { os: host.os, arch: host.arch, ...labels };
}

async function* counted(
  body: AsyncIterable<Uint8Array>,
  kind: FetchProgress['kind'],
  dl: Download,
  onProgress: FetchImageOptions['onProgress'],
): AsyncGenerator<Uint8Array> {
  let received = 0;
  const report = (done: boolean) =>
    onProgress?.({ kind, url: dl.finalUrl, receivedBytes: received, totalBytes: dl.declaredBytes, done });
  // TLS hands over 16 KiB records: passed on in blocks of 512 KiB, each later step (file writes, inflating, the
  // tar reader, the signature's hash) runs per block instead of per record
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const chunk of body) {
    received += chunk.byteLength;
    pending.push(chunk);
    pendingBytes += chunk.byteLength;
    if (pendingBytes >= COALESCE_BYTES) {
      report(false);
      yield pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0)
    yield pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending, pendingBytes);
  report(true);
}

const COALESCE_BYTES = 512 * 1024;

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

function insecureWarning(what: string): Issue {
  return {
    code: 'WARN_STORE_UNVERIFIED',
    pointer: '',
    requirement: 'VERIFY-001',
    severity: 'warning',
    message: `the signature of ${what} was not checked (--insecure-options=image); anyone who could change the bytes could have.`,
  };
}

/** Checks the manifest against what was asked for (DISC-009), then the detached signature against the keys
 * trusted for the manifest's name (VERIFY-002); throws to refuse. */
async function checkCandidate(
  candidate: PutCandidate,
  asked: AppString | undefined,
  signature: Promise<Uint8Array | undefined>,
  options: FetchImageOptions,
  source: string,
  verified: { value?: VerifiedSignature },
  inStream?: InStream,
): Promise<{ signatureFingerprint?: string }> {
  if (asked) {
    const issues = validateDiscoveredManifest(asked, candidate.manifest);
    if (issues.length > 0) {
      throw new StoreError(
        `${source} is not the image asked for; nothing was stored: ${issues.map((i) => `${i.pointer}: ${i.message}`).join('; ')}`,
        {
          code: 'ERR_STORE_NOT_REQUESTED',
          requirement: 'DISC-009',
          pointer: issues[0]?.pointer,
          file: source,
        },
      );
    }
  }
  const sig = await signature;
  if (options.insecure?.image) return {};
  if (sig === undefined) throw unsigned(source);
  if (!options.trust) {
    throw new StoreError('fetchImage needs `trust` (a key store) unless insecure.image is set.', {
      code: 'ERR_STORE_UNSIGNED',
      requirement: 'VERIFY-001',
    });
  }
  verified.value =
    (inStream && (await authorized(inStream, candidate.manifest.name, options.trust))) ??
    (await verifyWith({
      data: candidate.path,
      signature: sig,
      name: candidate.manifest.name,
      store: options.trust,
      ...(options.now ? { date: options.now } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    }));
  return { signatureFingerprint: verified.value.keyFingerprint };
}

/** `verifySignature` of `@appc/verify`, loaded on first use. */
async function verifyWith(
  options: import('@appc/verify').VerifySignatureOptions,
): Promise<VerifiedSignature> {
  return (await verifying()).verifySignature(options);
}

interface InStream {
  body: AsyncIterable<Uint8Array>;
  verified: Promise<VerifiedSignature>;
  /** Checked with every trusted key (a URL fetch): the key must still be trusted for the manifest's name. */
  anyName?: boolean;
  close(): void;
}

/** The placeholder name an any-key check runs under (the keys come from {@link everyTrustedKey}). */
const ANY_NAME = 'appc.invalid/any-name';

/** A keyring of every key the store trusts, for any name (root keys, and the keys of every prefix), or
 * undefined when the key store cannot list its keys or trusts none. */
async function everyTrustedKey(trust: Keyring): Promise<Keyring | undefined> {
  const lister = trust as Keyring & {
    list?: () => Promise<{ kind: string; prefix: string | undefined; mask: boolean; masked: boolean }[]>;
  };
  if (typeof lister.list !== 'function') return undefined;
  const entries = (await lister.list()).filter((e) => !e.mask && !e.masked);
  const names = new Set(
    entries.map((e) => (e.kind === 'root' || e.prefix === undefined ? ANY_NAME : e.prefix)),
  );
  const keys = new Map<string, Awaited<ReturnType<Keyring['keysFor']>>[number]>();
  for (const name of names) for (const k of await trust.keysFor(name)) keys.set(k.file, k);
  if (keys.size === 0) return undefined;
  const all = [...keys.values()];
  return { keysFor: async () => all };
}

/** The in-stream result when it stands for `name`: checked for that name (its refusal is thrown), or made by a
 * key trusted for it; undefined when the check must be made again from the received copy. */
async function authorized(
  inStream: InStream,
  name: string,
  trust: Keyring,
): Promise<VerifiedSignature | undefined> {
  if (!inStream.anyName) return inStream.verified;
  const result = await inStream.verified.catch(() => undefined);
  if (!result) return undefined;
  const key = (await trust.keysFor(name)).find((k) => k.fingerprint === result.keyFingerprint);
  return key && { ...result, kind: key.kind, prefix: key.prefix, scope: key.scope, file: key.file };
}

/** Feeds every chunk of `source` to a signature check as well as to the caller, with backpressure from both; a
 * check that fails early (an untrusted signer is known before any byte) ends the stream with its error. */
function verifyInStream(
  source: AsyncIterable<Uint8Array>,
  signature: Uint8Array,
  name: string,
  options: FetchImageOptions,
  anyName = false,
): InStream {
  const pass = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  const verified = verifyWith({
    data: pass,
    signature,
    name,
    store: options.trust as Keyring,
    ...(options.now ? { date: options.now } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  verified.catch(() => {});
  // for a name the refusal ends the download at once; for a URL (any key) the image still arrives whole and the
  // check decides from the received copy, whose refusal names the image
  let dead = false;
  const failed = verified.then(
    () => new Promise<never>(() => {}),
    (e: unknown) => {
      dead = true;
      return anyName ? undefined : Promise.reject(e);
    },
  );
  failed.catch(() => {});
  async function* body(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      if (!dead && !pass.write(chunk)) await Promise.race([once(pass, 'drain'), failed]);
      yield chunk;
    }
    pass.end();
  }
  return {
    body: body(),
    verified,
    anyName,
    close() {
      if (!pass.writableEnded) pass.destroy();
    },
  };
}

/** A fetch's result; `rest` says what was checked and warned about when something was imported. */
function resultOf(
  image: StoredImage,
  from: FetchImageResult['from'],
  rest: Partial<Pick<FetchImageResult, 'url' | 'signature' | 'warnings' | 'attempts'>> = {},
): FetchImageResult {
  return {
    image,
    from,
    url: rest.url,
    signature: rest.signature,
    warnings: rest.warnings ?? [],
    attempts: rest.attempts ?? [],
    dependencies: [],
  };
}

/** The options of `@appc/discovery` for this fetch: the caller's network settings and the relaxations. */
function transportOf(options: FetchImageOptions): DiscoveryOptions {
  return {
    ...options.network,
    insecure: { http: options.insecure?.http === true, tls: options.insecure?.tls === true },
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

function unsigned(source: string): StoreError {
  return new StoreError(
    `${source} has no signature; nothing was stored. Sign it (appc sign) and publish the .asc beside it, or ` +
      'accept unsigned images with --insecure-options=image.',
    { code: 'ERR_STORE_UNSIGNED', requirement: 'VERIFY-001', file: source },
  );
}

function notInStore(what: string, policy: PullPolicy): StoreError {
  return new StoreError(
    `${what} is not in the store${policy === 'never' ? ' and --pull-policy=never forbids asking the network' : ''}. ` +
      'Fetch it first (appc fetch), or use another pull policy.',
    { code: 'ERR_STORE_NOT_FOUND', requirement: 'DISC-013' },
  );
}

async function downloadInto(
  store: Store,
  url: string,
  ascUrl: string,
  asked: AppString | undefined,
  options: FetchImageOptions,
  attempts: Attempt[],
  beforeDownload?: () => Promise<void>,
): Promise<FetchImageResult> {
  const policy = options.pullPolicy ?? 'update';
  const now = options.now ?? new Date();
  const remote = store.getRemote(url);
  const known =
    remote !== undefined &&
    store.has(remote.imageId) &&
    (options.expectedId === undefined || remote.imageId === options.expectedId)
      ? remote
      : undefined;
  if (known && (policy !== 'update' || (known.expiresAt !== undefined && known.expiresAt > now))) {
    return resultOf(store.get(known.imageId), policy === 'update' ? 'cache' : 'store', { url, attempts });
  }
  if (policy === 'never') throw notInStore(url, policy);
  const transport = transportOf(options);
  const { openDownload } = await discovery();
  // asked before the request: a review on a terminal may take longer than a server waits
  await beforeDownload?.();
  const dl = await openDownload(url, {
    ...transport,
    ...(known?.etag !== undefined ? { ifNoneMatch: known.etag } : {}),
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
  });
  if (dl.notModified && known) {
    store.setRemote(url, {
      imageId: known.imageId,
      ...(dl.etag !== undefined ? { etag: dl.etag } : known.etag !== undefined ? { etag: known.etag } : {}),
      ...(dl.maxAgeSeconds !== undefined ? { cacheMaxAgeSeconds: dl.maxAgeSeconds } : {}),
    });
    return resultOf(store.get(known.imageId), 'not-modified', { url, attempts });
  }
  // the signature downloads while the image streams into the store; the check waits for both
  const signature: Promise<Uint8Array | undefined> = options.insecure?.image
    ? Promise.resolve(undefined)
    : (async () => {
        let sdl: Download;
        try {
          sdl = await openDownload(ascUrl, { ...transport, maxBytes: MAX_SIGNATURE_BYTES });
        } catch (e) {
          if ((e as { status?: number }).status === 404 || (e as { status?: number }).status === 410)
            return undefined;
          throw e;
        }
        return readAll(counted(sdl.body, 'signature', sdl, options.onProgress));
      })();
  signature.catch(() => {}); // awaited in the check; never an unhandled rejection meanwhile
  const verified: { value?: VerifiedSignature } = {};
  let body: AsyncIterable<Uint8Array> = counted(dl.body, 'image', dl, options.onProgress);
  let stream: InStream | undefined;
  if (asked && !options.insecure?.image && options.trust) {
    // the name is known before the first byte (DISC-009 makes the manifest carry it): the signature is checked
    // on the same pass as the download, the decompression and the image ID
    let sig: Uint8Array | undefined;
    try {
      sig = await signature;
    } catch (e) {
      dl.close();
      throw e;
    }
    if (sig === undefined) {
      dl.close();
      throw unsigned(url);
    }
    stream = verifyInStream(body, sig, asked.name, options);
    body = stream.body;
  } else if (!asked && !options.insecure?.image && options.trust) {
    // a URL: the name comes with the manifest, after the first bytes. The signature is checked on the same pass
    // with every trusted key that could have made it; the check then requires that key to be trusted for the
    // manifest's name (and, if not, checks again from the received copy, which gives the exact refusal)
    // a trust store that cannot be listed whole (a damaged key file under another prefix) leaves the check to the
    // received copy, which reads only the keys of the manifest's name
    const every = await everyTrustedKey(options.trust).catch(() => undefined);
    const sig = every ? await signature.catch(() => undefined) : undefined;
    if (every && sig !== undefined) {
      stream = verifyInStream(body, sig, ANY_NAME, { ...options, trust: every }, true);
      body = stream.body;
    }
  }
  try {
    const put = await store.put(body, {
      file: dl.finalUrl,
      sourceUrl: url,
      ...(options.expectedId !== undefined ? { expectedId: options.expectedId } : {}),
      ...(dl.etag !== undefined ? { etag: dl.etag } : {}),
      ...(dl.maxAgeSeconds !== undefined ? { cacheMaxAgeSeconds: dl.maxAgeSeconds } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      check: (candidate) => checkCandidate(candidate, asked, signature, options, url, verified, stream),
    });
    return resultOf(put.image, 'download', {
      url,
      signature: verified.value,
      warnings: [...put.warnings, ...(options.insecure?.image ? [insecureWarning(url)] : [])],
      attempts,
    });
  } finally {
    stream?.close();
    dl.close();
  }
}

/** Brings an image into the store, verified (DESIGN.md's fetch pipeline): a `sha512-` ID is looked up; a file is
 * imported with its `FILE.asc`; a URL is downloaded with `URL.asc`; a name is discovered (DISC-001..DISC-008),
 * downloaded, checked against the name and labels asked for (DISC-009) and its signature against the keys
 * trusted for the name (VERIFY-001, VERIFY-002), all before anything is stored. A re-fetch of an unchanged
 * image downloads nothing: a fresh max-age asks nothing, an ETag makes the server answer 304 (DISC-013).
 * @throws `StoreError` (`ERR_STORE_NOT_FOUND`, `ERR_STORE_UNSIGNED`, `ERR_STORE_NOT_REQUESTED`,
 * `ERR_STORE_INVALID_IMAGE`, `ERR_STORE_TOO_LARGE`, ...), `DiscoveryError` (`ERR_DISC_*`), `VerifyError`
 * (`ERR_VERIFY_*`): in every case nothing was stored.
 * @example
 * const store = await openStore('/var/lib/appc');
 * const trust = openTrustStore({ localDir: '/etc/appc' });
 * const { image } = await fetchImage(store, 'example.com/app:1.0', { trust });
 */
export async function fetchImage(
  store: Store,
  ref: string | ImageRef,
  options: FetchImageOptions = {},
): Promise<FetchImageResult> {
  const result = await fetchOne(store, ref, options);
  if (options.dependencies === false) return result;
  const dependencies: StoredImage[] = [];
  await fetchDependencies(store, result.image, options, [result.image.id], dependencies);
  return { ...result, dependencies };
}

const MAX_DEPENDENCY_DEPTH = 32;

/** ACI-023: each dependency by name and labels (an imageID pins it, ACI-011; a size bounds its download),
 * depth first; a cycle is an error. */
async function fetchDependencies(
  store: Store,
  image: StoredImage,
  options: FetchImageOptions,
  chain: string[],
  out: StoredImage[],
): Promise<void> {
  for (const dep of store.manifest(image.id).dependencies ?? []) {
    let found: StoredImage | undefined;
    if (dep.imageID !== undefined && store.has(dep.imageID)) found = store.get(dep.imageID);
    else {
      const labels = Object.fromEntries((dep.labels ?? []).map((l) => [l.name, l.value]));
      const { dependencies: _, expectedId: __, maxBytes: ___, ...rest } = options;
      const r = await fetchOne(
        store,
        { kind: 'name', app: { name: dep.imageName, labels } },
        {
          ...rest,
          // a stored image that matches satisfies a dependency (offline builds work); `never` stays `never`, and
          // `appc fetch DEPENDENCY` updates one
          pullPolicy: options.pullPolicy === 'never' ? 'never' : 'new',
          ...(dep.imageID !== undefined ? { expectedId: dep.imageID } : {}),
          ...(dep.size !== undefined && dep.size > 0 ? { maxBytes: dep.size } : {}),
        },
      ).catch((error: unknown) => {
        // the failure keeps its code and requirement; its message says which image needed the dependency
        if (error instanceof Error)
          error.message = `${image.name} depends on ${dep.imageName} (ACI-023), which could not be fetched: ${error.message}`;
        throw error;
      });
      found = r.image;
    }
    if (chain.includes(found.id) || chain.length > MAX_DEPENDENCY_DEPTH) {
      throw new StoreError(
        `${image.name} depends on ${dep.imageName}, which ${chain.includes(found.id) ? 'depends back on it: a dependency cycle' : `is more than ${MAX_DEPENDENCY_DEPTH} levels deep`} (ACI-023).`,
        { code: 'ERR_STORE_INVALID_IMAGE', requirement: 'ACI-023', pointer: '/dependencies' },
      );
    }
    if (dep.size !== undefined && dep.size > 0 && found.sizeBytes !== dep.size) {
      throw new StoreError(
        `dependency ${dep.imageName} of ${image.name} is declared as ${dep.size} bytes, but the image is ${found.sizeBytes} bytes (ACI-023).`,
        { code: 'ERR_STORE_INVALID_IMAGE', requirement: 'ACI-023', pointer: '/dependencies' },
      );
    }
    await fetchDependencies(store, found, options, [...chain, found.id], out);
    if (!out.some((d) => d.id === found.id)) out.push(found);
  }
}

async function fetchOne(
  store: Store,
  ref: string | ImageRef,
  options: FetchImageOptions,
): Promise<FetchImageResult> {
  const r = typeof ref === 'string' ? classifyImageRef(ref) : ref;
  const policy = options.pullPolicy ?? 'update';
  if (r.kind === 'id') return resultOf(store.get(r.id), 'store');
  if (r.kind === 'file') {
    const path = resolvePath(r.path);
    // a device never ends (appc fetch /dev/zero wrote into the store until the disk was full)
    const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.path === undefined) e.path = r.path;
      throw e;
    });
    // a directory (an image layout given for its image) is Node's EISDIR, as reading it would be: callers name
    // the way out (the CLI says to build it first)
    if (info.isDirectory())
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${r.path}'`), {
        code: 'EISDIR',
        errno: -21,
        syscall: 'read',
        path: r.path,
      });
    // a pipe (`appc fetch /dev/stdin`, `<(...)`) is read as a file is, as before
    if (!info.isFile() && !info.isFIFO())
      throw new StoreError(`${r.path} is not a regular file; give an ACI file (name.aci).`, {
        code: 'ERR_STORE_INVALID_IMAGE',
        requirement: 'ACI-006',
        file: r.path,
      });
    const ascPath = `${path}.asc`;
    const signature = options.insecure?.image ? Promise.resolve(undefined) : readSignatureFile(ascPath);
    signature.catch(() => {});
    const verified: { value?: VerifiedSignature } = {};
    // one read of the file feeds both the import and the signature check (the same bytes for both); the keys
    // are those of the name in the manifest, read first from the archive's start, and the check is redone from
    // the imported copy if the imported manifest names another image
    let stream: InStream | undefined;
    let streamName: string | undefined;
    const sig = await signature.catch(() => undefined);
    if (sig !== undefined && !options.insecure?.image && options.trust) {
      const { readManifest } = await import('@appc/aci');
      streamName = await readManifest(path).then(
        (m) => m.manifest.name,
        () => undefined,
      );
      if (streamName !== undefined) stream = verifyInStream(createReadStream(path), sig, streamName, options);
    }
    let put: Awaited<ReturnType<Store['put']>>;
    try {
      put = await store.put(stream?.body ?? path, {
        file: r.path,
        ...(options.expectedId !== undefined ? { expectedId: options.expectedId } : {}),
        ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        check: (candidate) =>
          checkCandidate(
            candidate,
            undefined,
            signature,
            options,
            r.path,
            verified,
            candidate.manifest.name === streamName ? stream : undefined,
          ),
      });
    } finally {
      stream?.close();
    }
    return resultOf(put.image, 'file', {
      signature: verified.value,
      warnings: [...put.warnings, ...(options.insecure?.image ? [insecureWarning(r.path)] : [])],
    });
  }
  if (r.kind === 'url') return downloadInto(store, r.url, `${r.url}.asc`, undefined, options, []);

  const asked: AppString = { name: r.app.name, labels: withHostOsArch(r.app.labels) };
  if (policy !== 'update') {
    const found = store.find({ name: asked.name, labels: asked.labels });
    if (found && (options.expectedId === undefined || found.id === options.expectedId))
      return resultOf(found, 'store');
    if (policy === 'never') throw notInStore(`${r.app.name} with ${JSON.stringify(asked.labels)}`, policy);
  }
  const { discover } = await discovery();
  const found = await discover(r.app, transportOf(options));
  const wanted: AppString = { name: found.name, labels: found.labels };
  // VERIFY-006, asked only when the remote is to be asked (a stored image still fresh needs no key)
  let offered = false;
  const beforeDownload = async () => {
    if (offered || options.insecure?.image || !options.trust || !options.onUntrustedName) return;
    offered = true;
    const trust = options.trust;
    const trusted = trust.hasKeysFor
      ? await trust.hasKeysFor(found.name)
      : (await trust.keysFor(found.name)).length > 0;
    if (!trusted) await options.onUntrustedName(found.name, found.pubkeys);
  };
  let lastError: unknown;
  for (const endpoint of found.endpoints) {
    try {
      return await downloadInto(
        store,
        endpoint.aci,
        endpoint.asc,
        wanted,
        options,
        found.attempts,
        beforeDownload,
      );
    } catch (e) {
      // another template may serve the image when this one's server is down; any other refusal is final
      const code = (e as { code?: string }).code;
      if (code !== 'ERR_DISC_NETWORK' && code !== 'ERR_DISC_HTTP_STATUS' && code !== 'ERR_DISC_TLS') throw e;
      lastError = e;
    }
  }
  throw (
    lastError ??
    new StoreError(`discovery found no image URL for ${r.app.name}.`, { code: 'ERR_STORE_NOT_FOUND' })
  );
}

/** Reads `FILE.asc` beside an imported file: undefined when there is none; refused unread when it is larger than
 * a signature can be, or not a regular file (a device or a FIFO would never end). */
async function readSignatureFile(path: string): Promise<Uint8Array | undefined> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const info = await fh.stat();
    if (!info.isFile() || info.size > MAX_SIGNATURE_BYTES) throw tooBigSignature(path);
    return new Uint8Array(await fh.readFile());
  } finally {
    await fh.close();
  }
}

function tooBigSignature(path: string): StoreError {
  return new StoreError(
    `${path} is not a regular file of at most ${MAX_SIGNATURE_BYTES} bytes; it is not a detached signature.`,
    {
      code: 'ERR_STORE_UNSIGNED',
      requirement: 'VERIFY-002',
      file: path,
    },
  );
}
