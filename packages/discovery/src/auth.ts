import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DiscoveryError } from './errors.ts';

/** Credentials for some hosts, sent up front on https requests to them (DISC-010, VERIFY-008). A domain is
 * `host` or `host:port`; one without a port matches the host on any port. */
export type AuthConfig =
  | { domains: string[]; type: 'basic'; user: string; password: string }
  | { domains: string[]; type: 'bearer' | 'oauth'; token: string };

const MAX_AUTH_FILE = 1024 * 1024;

function fail(file: string, pointer: string, why: string): DiscoveryError {
  return new DiscoveryError(`${file}${pointer ? ` ${pointer}` : ''}: ${why}`, {
    code: 'ERR_DISC_AUTH_CONFIG',
    requirement: 'VERIFY-008',
    file,
    pointer,
  });
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

/** Reads one rkt-style auth file; undefined for kinds that are not for discovery (`dockerAuth`). */
function readAuthFile(file: string, text: string): AuthConfig | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw fail(file, '', `not JSON (${(e as Error).message}); fix the file or remove it.`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw fail(file, '', 'must hold one JSON object {"rktKind": "auth", "rktVersion": "v1", …}.');
  }
  const o = doc as Record<string, unknown>;
  if (o.rktKind === 'dockerAuth') return undefined;
  if (o.rktKind !== 'auth')
    throw fail(file, '/rktKind', `must be "auth" (or "dockerAuth"), not ${JSON.stringify(o.rktKind)}.`);
  if (o.rktVersion !== 'v1')
    throw fail(file, '/rktVersion', `must be "v1", not ${JSON.stringify(o.rktVersion)}.`);
  const domains = o.domains;
  if (!Array.isArray(domains) || domains.length === 0) {
    throw fail(file, '/domains', 'must be a non-empty list of host or host:port strings.');
  }
  domains.forEach((d, i) => {
    if (!nonEmptyString(d) || /[\s/]/.test(d))
      throw fail(file, `/domains/${i}`, `${JSON.stringify(d)} is not a host or host:port.`);
  });
  const creds = o.credentials;
  if (typeof creds !== 'object' || creds === null || Array.isArray(creds)) {
    throw fail(file, '/credentials', 'must be an object whose members depend on "type".');
  }
  const c = creds as Record<string, unknown>;
  switch (o.type) {
    case 'basic':
      if (!nonEmptyString(c.user))
        throw fail(file, '/credentials/user', 'basic auth needs a non-empty "user".');
      if (!nonEmptyString(c.password))
        throw fail(file, '/credentials/password', 'basic auth needs a non-empty "password".');
      return { domains: domains as string[], type: 'basic', user: c.user, password: c.password };
    case 'oauth':
      if (!nonEmptyString(c.token))
        throw fail(file, '/credentials/token', 'oauth needs a non-empty "token".');
      return { domains: domains as string[], type: 'oauth', token: c.token };
    case 'aws':
      throw fail(
        file,
        '/type',
        '"aws" (AWS v4 signing) is not supported by this implementation; use basic or oauth.',
      );
    default:
      throw fail(file, '/type', `must be "basic" or "oauth", not ${JSON.stringify(o.type)}.`);
  }
}

/** Loads rkt-style credential files (VERIFY-008): every `*.json` file directly inside `<dir>/auth.d/` (or `dir`
 * itself when it is named `auth.d`), `{"rktKind": "auth", "rktVersion": "v1", "domains": [...], "type": "basic"
 * | "oauth", "credentials": {...}}`. `dirs` go from lowest to highest priority (system, then local, then user):
 * a later dir replaces an earlier one per domain. Missing dirs are skipped; `dockerAuth` files are ignored.
 * Returns one entry per domain.
 * @throws {@link DiscoveryError} `ERR_DISC_AUTH_CONFIG` naming the file and field: bad JSON or shape, type
 * `aws` (unsupported), or one domain in two files of the same dir. */
export async function loadAuthConfig(dirs: readonly string[]): Promise<AuthConfig[]> {
  const byDomain = new Map<string, AuthConfig>();
  for (const dir of dirs) {
    const authDir = basename(dir) === 'auth.d' ? dir : join(dir, 'auth.d');
    let names: string[];
    try {
      names = (await readdir(authDir)).filter((n) => n.endsWith('.json')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
        continue;
      throw fail(authDir, '', `cannot be read (${(e as Error).message}).`);
    }
    const inThisDir = new Map<string, { file: string; config: AuthConfig }>();
    for (const n of names) {
      const file = join(authDir, n);
      let text: string;
      try {
        const st = await stat(file);
        if (!st.isFile()) continue;
        if (st.size > MAX_AUTH_FILE) throw fail(file, '', `is larger than ${MAX_AUTH_FILE} bytes.`);
        text = await readFile(file, 'utf8');
      } catch (e) {
        if (e instanceof DiscoveryError) throw e;
        throw fail(file, '', `cannot be read (${(e as Error).message}).`);
      }
      const config = readAuthFile(file, text);
      if (!config) continue;
      for (const domain of config.domains) {
        const key = domain.toLowerCase();
        const earlier = inThisDir.get(key);
        if (earlier) {
          throw fail(
            file,
            '/domains',
            `domain ${domain} is already configured in ${earlier.file}; keep it in one file.`,
          );
        }
        inThisDir.set(key, { file, config: { ...config, domains: [domain] } });
      }
    }
    for (const [key, { config }] of inThisDir) byDomain.set(key, config);
  }
  return [...byDomain.values()];
}

/** True when `domain` (host or host:port) names the host of `url`. */
function domainMatches(domain: string, url: URL): boolean {
  const d = domain.toLowerCase();
  return (
    d === url.host.toLowerCase() ||
    (!d.includes(':') && d === url.hostname.toLowerCase()) ||
    (d.startsWith('[') && !d.includes(']:') && d === url.hostname.toLowerCase())
  );
}

/** The Authorization header for `url` from `auth`, or undefined. Credentials go only over https (DISC-010). */
export function authorizationFor(url: URL, auth: readonly AuthConfig[] | undefined): string | undefined {
  if (!auth || url.protocol !== 'https:') return undefined;
  // the last matching entry wins, so later configuration overrides earlier
  let found: AuthConfig | undefined;
  for (const a of auth) if (a.domains.some((d) => domainMatches(d, url))) found = a;
  if (!found) return undefined;
  if (found.type === 'basic')
    return `Basic ${Buffer.from(`${found.user}:${found.password}`).toString('base64')}`;
  return `Bearer ${found.token}`;
}
