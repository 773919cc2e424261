import type { Dirent } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VerifyError } from './errors.ts';
import { isFingerprint, normalizeFingerprint } from './fingerprint.ts';
import { makeDirs, writeFileAtomic } from './internal/atomic-write.ts';
import { isValidPrefix, parsePrefix, prefixesOf } from './prefix.ts';
import { assertKeyUsable, describeKey, MAX_KEY_BYTES, type PublicKeyInfo, parseKeys } from './public-key.ts';
import { formatKeyForReview, type KeyReview } from './review.ts';

/** Which config dir a key file lives in: `system` (shipped by the distribution) or `local` (the admin's). */
export type KeyScope = 'system' | 'local';
/** `root` keys verify every name; `prefix` keys the names under their prefix (VERIFY-003, VERIFY-004). */
export type TrustKind = 'root' | 'prefix';

/** Where the two config dirs are; each holds `trustedkeys/root.d` and `trustedkeys/prefix.d` (VERIFY-003). */
export interface TrustStoreOptions {
  /** Read-only config dir of the distribution (the CLI's default: `/usr/lib/appc`). */
  systemDir?: string | undefined;
  /** The admin's config dir, where `add` writes (the CLI's default: `/etc/appc`). */
  localDir?: string | undefined;
}

/** A key the store trusts for some names. */
export interface TrustedKey {
  /** Fingerprint of the primary key: 40 lower-case hex digits, also the file name. */
  fingerprint: string;
  userIds: string[];
  kind: TrustKind;
  /** The prefix whose directory holds the key; `undefined` for a root key. */
  prefix: string | undefined;
  scope: KeyScope;
  /** Path of the key file. */
  file: string;
  /** The key, ASCII-armored. */
  armored: string;
}

/** One file of the store, as `list` reports it. */
export interface TrustListEntry {
  fingerprint: string;
  /** Empty for a masking file. */
  userIds: string[];
  kind: TrustKind;
  prefix: string | undefined;
  scope: KeyScope;
  file: string;
  /** True for an empty local file: it masks the system key of the same fingerprint (VERIFY-003). */
  mask: boolean;
  /** True for a system key that an empty local file at the same place masks. */
  masked: boolean;
}

/** A key to add: a file path, an `https://` (or, when allowed, `http://`) URL, a `file:` URL, or key text. */
export type KeySource = string | { text: string | Uint8Array; location: string };

