import { hostOsArch } from '@appc/schema';
import type { AppString } from './app-string.ts';
import { checkApp, parseAppString } from './app-string.ts';
import type { Attempt, DiscoveryErrorCode } from './errors.ts';
import { DiscoveryError } from './errors.ts';
import type { Session } from './fetch-document.ts';
import { getDocument, isFatal, openSession } from './fetch-document.ts';
import type { MetaTag } from './meta-tags.ts';
import { parseMetaTags } from './meta-tags.ts';
import type { DiscoveryOptions } from './options.ts';
import { renderTemplate } from './template.ts';

/** One image found by discovery: its URL and its detached signature's, from the same template (DISC-006). */
export interface Endpoint {
  aci: string;
  asc: string;
}

/** What {@link discoverImage} returns. */
export interface ImageDiscovery {
  name: string;
  /** The labels the fetched manifest must carry (DISC-009): those asked for, plus os/arch when defaulted.
   * `version` is rendered as `latest` when absent, but not added here. */
  labels: Record<string, string>;
  /** Every template that rendered fully at the deepest level that had one, in page order (DISC-007). */
  endpoints: Endpoint[];
  /** Every URL tried, in order, with why it failed (for `--debug`). */
  attempts: Attempt[];
}

/** What {@link discoverPublicKeys} returns. */
export interface PublicKeyDiscovery {
  name: string;
  /** Key URLs from the deepest level that had one, verbatim, in page order (DISC-008). */
  pubkeys: string[];
  attempts: Attempt[];
}

/** What {@link discover} returns: image endpoints and key URLs, each from its own walk (DISC-004). */
export interface DiscoveryResult extends ImageDiscovery {
  /** Empty when key discovery found nothing (unless `requirePublicKeys`); `attempts` then says why. */
  pubkeys: string[];
}

type Kind = 'image' | 'pubkeys';

interface Page {
  url: string;
  body: string;
  tags: MetaTag[];
}

interface Walk {
  session: Session;
  port: number | undefined;
  pages: Map<string, Promise<Page | undefined>>;
}

/** The names to try, deepest first: `a.com/p/s`, `a.com/p`, `a.com` (DISC-004). */
function levels(name: string): string[] {
  const parts = name.split('/');
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('/'));
}

function discoveryUrl(scheme: 'https' | 'http', prefix: string, port: number | undefined): string {
  const slash = prefix.indexOf('/');
  const host = slash < 0 ? prefix : prefix.slice(0, slash);
  const path = slash < 0 ? '' : prefix.slice(slash);
  return `${scheme}://${host}${port ? `:${port}` : ''}${path}?ac-discovery=1`;
}

/** The page of one level: https first, then http when allowed (DISC-001, DISC-002); undefined when both fail. */
function page(walk: Walk, prefix: string): Promise<Page | undefined> {
  let p = walk.pages.get(prefix);
  if (!p) {
    p = (async () => {
      const schemes: ('https' | 'http')[] = walk.session.options.insecure?.http
        ? ['https', 'http']
        : ['https'];
      for (const scheme of schemes) {
        const url = discoveryUrl(scheme, prefix, walk.port);
        try {
          const doc = await getDocument(url, walk.session);
          walk.session.attempts.push({
            url,
            prefix,
            status: 200,
            ...(doc.finalUrl !== url ? { finalUrl: doc.finalUrl } : {}),
          });
          return { url: doc.finalUrl, body: doc.body, tags: parseMetaTags(doc.body) };
        } catch (e) {
          if (isFatal(e) || !(e instanceof DiscoveryError)) throw e;
          walk.session.attempts.push({
            url,
            prefix,
            ...(e.status !== undefined ? { status: e.status } : {}),
            code: e.code,
            error: e.message,
          });
        }
      }
      return undefined;
    })();
    walk.pages.set(prefix, p);
  }
  return p;
}

/** One discovery page as {@link discoverImage} fetches it (DISC-001, DISC-002): `https://{prefix}?ac-discovery=1`,
 * then the same over plain http when `insecure.http` allows and https failed or was not 200.
 * @throws {@link DiscoveryError} with the code of the first security refusal (`ERR_DISC_TLS`,
 * `ERR_DISC_INSECURE_REDIRECT`) among the tries, else that of the last try; `attempts` lists them. */
