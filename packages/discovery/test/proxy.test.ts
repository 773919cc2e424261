import { createHash } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectProxy, startConnectProxy } from '../../../test-support/connect-proxy.ts';
import type { Pki, TestServer } from '../../../test-support/https-server.ts';
import { makePki, startServer } from '../../../test-support/https-server.ts';
import { DiscoveryError, discoverImage, fetchDocument, openDownload, proxyFromEnv } from '../src/index.ts';
import { proxyFor } from '../src/proxy.ts';

let pki: Pki;
let server: TestServer;
let open: ConnectProxy;
let guarded: ConnectProxy;
const BODY = Buffer.alloc(2 * 1024 * 1024 + 3, 9);

beforeAll(async () => {
  pki = makePki(['example.com', 'direct.example.org']);
  server = await startServer(pki);
  server.handle = (req, res) => {
    if (req.url === '/big.aci') {
      res.writeHead(200, { 'Content-Length': BODY.length });
      res.end(BODY);
    } else if (req.url?.startsWith('/app?ac-discovery=1')) {
      res.end(
        `<html><head><meta name="ac-discovery" content="example.com https://example.com:${server.port}/{name}-{version}.{ext}"></head></html>`,
      );
    } else res.end('page');
  };
  open = await startConnectProxy();
  guarded = await startConnectProxy({ credentials: 'alice:s3cr#t' });
});

afterAll(async () => {
  await server?.close();
  await open?.close();
  await guarded?.close();
});

const url = (path: string, host = 'example.com') => `https://${host}:${server.port}${path}`;