/** The part of a fetch Response that key download uses (`globalThis.fetch` and node-fetch both fit). */
export interface KeyFetchResponse {
  status: number;
  /** Final URL after redirects, when the client reports it. */
  url?: string;
  body?: unknown;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Downloads a key; injected so that tests and the CLI choose the client (TLS options, auth headers). */
export type KeyFetch = (url: string, init: { signal?: AbortSignal }) => Promise<KeyFetchResponse>;

/** Finds the public-key URLs for a prefix, e.g. by `ac-discovery-pubkeys` meta discovery (VERIFY-005). */
export type KeyDiscovery = (
  prefix: string,
  options: { signal?: AbortSignal | undefined },
) => Promise<string[]>;

/** What a review callback is shown: the key's facts and the text rkt would print. */
export interface KeyReviewRequest extends KeyReview {
  /** {@link formatKeyForReview} of this key. */
  text: string;
}

/** Options of {@link TrustStore.add}. Exactly one of `prefix` and `root`. */
export interface AddKeyOptions {
  /** Trust the keys for names under this prefix (VERIFY-004). */
  prefix?: string | undefined;
  /** Trust the keys for every name; only local files may be added as root keys (VERIFY-005). */
  root?: boolean | undefined;
  /** Where the keys come from. Empty or absent with `prefix`: `discover` is asked for key URLs. */
  keys?: KeySource[] | undefined;
  /** Key discovery, used when `keys` is empty (VERIFY-005). */
  discover?: KeyDiscovery | undefined;
  /** Downloads key URLs; default `globalThis.fetch`. */
  fetch?: KeyFetch | undefined;
  /** Allow `http://` key URLs (and redirects to http); default false (VERIFY-005; `appc trust add --insecure-options=http`). */
  allowHttp?: boolean | undefined;
  /** Shown every key before it is stored; return true to trust it (the CLI asks for `yes` on a terminal). */
  review?: ((request: KeyReviewRequest) => boolean | Promise<boolean>) | undefined;
  /** Pinned fingerprint(s) for scripts: every key added must have one of them (case and spaces ignored). */
  fingerprint?: string | string[] | undefined;
  /** Store without review or pin (the CLI's `--skip-fingerprint-review`). */
  skipReview?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** A key that {@link TrustStore.add} stored. */
export interface AddedKey {
  fingerprint: string;
  userIds: string[];
  kind: TrustKind;
  prefix: string | undefined;
  location: string;
  file: string;
  /** True when a file for this key already existed at that place and was replaced (or kept, if `unchanged`). */
  replaced: boolean;
  /** True when this very key was already trusted there: it was neither reviewed nor written again. */
  unchanged: boolean;
}

/** Options of {@link TrustStore.remove} and {@link TrustStore.mask}. */
export interface RemoveKeyOptions {
  fingerprint: string;
  /** Only the key stored for this prefix. */
  prefix?: string | undefined;
  /** Only the root key. */
  root?: boolean | undefined;
}

const TRUSTED = 'trustedkeys';
const ROOT_D = 'root.d';
const PREFIX_D = 'prefix.d';

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readDirOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

interface KeyFile {
  file: string;
  name: string;
  size: number;
}

/** Regular files of a key directory, sorted by name; dot-files (our temporary files) and sub-directories skipped. */
async function keyFilesIn(dir: string): Promise<KeyFile[]> {
  const out: KeyFile[] = [];
  for (const entry of await readDirOrEmpty(dir)) {
    if (entry.name.startsWith('.')) continue;
    const file = join(dir, entry.name);
    const info = await stat(file).catch((error: unknown) => {
      if (isMissing(error)) return undefined;
      throw error;
    });
    if (info?.isFile()) out.push({ file, name: entry.name, size: info.size });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function badFileName(file: string, detail: string): VerifyError {
  return new VerifyError(
    `${file}: ${detail}. A trusted key file must be named after the 40-digit lower-case hex fingerprint of its ` +
      'primary key (gpg --with-colons --fingerprint shows it); rename or remove the file.',
    { code: 'ERR_VERIFY_KEY_FILE_NAME', requirement: 'VERIFY-003', file },
  );
}

/** Reads one non-empty key file and checks that its name is its fingerprint (VERIFY-003). */
async function loadKeyFile(kf: KeyFile): Promise<PublicKeyInfo> {
  if (!isFingerprint(kf.name)) throw badFileName(kf.file, 'the file name is not a fingerprint');
  if (kf.size > MAX_KEY_BYTES) {
    throw new VerifyError(`${kf.file}: ${kf.size} bytes is too large for a public key file.`, {
      code: 'ERR_VERIFY_KEY_TOO_LARGE',
      requirement: 'VERIFY-003',
      file: kf.file,
    });
  }
  const keys = await parseKeys(await readFile(kf.file), kf.file).catch((error: unknown) => {
    if (!(error instanceof VerifyError) || error.code !== 'ERR_VERIFY_MALFORMED_KEY') throw error;
    // a file of the store, not one the user just gave: say how to get rid of it
    throw new VerifyError(
      `${kf.file}: this trusted key file is not a readable OpenPGP public key (${(error.cause as Error | undefined)?.message ?? 'no key in it'}). Remove it ` +
        `(appc trust remove ${kf.name}, or delete the file) and add the publisher's key again.`,
      { code: 'ERR_VERIFY_MALFORMED_KEY', requirement: 'VERIFY-003', file: kf.file, cause: error },
    );
  });
  if (keys.length !== 1) {
    throw new VerifyError(`${kf.file}: holds ${keys.length} keys; a trusted key file holds exactly one.`, {
      code: 'ERR_VERIFY_MALFORMED_KEY',
      requirement: 'VERIFY-003',
      file: kf.file,
    });
  }
  const info = await describeKey(keys[0] as (typeof keys)[number]);
  if (info.fingerprint !== kf.name) {
    throw badFileName(kf.file, `the key in it has fingerprint ${info.fingerprint}`);
  }
  return info;
}

/** Reads a key source into bytes, enforcing https unless http is allowed. */
async function loadSource(
  source: KeySource,
  options: AddKeyOptions,
): Promise<{ location: string; bytes: Uint8Array | string; remote: boolean }> {
  if (typeof source !== 'string') return { location: source.location, bytes: source.text, remote: false };
  if (!/^[a-z][a-z0-9+.-]*:/i.test(source) || /^[a-z]:[\\/]/i.test(source)) {
    return { location: source, bytes: await readLocalKey(source), remote: false };
  }
  let url: URL;
  try {
    url = new URL(source);
  } catch (cause) {
    throw new VerifyError(`${source}: not a valid URL or file path.`, {
      code: 'ERR_VERIFY_KEY_FETCH',
      requirement: 'VERIFY-005',
      cause,
    });
  }
  if (url.protocol === 'file:') {
    return { location: source, bytes: await readLocalKey(fileURLToPath(url)), remote: false };
  }
  checkScheme(url, source, options);
  const fetcher = options.fetch ?? (globalThis.fetch as unknown as KeyFetch);
  let response: KeyFetchResponse;
  try {
    response = await fetcher(url.href, options.signal === undefined ? {} : { signal: options.signal });
  } catch (cause) {
    if (options.signal?.aborted) throw aborted(cause);
    throw new VerifyError(`${source}: the key could not be downloaded (${(cause as Error).message}).`, {
      code: 'ERR_VERIFY_KEY_FETCH',
      requirement: 'VERIFY-005',
      cause,
    });
  }
  if (typeof response.url === 'string' && response.url !== '' && response.url !== url.href) {
    // a redirect must not downgrade the transport (https -> http) unless http is allowed
    checkScheme(new URL(response.url), `${source} (redirected to ${response.url})`, options);
  }
  if (response.status !== 200) {
    throw new VerifyError(`${source}: the server answered ${response.status} where 200 was expected.`, {
      code: 'ERR_VERIFY_KEY_FETCH',
      requirement: 'VERIFY-005',
    });
  }
  return { location: source, bytes: await readBody(response, source), remote: true };
}

function checkScheme(url: URL, what: string, options: AddKeyOptions): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:') {
    if (options.allowHttp === true) return;
    throw new VerifyError(
      `${what}: keys are fetched over https only; allow http explicitly (appc trust add --insecure-options=http; ` +
        'the option allowHttp) if you accept that anyone on the path can replace the key.',
      { code: 'ERR_VERIFY_INSECURE_KEY_URL', requirement: 'VERIFY-005' },
    );
  }
  throw new VerifyError(
    `${what}: unsupported URL scheme ${url.protocol}; give an https URL or a file path.`,
    {
      code: 'ERR_VERIFY_KEY_FETCH',
      requirement: 'VERIFY-005',
    },
  );
}

async function readBody(response: KeyFetchResponse, where: string): Promise<Uint8Array> {
  const tooLarge = () =>
    new VerifyError(`${where}: the download exceeds ${MAX_KEY_BYTES} bytes; that is no public key.`, {
      code: 'ERR_VERIFY_KEY_TOO_LARGE',
      requirement: 'VERIFY-005',
    });
  const body = response.body as AsyncIterable<Uint8Array> | null | undefined;
  if (body != null && typeof body[Symbol.asyncIterator] === 'function') {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > MAX_KEY_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.byteLength > MAX_KEY_BYTES) throw tooLarge();
  return bytes;
}

async function readLocalKey(path: string): Promise<Uint8Array> {
  const info = await stat(path);
  if (!info.isFile()) {
    throw new VerifyError(
      `${path}: not a regular file; give a key file exported with gpg --armor --export.`,
      {
        code: 'ERR_VERIFY_MALFORMED_KEY',
        file: path,
      },
    );
  }
  if (info.size > MAX_KEY_BYTES) {
    throw new VerifyError(`${path}: ${info.size} bytes is too large for a public key file.`, {
      code: 'ERR_VERIFY_KEY_TOO_LARGE',
      file: path,
    });
  }
  return readFile(path);
}

function aborted(cause?: unknown): VerifyError {
  return new VerifyError('The operation was aborted.', { code: 'ERR_VERIFY_ABORTED', cause });
}

/** The trust store: prefix-scoped and root keys in rkt's layout, read from a system and a local config dir
 * (VERIFY-003, VERIFY-004). Only the local dir is ever written. */
export class TrustStore {
  readonly systemDir: string | undefined;
  readonly localDir: string | undefined;

