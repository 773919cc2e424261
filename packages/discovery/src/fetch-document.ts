import { lookup as dnsLookup } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { createSecureContext, rootCertificates } from 'node:tls';
import { authorizationFor } from './auth.ts';
import type { Attempt } from './errors.ts';
import { DiscoveryError } from './errors.ts';
import { nodeRequest } from './node-request.ts';
import type { FetchInit, FetchLike, FetchOptions, FetchResponse } from './options.ts';
import { parseProxyUrl, proxyFor, tunnelingAgent } from './proxy.ts';

const MiB = 1024 * 1024;
const REDIRECT = new Set([301, 302, 303, 307, 308]);
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Errors that end the whole call instead of one attempt (abort, overall timeout). */
const fatal = new WeakSet<DiscoveryError>();

/** True when `error` must stop the parent walk. */
export function isFatal(error: unknown): boolean {
  return error instanceof DiscoveryError && fatal.has(error);
}

/** Everything one call shares: the transport, agents, signals and the attempts log. */
export interface Session {
  options: FetchOptions;
  fetch: FetchLike;
  agent: (url: URL) => HttpAgent;
  signal: AbortSignal;
  attempts: Attempt[];
  close(): void;
}

function resolvingLookup(
  resolve: Readonly<Record<string, string>> | undefined,
  next: LookupFunction | undefined,
): LookupFunction | undefined {
  if (!resolve && !next) return undefined;
  const map = new Map(Object.entries(resolve ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return (hostname, options, callback) => {
    const address = map.get(hostname.toLowerCase());
    if (address === undefined) {
      (next ?? (dnsLookup as unknown as LookupFunction))(hostname, options, callback);
      return;
    }
    const family = isIP(address) || 4;
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address, family },
      ]);
    } else callback(null, address, family);
  };
}

function checkPositive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new DiscoveryError(`Option ${name} must be a non-negative integer, not ${value}.`, {
      code: 'ERR_DISC_BAD_OPTIONS',
    });
  }
  return value;
}

/** The agents of one transport: direct ones, and tunnelling ones per proxy. */
interface Agents {
  agentFor(url: URL): HttpAgent;
  destroy(): void;
}

/** Agents of earlier sessions with the same transport options: a TLS context with the system's and the extra
 * CAs takes tens of milliseconds to build, and a fetch opens several sessions (discovery, image, signature). */
const agentCache = new Map<string, Agents>();

function agentsFor(options: FetchOptions): Agents & { shared: boolean } {
  const extraCa = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
  // a caller's own lookup function cannot be told apart from another: those sessions get agents of their own
  const key =
    options.lookup === undefined
      ? JSON.stringify([
          options.insecure?.tls === true,
          extraCa.map(String),
          options.resolve ?? {},
          options.proxy ?? null,
          options.proxy === undefined ? null : (options.requestTimeoutMs ?? null),
        ])
      : undefined;
  const cached = key === undefined ? undefined : agentCache.get(key);
  if (cached) return { ...cached, shared: true };
  const lookup = resolvingLookup(options.resolve, options.lookup);
  // one TLS context for every connection of the agent: building one from the system's roots per connection
  // costs tens of milliseconds each
  const tlsOptions = {
    keepAlive: false,
    rejectUnauthorized: options.insecure?.tls !== true,
    ...(extraCa.length > 0
      ? {
          secureContext: createSecureContext({
            ca: [...rootCertificates, ...(extraCa as (string | Buffer)[])],
          }),
        }
      : {}),
  };
  const httpsAgent = new HttpsAgent({ ...tlsOptions, ...(lookup ? { lookup } : {}) });
  const httpAgent = new HttpAgent({ keepAlive: false, ...(lookup ? { lookup } : {}) });
  // proxied requests: one agent per proxy URL and scheme, made when first needed
  const tunnels = new Map<string, HttpAgent>();
  const agents: Agents = {
    agentFor(url) {
      const proxy = proxyFor(url, options.proxy);
      if (proxy === undefined) return url.protocol === 'https:' ? httpsAgent : httpAgent;
      const id = `${url.protocol} ${proxy.href}`;
      let agent = tunnels.get(id);
      if (agent === undefined) {
        agent = tunnelingAgent(
          url.protocol === 'https:' ? 'https:' : 'http:',
          proxy,
          tlsOptions,
          lookup,
          options.requestTimeoutMs,
        );
        tunnels.set(id, agent);
      }
      return agent;
    },
    destroy() {
      httpsAgent.destroy();
      httpAgent.destroy();
      for (const a of tunnels.values()) a.destroy();
    },
  };
  if (key !== undefined) {
    if (agentCache.size >= 16) agentCache.clear();
    agentCache.set(key, agents);
  }
  return { ...agents, shared: key !== undefined };
}