describe('HTTP proxies (CONNECT tunnels), as curl reads https_proxy and no_proxy', () => {
  it('reads the environment as curl does', () => {
    expect(proxyFromEnv({})).toBeUndefined();
    expect(proxyFromEnv({ HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'a.com, .b.org,,' })).toEqual({
      https: 'http://p:3128',
      http: undefined,
      noProxy: ['a.com', '.b.org'],
    });
    // the lower-case form wins; upper-case HTTP_PROXY is ignored (a CGI server sets it from a request header)
    expect(
      proxyFromEnv({ https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:2', HTTP_PROXY: 'http://x:3' }),
    ).toEqual({
      https: 'http://low:1',
      http: undefined,
    });
    expect(proxyFromEnv({ http_proxy: 'proxy:8080' })?.http).toBe('proxy:8080');
  });

  it('no_proxy names hosts and their subdomains, IP addresses, or every host with *', () => {
    const proxy = {
      https: 'http://p:3128',
      noProxy: ['example.com', '.internal', '10.0.0.1', 'ports.test:8443'],
    };
    const via = (u: string) => proxyFor(new URL(u), proxy)?.host;
    expect(via('https://example.com/x')).toBeUndefined();
    expect(via('https://a.b.example.com/x')).toBeUndefined();
    expect(via('https://notexample.com/x')).toBe('p:3128');
    expect(via('https://svc.internal/x')).toBeUndefined();
    expect(via('https://10.0.0.1/x')).toBeUndefined();
    expect(via('https://ports.test/x')).toBeUndefined();
    expect(via('http://plain.example.net/x')).toBeUndefined(); // no http proxy given
    expect(proxyFor(new URL('https://any.where/'), { https: 'p:1', noProxy: ['*'] })).toBeUndefined();
  });

  it('DISC-002 fetches a page and discovers an image through the tunnel; TLS is still checked end to end', async () => {
    const proxy = { https: `http://127.0.0.1:${open.port}` };
    const doc = await fetchDocument(url('/page'), { ca: pki.ca, proxy });
    expect(doc.body).toBe('page');
    expect(open.seen.at(-1)).toEqual({ target: `example.com:${server.port}`, allowed: true });
    const found = await discoverImage('example.com/app:1.0', { ca: pki.ca, proxy, port: server.port });
    expect(found.endpoints[0]?.aci).toBe(url('/example.com/app-1.0.aci'));
    // without the test CA, the server's certificate is refused through the tunnel too
    const e = await fetchDocument(url('/page'), { proxy }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ERR_DISC_TLS' });
  });

  it('DISC-013 downloads a large body through the tunnel intact', async () => {
    const dl = await openDownload(url('/big.aci'), {
      ca: pki.ca,
      proxy: { https: `http://127.0.0.1:${open.port}` },
    });
    const parts: Uint8Array[] = [];
    for await (const c of dl.body) parts.push(c);
    expect(createHash('sha256').update(Buffer.concat(parts)).digest('hex')).toBe(
      createHash('sha256').update(BODY).digest('hex'),
    );
  });

  it('sends credentials from the proxy URL; without them, or wrong, the 407 is a clear error', async () => {
    const good = { https: `http://alice:${encodeURIComponent('s3cr#t')}@127.0.0.1:${guarded.port}` };
    expect((await fetchDocument(url('/page'), { ca: pki.ca, proxy: good })).body).toBe('page');
    const none = await fetchDocument(url('/page'), {
      ca: pki.ca,
      proxy: { https: `http://127.0.0.1:${guarded.port}` },
    }).catch((x: unknown) => x);
    expect(none).toBeInstanceOf(DiscoveryError);
    expect(none).toMatchObject({ code: 'ERR_DISC_PROXY' });
    expect((none as Error).message).toMatch(
      /407 Proxy Authentication Required.*http:\/\/user:password@host:port/,
    );
    const wrong = await fetchDocument(url('/page'), {
      ca: pki.ca,
      proxy: { https: `http://alice:nope@127.0.0.1:${guarded.port}` },
    }).catch((x: unknown) => x);
    expect((wrong as Error).message).toMatch(/credentials in the proxy URL were refused/);
    expect(guarded.seen.map((s) => s.allowed)).toEqual([true, false, false]);
  });

  it('a proxy that takes the connection and never answers ends the request, and the connection, in time', async () => {
    const held: import('node:net').Socket[] = [];
    let closed = 0;
    const silent = createNetServer((socket) => {
      held.push(socket);
      socket.on('error', () => {});
      socket.on('close', () => closed++);
      socket.resume(); // reads (and drops) the CONNECT, so that the client's close is seen
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as import('node:net').AddressInfo).port;
      const started = Date.now();
      const e = await fetchDocument(url('/page'), {
        ca: pki.ca,
        requestTimeoutMs: 300,
        proxy: { https: `http://127.0.0.1:${port}` },
      }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(DiscoveryError);
      expect(['ERR_DISC_PROXY', 'ERR_DISC_TIMEOUT']).toContain((e as DiscoveryError).code);
      expect(Date.now() - started).toBeLessThan(5_000);
      // the tunnel's socket does not outlive the request (it would keep a CLI from exiting)
      for (let i = 0; i < 100 && closed < held.length; i++) await new Promise((r) => setTimeout(r, 20));
      expect(held.length).toBeGreaterThan(0);
      expect(closed).toBe(held.length);
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('no_proxy hosts are reached directly; an unreachable or non-http proxy is named', async () => {
    const before = open.seen.length;
    const doc = await fetchDocument(url('/page', 'direct.example.org'), {
      ca: pki.ca,
      resolve: { 'direct.example.org': '127.0.0.1' },
      proxy: { https: `http://127.0.0.1:${open.port}`, noProxy: ['example.org'] },
    });
    expect(doc.body).toBe('page');
    expect(open.seen.length).toBe(before);
    const down = await fetchDocument(url('/page'), {
      ca: pki.ca,
      proxy: { https: 'http://127.0.0.1:1' },
    }).catch((x: unknown) => x);
    expect(down).toMatchObject({ code: 'ERR_DISC_PROXY' });
    expect((down as Error).message).toMatch(/the proxy 127\.0\.0\.1:1 could not be reached/);
    const tlsProxy = await fetchDocument(url('/page'), { proxy: { https: 'https://p.example:3128' } }).catch(
      (x: unknown) => x,
    );
    expect(tlsProxy).toMatchObject({ code: 'ERR_DISC_BAD_OPTIONS' });
  });
});