  constructor(options: TrustStoreOptions) {
    this.systemDir = options.systemDir;
    this.localDir = options.localDir;
  }

  private dirs(): { scope: KeyScope; dir: string }[] {
    const out: { scope: KeyScope; dir: string }[] = [];
    if (this.systemDir !== undefined) out.push({ scope: 'system', dir: join(this.systemDir, TRUSTED) });
    if (this.localDir !== undefined) out.push({ scope: 'local', dir: join(this.localDir, TRUSTED) });
    return out;
  }

  /** The keys that verify images called `name`: root keys, then the keys of every prefix from the first name
   * component down to the whole name (whole components: `a.com/foo` does not cover `a.com/foobar`), read in
   * the order system root, local root, system prefix, local prefix; an empty file removes the key of that
   * fingerprint read so far (masking, VERIFY-003). An empty result means no key is trusted (VERIFY-001).
   * @throws {@link VerifyError} `ERR_VERIFY_INVALID_NAME`, `ERR_VERIFY_KEY_FILE_NAME` (a file not named after
   * its key), `ERR_VERIFY_MALFORMED_KEY`, `ERR_VERIFY_KEY_TOO_LARGE`. */
  async keysFor(name: string): Promise<TrustedKey[]> {
    const prefixes = prefixesOf(name);
    const ring = new Map<string, TrustedKey>();
    const load = async (dir: string, scope: KeyScope, kind: TrustKind, prefix: string | undefined) => {
      for (const kf of await keyFilesIn(dir)) {
        if (kf.size === 0) {
          if (!isFingerprint(kf.name))
            throw badFileName(kf.file, 'the (empty, masking) file name is not a fingerprint');
          ring.delete(kf.name);
          continue;
        }
        const info = await loadKeyFile(kf);
        ring.delete(info.fingerprint); // a later file of the same key replaces the earlier, at its place in order
        ring.set(info.fingerprint, {
          fingerprint: info.fingerprint,
          userIds: info.userIds,
          kind,
          prefix,
          scope,
          file: kf.file,
          armored: info.armored,
        });
      }
    };
    for (const { scope, dir } of this.dirs()) await load(join(dir, ROOT_D), scope, 'root', undefined);
    for (const { scope, dir } of this.dirs()) {
      for (const prefix of prefixes)
        await load(join(dir, PREFIX_D, ...prefix.split('/')), scope, 'prefix', prefix);
    }
    return [...ring.values()];
  }

