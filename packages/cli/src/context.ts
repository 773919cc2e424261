// What the distribution and store commands share: where state and config live (the global flags), the store,
// the trust store, the transport options, and a progress line for downloads.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Attempt, AuthConfig, DiscoveryOptions } from '@appc/discovery';
import type { Store } from '@appc/store';
import type { InsecureOption, KeyFetch, TrustStore } from '@appc/verify';
import { pathArg } from './args.ts';
import { UsageError } from './errors.ts';
import { type Globals, type Io, isTty } from './io.ts';

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The state root: `--dir`, else `/var/lib/appc` as root, else `$XDG_DATA_HOME/appc` (`~/.local/share/appc`). */
export function stateDir(globals: Globals, io: Io): string {
  if (globals.dir !== undefined) return pathArg(io, globals.dir);
  if (isRoot()) return '/var/lib/appc';
  return join(io.env.XDG_DATA_HOME || join(io.env.HOME || homedir(), '.local', 'share'), 'appc');
}

/** The admin's config dir: `--local-config`, else `/etc/appc` as root, else `$XDG_CONFIG_HOME/appc`. */
export function localConfigDir(globals: Globals, io: Io): string {
  if (globals.localConfig !== undefined) return pathArg(io, globals.localConfig);
  if (isRoot()) return '/etc/appc';
  return join(io.env.XDG_CONFIG_HOME || join(io.env.HOME || homedir(), '.config'), 'appc');
}

/** The distribution's read-only config dir: `--system-config`, else `/usr/lib/appc`. */
export function systemConfigDir(globals: Globals, io: Io): string {
  return globals.systemConfig !== undefined ? pathArg(io, globals.systemConfig) : '/usr/lib/appc';
}

/** The relaxations `--insecure-options` names (VERIFY-007); none by default. */
export async function insecureOptions(globals: Globals): Promise<Set<InsecureOption>> {
  if (globals.insecureOptions === undefined) return new Set();
  const { parseInsecureOptions } = await import('@appc/verify');
  return parseInsecureOptions(globals.insecureOptions);
}

/** Opens the image store under the state root (`<dir>/images`). Commands that only read it skip the reconcile
 * pass (a walk of every blob directory: tens of milliseconds with a thousand images); those that write run it. */
export async function openImageStore(
  globals: Globals,
  io: Io,
  options: { readOnly?: boolean } = {},
): Promise<Store> {
  const { openStore } = await import('@appc/store');
  return openStore(join(stateDir(globals, io), 'images'), { reconcile: options.readOnly !== true });
}

/** The trust store of both config dirs (VERIFY-003). */
export async function openTrust(globals: Globals, io: Io): Promise<TrustStore> {
  const { openTrustStore } = await import('@appc/verify');
  return openTrustStore({ systemDir: systemConfigDir(globals, io), localDir: localConfigDir(globals, io) });
}

/** Flags of every command that talks to the network, for `parseCommandArgs`. */
export const NETWORK_FLAGS = {
  port: { type: 'string' },
  ca: { type: 'string', multiple: true },
  resolve: { type: 'string', multiple: true },
} as const;

export const NETWORK_HELP = `  --port N            use port N for discovery URLs (a site served on a test port)
  --ca FILE           also trust this CA certificate (PEM) for https; repeatable
  --resolve HOST=IP   connect to IP for HOST, like curl's --resolve; repeatable`;

/** Transport options from the network flags, `--insecure-options` (http, tls) and `auth.d` of both config
 * dirs (VERIFY-008). */
export async function networkOptions(
  globals: Globals,
  io: Io,
  values: { port?: string | undefined; ca?: string[] | undefined; resolve?: string[] | undefined },
): Promise<Omit<DiscoveryOptions, 'insecure'> & { insecure: { http: boolean; tls: boolean } }> {
  const insecure = await insecureOptions(globals);
  const options: Omit<DiscoveryOptions, 'insecure'> & { insecure: { http: boolean; tls: boolean } } = {
    insecure: { http: insecure.has('http'), tls: insecure.has('tls') },
  };
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new UsageError(`--port ${values.port}: give a port number from 1 to 65535`);
    options.port = port;
  }
  if (values.ca && values.ca.length > 0)
    options.ca = await Promise.all(values.ca.map((f) => readFile(pathArg(io, f), 'utf8')));
  if (values.resolve && values.resolve.length > 0) {
    const map: Record<string, string> = {};
    for (const r of values.resolve) {
      const eq = r.indexOf('=');
      if (eq <= 0 || eq === r.length - 1)
        throw new UsageError(`--resolve ${r}: write HOST=IP, e.g. --resolve example.com=127.0.0.1`);
      map[r.slice(0, eq)] = r.slice(eq + 1);
    }
    options.resolve = map;
  }
  const { loadAuthConfig, proxyFromEnv } = await import('@appc/discovery');
  // https_proxy, http_proxy and no_proxy, as curl and podman read them
  const proxy = proxyFromEnv(io.env);
  if (proxy) options.proxy = proxy;
  const auth: AuthConfig[] = await loadAuthConfig([
    systemConfigDir(globals, io),
    localConfigDir(globals, io),
  ]);
  if (auth.length > 0) options.auth = auth;
  if (io.signal) options.signal = io.signal;
  return options;
}

/** Downloads public keys under the transport of `network`, plain http only when `allowHttp` (VERIFY-005). */
export async function keyFetch(
  network: Awaited<ReturnType<typeof networkOptions>>,
  allowHttp: boolean,
): Promise<KeyFetch> {
  const { fetchDocument } = await import('@appc/discovery');
  const transport = { ...network, insecure: { ...network.insecure, http: allowHttp } };
  return async (url) => {
    const doc = await fetchDocument(url, transport);
    // the bytes as received: a key may be binary as well as armored
    const { bytes } = doc;
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    return { status: doc.status, url: doc.finalUrl, arrayBuffer: async () => copy };
  };
}

/** Rows as columns padded to their widest cell (the last column unpadded), one line each. */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, k) => Math.max(w[k] ?? 0, c.length)), []);
  return rows.map((r) => r.map((c, k) => (k === r.length - 1 ? c : c.padEnd(widths[k] ?? 0))).join('  '));
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1.5 MiB`. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${UNITS[u]}`;
}

/** A progress line on stderr, only when stderr is a terminal (DESIGN.md); redrawn at most 10 times a second. */
export function progressLine(
  io: Io,
): (label: string, done: number, total: number | undefined, end: boolean) => void {
  if (!isTty(io.stderr)) return () => {};
  let last = 0;
  return (label, done, total, end) => {
    const now = Date.now();
    if (!end && now - last < 100) return;
    last = now;
    const amount = total ? `${formatBytes(done)} / ${formatBytes(total)}` : formatBytes(done);
    const pct = total ? ` ${Math.floor((done / total) * 100)}%` : '';
    io.stderr.write(`\r\x1b[K${label} ${amount}${pct}${end ? '\n' : ''}`);
  };
}

/** Asks a yes/no question on the terminal; false without a terminal. */
export async function confirm(io: Io, question: string): Promise<boolean> {
  const input = io.stdin;
  if (!input || !(input as { isTTY?: boolean }).isTTY) return false;
  io.stderr.write(question);
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

/** `--debug`: every URL tried, in order, and how it ended. */
export function printAttempts(io: Io, attempts: readonly Attempt[]): void {
  for (const a of attempts) {
    const how = a.error
      ? `${a.error}${a.code ? ` [${a.code}]` : ''}`
      : `ok${a.status ? ` (${a.status})` : ''}`;
    io.stderr.write(`tried ${a.url}: ${how}\n`);
  }
}