/** Opens a session: validates options, builds the agents and the overall deadline. Call `close()` after. */
export function openSession(options: FetchOptions): Session {
  checkPositive('maxBodyBytes', options.maxBodyBytes, MiB);
  checkPositive('maxRedirects', options.maxRedirects, 10);
  checkPositive('requestTimeoutMs', options.requestTimeoutMs, 20_000);
  const timeoutMs = checkPositive('timeoutMs', options.timeoutMs, 120_000);
  if (options.proxy !== undefined) {
    // a bad proxy URL is the caller's error, named before any request
    for (const raw of [options.proxy.https, options.proxy.http]) if (raw !== undefined) parseProxyUrl(raw);
  }
  const agents = agentsFor(options);
  const deadline = timeoutSignal(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  return {
    options,
    fetch: options.fetch ?? nodeRequest,
    agent: (url) => agents.agentFor(url),
    signal,
    attempts: [],
    close() {
      if (!agents.shared) agents.destroy();
    },
  };
}

/** A signal that aborts after `ms` (reason: a `TimeoutError`), as `AbortSignal.timeout` does, but held by its own
 * pending timer. Node 20 lets a timeout signal that only an `AbortSignal.any` composite refers to be collected before
 * it fires, and the composite then never aborts: a page that never answered hung discovery past its per-request
 * timeout whenever a garbage collection came first (seen as a flaky test; 0 of 20 such composites fired under forced
 * collections, 20 of 20 with this). The timer does not keep the process alive. */
export function timeoutSignal(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(
    () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')),
    ms,
  ).unref();
  return controller.signal;
}

export function discard(res: FetchResponse): void {
  const body = res.body as { destroy?: () => void; cancel?: () => Promise<void> } | null;
  try {
    if (body?.destroy) body.destroy();
    else body?.cancel?.().catch(() => {});
  } catch {
    // the body is being dropped anyway
  }
}

export function classify(e: unknown, url: string, session: Session, request: AbortSignal): DiscoveryError {
  if (e instanceof DiscoveryError) {
    // a proxy that cannot be used fails every URL alike: the walk stops at once with its reason
    if (e.code === 'ERR_DISC_PROXY') fatal.add(e);
    return e;
  }
  if (session.options.signal?.aborted) {
    const err = new DiscoveryError(`Discovery aborted by the caller while fetching ${url}.`, {
      code: 'ERR_DISC_ABORTED',
      cause: e,
    });
    fatal.add(err);
    return err;
  }
  if (session.signal.aborted) {
    const err = new DiscoveryError(
      `Discovery took longer than ${session.options.timeoutMs ?? 120_000} ms (while fetching ${url}); raise timeoutMs or check the network.`,
      { code: 'ERR_DISC_TIMEOUT', cause: e },
    );
    fatal.add(err);
    return err;
  }
  if (request.aborted) {
    return new DiscoveryError(
      `${url}: no complete answer within ${session.options.requestTimeoutMs ?? 20_000} ms.`,
      { code: 'ERR_DISC_TIMEOUT', requirement: 'DISC-002', cause: e },
    );
  }
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code ?? '';
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('CERT_')) {
    return new DiscoveryError(
      `${url}: the server's TLS certificate was not accepted (${code}: ${err.message}). ` +
        'Fix the certificate, pass its CA with `ca`, or allow insecure TLS (insecure.tls, --insecure-options=tls).',
      { code: 'ERR_DISC_TLS', requirement: 'DISC-011', cause: e },
    );
  }
  // a caller's node-fetch says "request to URL failed, reason: …": the URL is named once already
  const reason = (err.message ?? String(e)).replace(/^request to \S+ failed, reason: /, '');
  return new DiscoveryError(`${url}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}.`, {
    code: 'ERR_DISC_NETWORK',
    requirement: 'DISC-002',
    cause: e,
  });
}