  /** Whether any key is trusted for `name` (a root key, or a key for it or a parent prefix, not masked), from
   * the file names alone: nothing is parsed, so it is cheap; {@link keysFor} reads and checks the keys. */
  async hasKeysFor(name: string): Promise<boolean> {
    const prefixes = prefixesOf(name);
    const ring = new Set<string>();
    const load = async (dir: string) => {
      for (const kf of await keyFilesIn(dir)) {
        if (kf.size === 0) ring.delete(kf.name);
        else ring.add(kf.name);
      }
    };
    for (const { dir } of this.dirs()) await load(join(dir, ROOT_D));
    for (const { dir } of this.dirs())
      for (const prefix of prefixes) await load(join(dir, PREFIX_D, ...prefix.split('/')));
    return ring.size > 0;
  }

  /** Every file of the store, system dir first; `prefix` keeps the keys stored for exactly that prefix.
   * Prefix directories whose path is not a valid prefix are never read by verification and are not listed.
   * @throws {@link VerifyError} `ERR_VERIFY_KEY_FILE_NAME`, `ERR_VERIFY_MALFORMED_KEY`, `ERR_VERIFY_INVALID_PREFIX`. */
  async list(options: { prefix?: string | undefined } = {}): Promise<TrustListEntry[]> {
    const only = options.prefix === undefined ? undefined : parsePrefix(options.prefix);
    const out: TrustListEntry[] = [];
    const add = async (dir: string, scope: KeyScope, kind: TrustKind, prefix: string | undefined) => {
      for (const kf of await keyFilesIn(dir)) {
        if (kf.size === 0) {
          if (!isFingerprint(kf.name))
            throw badFileName(kf.file, 'the (empty, masking) file name is not a fingerprint');
          out.push({
            fingerprint: kf.name,
            userIds: [],
            kind,
            prefix,
            scope,
            file: kf.file,
            mask: true,
            masked: false,
          });
          continue;
        }
        const info = await loadKeyFile(kf);
        out.push({
          fingerprint: info.fingerprint,
          userIds: info.userIds,
          kind,
          prefix,
          scope,
          file: kf.file,
          mask: false,
          masked: false,
        });
      }
    };
    for (const { scope, dir } of this.dirs()) {
      if (only === undefined) await add(join(dir, ROOT_D), scope, 'root', undefined);
      const base = join(dir, PREFIX_D);
      const prefixes = only === undefined ? await prefixDirs(base) : [only];
      for (const prefix of prefixes) await add(join(base, ...prefix.split('/')), scope, 'prefix', prefix);
    }
    for (const entry of out) {
      if (entry.scope !== 'system' || entry.mask) continue;
      entry.masked = out.some(
        (m) =>
          m.scope === 'local' &&
          m.mask &&
          m.kind === entry.kind &&
          m.prefix === entry.prefix &&
          m.fingerprint === entry.fingerprint,
      );
    }
    return out;
  }

