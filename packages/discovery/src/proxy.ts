import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { type LookupFunction, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { DiscoveryError } from './errors.ts';

/** HTTP proxies, as curl reads them from `https_proxy`, `http_proxy` and `no_proxy`: every request to a host
 * not listed in `noProxy` goes through a tunnel the proxy opens with `CONNECT host:port` (TLS to the server
 * still ends at this client: the proxy sees no content). Credentials go in the proxy URL
 * (`http://user:password@proxy:3128`) and are sent as `Proxy-Authorization: Basic`. */
export interface ProxyOptions {
  /** Proxy for https URLs: `http://[user:password@]host[:port]`. */
  https?: string | undefined;
  /** Proxy for plain http URLs (with `insecure.http`). */
  http?: string | undefined;
  /** Hosts reached directly: a name matches itself and its subdomains (`example.com`, `.example.com`), an IP
   * address itself, and `*` every host. */
  noProxy?: readonly string[] | undefined;
}

/** The proxies an environment names, as curl reads it: `https_proxy` or `HTTPS_PROXY`, `http_proxy` (the
 * upper-case form is ignored, as curl does, since a CGI server sets it from a request header), `no_proxy` or
 * `NO_PROXY` (a comma list). Undefined when none is set. */
export function proxyFromEnv(env: Record<string, string | undefined>): ProxyOptions | undefined {
  const https = env.https_proxy || env.HTTPS_PROXY || undefined;
  const http = env.http_proxy || undefined;
  if (https === undefined && http === undefined) return undefined;
  const list = env.no_proxy ?? env.NO_PROXY ?? '';
  const noProxy = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return { https, http, ...(noProxy.length > 0 ? { noProxy } : {}) };
}

function bypassed(host: string, noProxy: readonly string[] | undefined): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  for (const raw of noProxy ?? []) {
    if (raw === '*') return true;
    // a port in the entry (host:port) is not compared; brackets of an IPv6 address are dropped
    const entry = raw
      .toLowerCase()
      .replace(/^\[([^\]]*)\](:\d+)?$/, '$1')
      .replace(/^([^:]*):\d+$/, '$1')
      .replace(/^\.+/, '');
    if (entry !== '' && (h === entry || h.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/** The proxy URL a request to `target` goes through, or undefined when it goes directly. */
export function proxyFor(target: URL, proxy: ProxyOptions | undefined): URL | undefined {
  if (proxy === undefined) return undefined;
  const raw = target.protocol === 'https:' ? proxy.https : proxy.http;
  if (raw === undefined || bypassed(target.hostname, proxy.noProxy)) return undefined;
  return parseProxyUrl(raw);
}

/** Reads a proxy URL (a bare `host:port` is taken as http); only http proxies are spoken to. */
export function parseProxyUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new DiscoveryError(`Proxy "${raw}" is not a URL; write http://[user:password@]host:port.`, {
      code: 'ERR_DISC_BAD_OPTIONS',
    });
  }
  if (url.protocol !== 'http:')
    throw new DiscoveryError(
      `Proxy ${url.protocol}//${url.host}: only http:// proxies are supported (the tunnel to the server is TLS either way).`,
      { code: 'ERR_DISC_BAD_OPTIONS' },
    );
  return url;
}

/** Bytes read of a proxy's answer to CONNECT before it is refused as malformed. */
const MAX_CONNECT_ANSWER = 16 * 1024;

/** Opens a TCP tunnel to `host:port` through `proxy` with `CONNECT` (RFC 9110, 9.3.6). */
export function openTunnel(
  proxy: URL,
  host: string,
  port: number,
  lookup: LookupFunction | undefined,
  timeoutMs = 20_000,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const proxyPort = Number(proxy.port || 80);
    const socket = netConnect({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: proxyPort,
      ...(lookup ? { lookup } : {}),
    });
    const where = `${host}:${port}`;
    const fail = (message: string, cause?: unknown) => {
      socket.destroy();
      reject(
        new DiscoveryError(message, {
          code: 'ERR_DISC_PROXY',
          requirement: 'DISC-002',
          ...(cause === undefined ? {} : { cause }),
        }),
      );
    };
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_CONNECT_ANSWER)
          fail(`the proxy ${proxy.host} sent no complete answer to CONNECT ${where}.`);
        return;
      }
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.setTimeout(0);
      socket.off('timeout', onTimeout);
      const status = /^HTTP\/1\.[01] (\d{3})([^\r\n]*)/.exec(head.subarray(0, end).toString('latin1'));
      const code = Number(status?.[1]);
      if (code < 200 || code > 299 || Number.isNaN(code)) {
        const what = status ? `${code}${status[2]}` : 'something that is not HTTP';
        const hint =
          code === 407
            ? proxy.username
              ? '; the credentials in the proxy URL were refused'
              : '; put credentials in the proxy URL: http://user:password@host:port'
            : '';
        fail(`the proxy ${proxy.host} answered ${what} to CONNECT ${where}${hint}.`);
        return;
      }
      // bytes after the answer belong to the tunnel (a server speaking first): given back to the socket
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const onError = (e: Error) => fail(`the proxy ${proxy.host} could not be reached (${e.message}).`, e);
    const onEnd = () =>
      fail(`the proxy ${proxy.host} closed the connection before answering CONNECT ${where}.`);
    // a proxy that takes the connection but never answers must not hold the request (or the process) forever
    const onTimeout = () =>
      fail(`the proxy ${proxy.host} did not answer CONNECT ${where} within ${timeoutMs} ms.`);
    socket.setTimeout(timeoutMs, onTimeout);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('end', onEnd);
    socket.once('connect', () => {
      const auth = proxy.username
        ? `Proxy-Authorization: Basic ${Buffer.from(
            `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`,
          ).toString('base64')}\r\n`
        : '';
      socket.write(`CONNECT ${where} HTTP/1.1\r\nHost: ${where}\r\n${auth}\r\n`);
    });
  });
}

type Callback = (err: Error | null, socket?: Socket) => void;
type CreateConnection = (
  options: ConnectionOptions & { host?: string; port?: number },
  callback: Callback,
) => undefined;

/** An agent whose connections go through a CONNECT tunnel opened by `proxy`: TLS inside it for https, the
 * bare tunnel for http. `tls` holds the agent's TLS options (CAs, verification). */
export function tunnelingAgent(
  scheme: 'https:' | 'http:',
  proxy: URL,
  tls: HttpsAgentOptions,
  lookup: LookupFunction | undefined,
  timeoutMs?: number,
): HttpAgent {
  const agent = scheme === 'https:' ? new HttpsAgent(tls) : new HttpAgent({ keepAlive: false });
  const createConnection: CreateConnection = (options, callback) => {
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? (scheme === 'https:' ? 443 : 80));
    openTunnel(proxy, host, port, lookup, timeoutMs).then(
      (socket) =>
        callback(
          null,
          scheme === 'https:'
            ? tlsConnect({ ...options, socket, servername: options.servername ?? host })
            : socket,
        ),
      (e: Error) => callback(e),
    );
    return undefined;
  };
  // node's agents take a socket made later through the callback when createConnection returns nothing
  Object.assign(agent, { createConnection });
  return agent;
}