async function readCapped(res: FetchResponse, url: string, limit: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  const tooLarge = () =>
    new DiscoveryError(
      `${url}: the body is larger than ${limit} bytes; refusing to read it (raise maxBodyBytes if it is expected).`,
      {
        code: 'ERR_DISC_PAGE_TOO_LARGE',
        status: res.status,
      },
    );
  if (Number.isFinite(declared) && declared > limit) {
    discard(res);
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    total += bytes.byteLength;
    if (total > limit) {
      discard(res);
      throw tooLarge();
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/** A fetched document: the body of a final 200 answer. */
export interface FetchedDocument {
  /** The URL asked for. */
  url: string;
  /** The URL the body came from (after redirects). */
  finalUrl: string;
  status: 200;
  /** The body decoded as UTF-8. */
  body: string;
  /** The body exactly as received (a binary public key, for instance). */
  bytes: Uint8Array;
}

export interface Sent {
  res: FetchResponse;
  finalUrl: string;
}

/** Sends one GET under the session's policy and follows redirects: https only unless `insecure.http`;
 * redirects followed (up to `maxRedirects`) but never from https to http; `Authorization` from `auth` only to
 * the matching host and only over https. Returns the first answer whose status is in `accept`. */
export async function send(
  url: string,
  session: Session,
  request: AbortSignal,
  accept: ReadonlySet<number>,
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<Sent> {
  const o = session.options;
  const maxRedirects = o.maxRedirects ?? 10;
  let current: URL;
  try {
    current = new URL(url);
  } catch (e) {
    throw new DiscoveryError(`${JSON.stringify(url)} is not a URL.`, {
      code: 'ERR_DISC_BAD_REDIRECT',
      cause: e,
    });
  }
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'https:' && current.protocol !== 'http:') {
      throw new DiscoveryError(`${current.href}: only https (and http when allowed) can be fetched.`, {
        code: 'ERR_DISC_BAD_REDIRECT',
        requirement: 'DISC-002',
      });
    }
    if (current.protocol === 'http:' && o.insecure?.http !== true) {
      throw new DiscoveryError(
        `${current.href}: plain http is not allowed; use https, or allow http (insecure.http, --insecure-options=http).`,
        { code: 'ERR_DISC_HTTP_NOT_ALLOWED', requirement: 'DISC-011' },
      );
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...(o.headers ?? {}), ...extraHeaders })) {
      if (k.toLowerCase() !== 'authorization' || current.protocol === 'https:') headers[k] = v;
    }
    const authorization = authorizationFor(current, o.auth);
    if (authorization !== undefined) {
      for (const k of Object.keys(headers)) if (k.toLowerCase() === 'authorization') delete headers[k];
      headers.Authorization = authorization;
    }
    const init: FetchInit = {
      method: 'GET',
      headers,
      redirect: 'manual',
      signal: request,
      agent: session.agent,
    };
    let res: FetchResponse;
    try {
      res = await session.fetch(current.href, init);
    } catch (e) {
      throw classify(e, current.href, session, request);
    }
    if (REDIRECT.has(res.status)) {
      discard(res);
      const location = res.headers.get('location');
      let next: URL;
      try {
        if (!location) throw new Error('no Location header');
        next = new URL(location, current);
      } catch (e) {
        throw new DiscoveryError(`${current.href}: redirect ${res.status} without a usable Location.`, {
          code: 'ERR_DISC_BAD_REDIRECT',
          requirement: 'DISC-002',
          status: res.status,
          cause: e,
        });
      }
      if (current.protocol === 'https:' && next.protocol === 'http:') {
        throw new DiscoveryError(
          `${current.href} redirects to ${next.href}: a redirect from https to plain http is never followed. Ask the site to redirect to https.`,
          { code: 'ERR_DISC_INSECURE_REDIRECT', requirement: 'DISC-002', status: res.status },
        );
      }
      if (hop + 1 > maxRedirects) {
        throw new DiscoveryError(`${url}: more than ${maxRedirects} redirects (last to ${next.href}).`, {
          code: 'ERR_DISC_TOO_MANY_REDIRECTS',
          requirement: 'DISC-002',
          status: res.status,
        });
      }
      current = next;
      continue;
    }
    if (!accept.has(res.status)) {
      discard(res);
      throw new DiscoveryError(`${current.href}: expected 200 OK, got ${res.status}.`, {
        code: 'ERR_DISC_HTTP_STATUS',
        requirement: 'DISC-002',
        status: res.status,
      });
    }
    return { res, finalUrl: hop === 0 ? url : current.href };
  }
}

const OK = new Set([200]);

/** GETs one URL under the session's policy (see `send`); the body read up to `maxBodyBytes`; only a final 200
 * is accepted. Does not log attempts. */
export async function getDocument(url: string, session: Session): Promise<FetchedDocument> {
  const o = session.options;
  const request = AbortSignal.any([session.signal, timeoutSignal(o.requestTimeoutMs ?? 20_000)]);
  const { res, finalUrl } = await send(url, session, request, OK);
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(res, finalUrl, o.maxBodyBytes ?? MiB);
  } catch (e) {
    throw classify(e, finalUrl, session, request);
  }
  return { url, finalUrl, status: 200, body: new TextDecoder().decode(bytes), bytes };
}

/** Fetches one small document (a discovery page, a public key) under the same rules as discovery: https only
 * unless `insecure.http`, TLS verified unless `insecure.tls`, at most 10 redirects and never from https to
 * http, credentials from `auth` only to their host over https, the body capped at `maxBodyBytes` (1 MiB).
 * @throws {@link DiscoveryError} `ERR_DISC_HTTP_NOT_ALLOWED`, `ERR_DISC_INSECURE_REDIRECT`, `ERR_DISC_TLS`,
 * `ERR_DISC_HTTP_STATUS`, `ERR_DISC_NETWORK`, `ERR_DISC_PAGE_TOO_LARGE`, `ERR_DISC_TIMEOUT`,
 * `ERR_DISC_ABORTED`, `ERR_DISC_TOO_MANY_REDIRECTS`, `ERR_DISC_BAD_REDIRECT`. */
export async function fetchDocument(url: string, options: FetchOptions = {}): Promise<FetchedDocument> {
  const session = openSession(options);
  try {
    return await getDocument(url, session);
  } finally {
    session.close();
  }
}