  /** Fetches, reviews and stores keys in the local dir (VERIFY-005): files, https URLs, or the URLs `discover`
   * returns for the prefix. Every key is reviewed first (pin, callback or `skipReview`); nothing is written
   * unless every key is accepted. A key already trusted at that place, the same bytes, is neither reviewed nor
   * written again (`unchanged`), so a repeated `trust add` is idempotent. Files are written atomically, mode
   * 0644, directories 0755.
   * @throws {@link VerifyError} `ERR_VERIFY_USAGE`, `ERR_VERIFY_NO_LOCAL_DIR`, `ERR_VERIFY_INVALID_PREFIX`,
   * `ERR_VERIFY_ROOT_KEY_SOURCE`, `ERR_VERIFY_NO_KEYS_DISCOVERED`, `ERR_VERIFY_INSECURE_KEY_URL`,
   * `ERR_VERIFY_KEY_FETCH`, `ERR_VERIFY_MALFORMED_KEY`, `ERR_VERIFY_KEY_TOO_LARGE`, `ERR_VERIFY_KEY_REVOKED`,
   * `ERR_VERIFY_KEY_EXPIRED`, `ERR_VERIFY_FINGERPRINT_MISMATCH`, `ERR_VERIFY_REVIEW_REFUSED`,
   * `ERR_VERIFY_REVIEW_REQUIRED`, `ERR_VERIFY_ABORTED`.
   * @example
   * const store = openTrustStore({ localDir: '/etc/appc' });
   * await store.add({ prefix: 'example.com/app', keys: ['./pubkeys.asc'], fingerprint: '8B86 DE38 …' });
   */
  async add(options: AddKeyOptions): Promise<AddedKey[]> {
    const root = options.root === true;
    if (root === (options.prefix !== undefined)) {
      throw new VerifyError(
        'Give either a prefix or root (not both, not neither) to say which names the key verifies.',
        {
          code: 'ERR_VERIFY_USAGE',
          requirement: 'VERIFY-005',
        },
      );
    }
    const prefix = options.prefix === undefined ? undefined : parsePrefix(options.prefix);
    const localDir = this.requireLocalDir();
    const pins =
      options.fingerprint === undefined
        ? undefined
        : (Array.isArray(options.fingerprint) ? options.fingerprint : [options.fingerprint]).map(
            normalizeFingerprint,
          );
    const unreviewed = pins === undefined && options.review === undefined && options.skipReview !== true;
    const reviewRequired = () =>
      new VerifyError(
        'Refusing to trust a key nobody reviewed: pass a review callback, a pinned fingerprint, or skipReview ' +
          '(appc trust add asks on a terminal; use --fingerprint or --skip-fingerprint-review in scripts).',
        { code: 'ERR_VERIFY_REVIEW_REQUIRED', requirement: 'VERIFY-005' },
      );
    // a key already trusted here, byte for byte, is not asked about again (rkt#3756): the keys are read first
    let sources = options.keys ?? [];
    if (
      root &&
      sources.some((s) => typeof s === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !/^file:/i.test(s))
    ) {
      throw new VerifyError(
        'Root keys are added from local files only; download the key and review it first.',
        {
          code: 'ERR_VERIFY_ROOT_KEY_SOURCE',
          requirement: 'VERIFY-005',
        },
      );
    }
    if (sources.length === 0) {
      if (root || prefix === undefined) {
        throw new VerifyError('A root key needs a key file; discovery is for prefixes only.', {
          code: 'ERR_VERIFY_ROOT_KEY_SOURCE',
          requirement: 'VERIFY-005',
        });
      }
      if (options.discover === undefined) {
        throw new VerifyError('No key given and no key discovery available: give a key file or URL.', {
          code: 'ERR_VERIFY_USAGE',
          requirement: 'VERIFY-005',
        });
      }
      sources = await options.discover(prefix, { signal: options.signal });
      if (sources.length === 0) {
        throw new VerifyError(
          `Discovery found no public-key URL (ac-discovery-pubkeys) for ${prefix}; give the key file or URL ` +
            'explicitly: appc trust add --prefix PREFIX KEY.',
          { code: 'ERR_VERIFY_NO_KEYS_DISCOVERED', requirement: 'VERIFY-005' },
        );
      }
    }

    const dir =
      prefix === undefined
        ? join(localDir, TRUSTED, ROOT_D)
        : join(localDir, TRUSTED, PREFIX_D, ...prefix.split('/'));
    const accepted: { info: PublicKeyInfo; location: string; unchanged: boolean }[] = [];
    for (const source of sources) {
      if (options.signal?.aborted) throw aborted(options.signal.reason);
      const { location, bytes } = await loadSource(source, options);
      for (const key of await parseKeys(bytes, location)) {
        await assertKeyUsable(key, location, 'VERIFY-005');
        const info = await describeKey(key);
        if (pins !== undefined && !pins.includes(info.fingerprint)) {
          throw new VerifyError(
            `${location}: key ${info.fingerprint} is not the pinned fingerprint ${pins.join(' or ')}; ` +
              'check where the key comes from before trusting it.',
            { code: 'ERR_VERIFY_FINGERPRINT_MISMATCH', requirement: 'VERIFY-005', file: location },
          );
        }
        const stored = await readFile(join(dir, info.fingerprint), 'utf8').catch(() => undefined);
        if (stored === info.armored) {
          // already trusted here, the same key: nothing to review, nothing to write
          accepted.push({ info, location, unchanged: true });
          continue;
        }
        if (unreviewed) throw reviewRequired();
        if (options.review !== undefined) {
          const review: KeyReview = {
            prefix,
            root,
            location,
            fingerprint: info.fingerprint,
            subkeyFingerprints: info.subkeyFingerprints,
            userIds: info.userIds,
          };
          const ok = await options.review({ ...review, text: formatKeyForReview(review) });
          if (ok !== true) {
            throw new VerifyError(
              `${location}: key ${info.fingerprint} was not accepted at review; nothing stored.`,
              {
                code: 'ERR_VERIFY_REVIEW_REFUSED',
                requirement: 'VERIFY-005',
                file: location,
              },
            );
          }
        }
        accepted.push({ info, location, unchanged: false });
      }
    }

    await makeDirs(dir);
    const out: AddedKey[] = [];
    for (const { info, location, unchanged } of accepted) {
      const file = join(dir, info.fingerprint);
      const replaced = await stat(file).then(
        () => true,
        () => false,
      );
      if (!unchanged) await writeFileAtomic(file, info.armored);
      out.push({
        unchanged,
        fingerprint: info.fingerprint,
        userIds: info.userIds,
        kind: root ? 'root' : 'prefix',
        prefix,
        location,
        file,
        replaced,
      });
    }
    return out;
  }