export async function fetchDiscoveryPage(
  prefix: string,
  options: DiscoveryOptions = {},
): Promise<{ url: string; body: string; tags: MetaTag[]; attempts: Attempt[] }> {
  checkApp({ name: prefix, labels: {} });
  const walk = startWalk(options);
  try {
    const p = await page(walk, prefix);
    const attempts = walk.session.attempts;
    if (p) return { url: p.url, body: p.body, tags: p.tags, attempts };
    const failed = attempts.filter((a) => a.code !== undefined);
    const chosen = failed.find((a) => SECURITY.includes(a.code as DiscoveryErrorCode)) ?? failed.at(-1);
    throw new DiscoveryError(
      `Discovery page of ${prefix} could not be fetched:\n${attempts.map((a) => `  ${a.url}: ${a.error}`).join('\n')}`,
      {
        code: chosen?.code ?? 'ERR_DISC_NOT_FOUND',
        requirement: 'DISC-002',
        attempts: [...attempts],
        ...(chosen?.status !== undefined ? { status: chosen.status } : {}),
      },
    );
  } finally {
    walk.session.close();
  }
}

function renderLabels(labels: Record<string, string>): Record<string, string> {
  return labels.version ? labels : { ...labels, version: 'latest' };
}

const SECURITY: DiscoveryErrorCode[] = ['ERR_DISC_TLS', 'ERR_DISC_INSECURE_REDIRECT'];

function notFound(kind: Kind, name: string, attempts: Attempt[]): DiscoveryError {
  const what = kind === 'image' ? 'ac-discovery template' : 'ac-discovery-pubkeys tag';
  // an attempt's error names its URL first; the line names it already
  const lines = attempts.map(
    (a) => `  ${a.url}: ${a.error?.replace(/^https?:\/\/\S+: /, '') ?? `${a.status} OK`}`,
  );
  const security = attempts.find((a) => a.code !== undefined && SECURITY.includes(a.code));
  const hint = security
    ? security.code === 'ERR_DISC_TLS'
      ? ' A certificate was refused: fix it, pass its CA, or allow insecure TLS.'
      : ' A redirect to plain http was refused.'
    : ' Check the name, or serve the tags at one of these URLs.';
  return new DiscoveryError(
    `Discovery of ${name} found no ${what} matching the name (DISC-004); tried:\n${lines.join('\n')}\n${hint.trim()}`,
    { code: security?.code ?? 'ERR_DISC_NOT_FOUND', requirement: 'DISC-004', attempts: [...attempts] },
  );
}

async function walkImage(walk: Walk, name: string, labels: Record<string, string>): Promise<Endpoint[]> {
  const vars = renderLabels(labels);
  for (const prefix of levels(name)) {
    const p = await page(walk, prefix);
    if (!p) continue;
    const endpoints: Endpoint[] = [];
    for (const tag of p.tags) {
      if (tag.name !== 'ac-discovery' || !name.startsWith(tag.prefix)) continue;
      const aci = renderTemplate(tag.value, name, vars, 'aci');
      const asc = renderTemplate(tag.value, name, vars, 'aci.asc');
      if (aci !== undefined && asc !== undefined) endpoints.push({ aci, asc });
    }
    if (endpoints.length > 0) return endpoints;
    walk.session.attempts.push({
      url: p.url,
      prefix,
      status: 200,
      code: 'ERR_DISC_NO_TAGS',
      error: `200 OK but no ac-discovery tag for ${name} with a template that renders with labels ${JSON.stringify(vars)}`,
    });
  }
  throw notFound('image', name, walk.session.attempts);
}

async function walkKeys(walk: Walk, name: string): Promise<string[]> {
  for (const prefix of levels(name)) {
    const p = await page(walk, prefix);
    if (!p) continue;
    const keys = p.tags
      .filter((t) => t.name === 'ac-discovery-pubkeys' && name.startsWith(t.prefix))
      .map((t) => t.value);
    if (keys.length > 0) return keys;
    walk.session.attempts.push({
      url: p.url,
      prefix,
      status: 200,
      code: 'ERR_DISC_NO_TAGS',
      error: `200 OK but no ac-discovery-pubkeys tag for ${name}`,
    });
  }
  throw notFound('pubkeys', name, walk.session.attempts);
}

