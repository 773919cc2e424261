import type { LookupFunction } from 'node:net';
import type { AuthConfig } from './auth.ts';
import type { ProxyOptions } from './proxy.ts';

/** What a plain-http or unverified-TLS fetch may do (DISC-011). Both off by default. */
export interface InsecureOptions {
  /** Fall back to plain http when https fails or is not 200, and fetch http URLs at all. */
  http?: boolean;
  /** Accept any server certificate and host name (an https.Agent with `rejectUnauthorized: false`). */
  tls?: boolean;
}

/** The request a {@link FetchLike} receives; node:https (the default), node-fetch and the WHATWG fetch accept it (WHATWG fetch
 * ignores `agent`, so TLS options, `ca`, `resolve` and `lookup` then do nothing). */
export interface FetchInit {
  method: 'GET';
  headers: Record<string, string>;
  redirect: 'manual';
  signal: AbortSignal;
  agent: (url: URL) => import('node:http').Agent;
}

/** The part of a fetch response discovery reads. `body` is read chunk by chunk, never whole. */
export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: AsyncIterable<Uint8Array | string> | null;
}

/** A fetch function: the default over `node:http(s)`, node-fetch, the global fetch, or a test double. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;

/** Options of every network function of this package. */
export interface FetchOptions {
  /** Relaxations (DISC-011); none by default. */
  insecure?: InsecureOptions;
  /** Credentials per host, e.g. from {@link loadAuthConfig}; sent only over https. */
  auth?: readonly AuthConfig[];
  /** Extra request headers sent to every host (e.g. `User-Agent`); `auth` wins for `Authorization`. */
  headers?: Readonly<Record<string, string>>;
  /** Replace the transport; default `node:http(s)` requests through agents built from these options. */
  fetch?: FetchLike;
  /** Extra CA certificates (PEM) trusted besides the system ones, e.g. a private CA in tests. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Host name to IP address overrides (like curl's `--resolve`); other names use the system resolver. */
  resolve?: Readonly<Record<string, string>>;
  /** A custom DNS lookup for the default agents (after `resolve`). */
  lookup?: LookupFunction;
  /** HTTP proxies (CONNECT tunnels), e.g. from {@link proxyFromEnv}; none by default. With a proxy, the proxy
   * resolves the servers' names; `resolve` and `lookup` then apply to the proxy's own name. */
  proxy?: ProxyOptions;
  /** Largest body read, in bytes; default 1 MiB. */
  maxBodyBytes?: number;
  /** Redirects followed per request; default 10 (DISC-002). */
  maxRedirects?: number;
  /** Time limit of one request (connect, redirects, body); default 20 s. */
  requestTimeoutMs?: number;
  /** Time limit of the whole call; default 120 s. */
  timeoutMs?: number;
  /** Aborts the whole call (`ERR_DISC_ABORTED`). */
  signal?: AbortSignal;
}

/** Options of discovery (DISC-001..DISC-011). */
export interface DiscoveryOptions extends FetchOptions {
  /** Port appended to every discovery URL, for tests (DISC-001); default the scheme's. */
  port?: number;
  /** Add `os` and `arch` labels from this host (TYPES-011) when the request has none. Default: true in
   * {@link discover}, false in {@link discoverImage}. */
  defaultOsArch?: boolean;
  /** The os/arch used by `defaultOsArch`; default `hostOsArch()` of `@appc/schema`. */
  osArch?: { os: string; arch: string };
  /** {@link discover} only: throw when no public key is found instead of returning `pubkeys: []`. */
  requirePublicKeys?: boolean;
}