  /** Removes the local files of a key: the root one, the one of a prefix, or (neither given) every local file of
   * that fingerprint, masks included. System keys are never touched: mask them with {@link TrustStore.mask}.
   * @returns the removed files.
   * @throws {@link VerifyError} `ERR_VERIFY_KEY_NOT_FOUND`, `ERR_VERIFY_INVALID_FINGERPRINT`,
   * `ERR_VERIFY_INVALID_PREFIX`, `ERR_VERIFY_NO_LOCAL_DIR`, `ERR_VERIFY_USAGE`. */
  async remove(options: RemoveKeyOptions): Promise<string[]> {
    const fingerprint = normalizeFingerprint(options.fingerprint);
    const localDir = this.requireLocalDir();
    const base = join(localDir, TRUSTED);
    let candidates: string[];
    if (options.root === true && options.prefix !== undefined) {
      throw new VerifyError('Give a prefix or root, not both.', { code: 'ERR_VERIFY_USAGE' });
    }
    if (options.root === true) candidates = [join(base, ROOT_D, fingerprint)];
    else if (options.prefix !== undefined) {
      candidates = [join(base, PREFIX_D, ...parsePrefix(options.prefix).split('/'), fingerprint)];
    } else {
      // by file name, without reading the keys: a damaged key file must stay removable
      candidates = [];
      const dirs = [join(base, ROOT_D)];
      for (const prefix of await prefixDirs(join(base, PREFIX_D)))
        dirs.push(join(base, PREFIX_D, ...prefix.split('/')));
      for (const dir of dirs)
        for (const kf of await keyFilesIn(dir)) if (kf.name === fingerprint) candidates.push(kf.file);
    }
    const removed: string[] = [];
    for (const file of candidates) {
      const exists = await stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!exists) continue;
      await rm(file);
      removed.push(file);
    }
    if (removed.length === 0) {
      const inSystem =
        this.systemDir !== undefined &&
        (await new TrustStore({ systemDir: this.systemDir })
          .list()
          .then((all) => all.some((e) => e.fingerprint === fingerprint))
          .catch(() => false));
      throw new VerifyError(
        inSystem
          ? `Key ${fingerprint} is only in the system dir (${this.systemDir}), which is not ours to change; ` +
              'mask it with an empty local file instead (appc trust remove --mask).'
          : `No local key file with fingerprint ${fingerprint}${options.prefix === undefined ? '' : ` for prefix ${options.prefix}`}` +
              `${options.root === true ? ' in root.d' : ''}; see appc trust list.`,
        { code: 'ERR_VERIFY_KEY_NOT_FOUND', requirement: 'VERIFY-003' },
      );
    }
    return removed;
  }