function toApp(app: string | AppString): AppString {
  if (typeof app === 'string') return parseAppString(app);
  checkApp(app);
  return { name: app.name, labels: { ...(app.labels ?? {}) } };
}

function startWalk(options: DiscoveryOptions): Walk {
  const port = options.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new DiscoveryError(`Option port must be an integer from 0 to 65535, not ${port}.`, {
      code: 'ERR_DISC_BAD_OPTIONS',
      requirement: 'DISC-001',
    });
  }
  return { session: openSession(options), port: port || undefined, pages: new Map() };
}

function withOsArch(labels: Record<string, string>, options: DiscoveryOptions, byDefault: boolean) {
  if (!(options.defaultOsArch ?? byDefault)) return labels;
  const host = options.osArch ?? hostOsArch();
  return { ...labels, os: labels.os ?? host.os, arch: labels.arch ?? host.arch };
}

/** Finds the image and signature URLs of an image (DISC-001..DISC-007): fetches `https://{prefix}?ac-discovery=1`
 * from the full name up to the host, stopping at the first page with an `ac-discovery` tag whose prefix
 * matches the name and whose template renders with the labels (`version` defaults to `latest`).
 * @throws {@link DiscoveryError} `ERR_DISC_NOT_FOUND` (or `ERR_DISC_TLS` / `ERR_DISC_INSECURE_REDIRECT` when
 * such a refusal is among the failures), `ERR_DISC_BAD_APP_STRING`, `ERR_DISC_BAD_APP`, `ERR_DISC_TIMEOUT`,
 * `ERR_DISC_ABORTED`; `attempts` lists every URL tried. */
export async function discoverImage(
  app: string | AppString,
  options: DiscoveryOptions = {},
): Promise<ImageDiscovery> {
  const a = toApp(app);
  const labels = withOsArch(a.labels, options, false);
  const walk = startWalk(options);
  try {
    const endpoints = await walkImage(walk, a.name, labels);
    return { name: a.name, labels, endpoints, attempts: walk.session.attempts };
  } finally {
    walk.session.close();
  }
}

/** Finds the public-key URLs for a name or prefix (DISC-004, DISC-008): the same walk as
 * {@link discoverImage}, stopping at the first page with a matching `ac-discovery-pubkeys` tag. Labels are
 * ignored. @throws {@link DiscoveryError} as {@link discoverImage}. */
export async function discoverPublicKeys(
  app: string | AppString,
  options: DiscoveryOptions = {},
): Promise<PublicKeyDiscovery> {
  const a = toApp(app);
  const walk = startWalk(options);
  try {
    const pubkeys = await walkKeys(walk, a.name);
    return { name: a.name, pubkeys, attempts: walk.session.attempts };
  } finally {
    walk.session.close();
  }
}

/** Image endpoints and public keys of an image in one call, each kind from its own walk over shared pages (each
 * page fetched once). `os`/`arch` default to this host's (TYPES-011) unless `defaultOsArch: false`.
 * @throws {@link DiscoveryError} as {@link discoverImage} when no image is found; a missing key only leaves
 * `pubkeys` empty unless `requirePublicKeys`.
 * @example
 * const { endpoints, pubkeys } = await discover('example.com/app:1.0');
 * console.log(endpoints[0]?.aci, pubkeys); */
export async function discover(
  app: string | AppString,
  options: DiscoveryOptions = {},
): Promise<DiscoveryResult> {
  const a = toApp(app);
  const labels = withOsArch(a.labels, options, true);
  const walk = startWalk(options);
  try {
    const endpoints = await walkImage(walk, a.name, labels);
    let pubkeys: string[] = [];
    try {
      pubkeys = await walkKeys(walk, a.name);
    } catch (e) {
      if (options.requirePublicKeys || isFatal(e) || !(e instanceof DiscoveryError)) throw e;
    }
    return { name: a.name, labels, endpoints, pubkeys, attempts: walk.session.attempts };
  } finally {
    walk.session.close();
  }
}