  /** Writes an empty local file for the fingerprint (root or prefix), which masks the system key of that
   * fingerprint there (VERIFY-003). A local key file at that place is replaced by the mask.
   * @returns the mask file written. */
  async mask(options: RemoveKeyOptions): Promise<string> {
    const fingerprint = normalizeFingerprint(options.fingerprint);
    const localDir = this.requireLocalDir();
    if ((options.root === true) === (options.prefix !== undefined)) {
      throw new VerifyError('Give either a prefix or root to say which system key to mask.', {
        code: 'ERR_VERIFY_USAGE',
      });
    }
    const dir =
      options.prefix === undefined
        ? join(localDir, TRUSTED, ROOT_D)
        : join(localDir, TRUSTED, PREFIX_D, ...parsePrefix(options.prefix).split('/'));
    await makeDirs(dir);
    const file = join(dir, fingerprint);
    await writeFileAtomic(file, '');
    return file;
  }

  private requireLocalDir(): string {
    if (this.localDir === undefined) {
      throw new VerifyError('This trust store has no local config dir to write to; open it with localDir.', {
        code: 'ERR_VERIFY_NO_LOCAL_DIR',
        requirement: 'VERIFY-003',
      });
    }
    return this.localDir;
  }
}

/** Every directory under `base` (prefix.d) whose relative path is a valid prefix, sorted. */
async function prefixDirs(base: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number) => {
    if (depth > 64) return;
    for (const entry of await readDirOrEmpty(dir)) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      const prefix = relative(base, full).split(sep).join('/');
      if (!isValidPrefix(prefix)) continue;
      out.push(prefix);
      await walk(full, depth + 1);
    }
  };
  await walk(base, 0);
  return out.sort();
}

/** Opens the trust store of a system and a local config dir (VERIFY-003). Nothing is read until asked. */
export function openTrustStore(options: TrustStoreOptions): TrustStore {
  return new TrustStore(options);
}
