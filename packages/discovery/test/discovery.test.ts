// Discovery against a real HTTPS/HTTP server on loopback (DISC-001..DISC-011). Host names are mapped to
// 127.0.0.1 with the `resolve` option, so nothing leaves the machine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCode, hostOsArch } from '@appc/schema';
import type { Vector } from '@appc/vectors';
import { loadVectors } from '@appc/vectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pki, TestServer } from '../../../test-support/https-server.ts';
import { makePki, startServer } from '../../../test-support/https-server.ts';
import type { AuthConfig, DiscoveryOptions, FetchLike } from '../src/index.ts';
import {
  discover,
  discoverImage,
  discoverPublicKeys,
  fetchDiscoveryPage,
  fetchDocument,
} from '../src/index.ts';
import { nodeRequest } from '../src/node-request.ts';

const endpointVectors = await loadVectors('disc').then((vs) =>
  vs.filter((v) => v.id.startsWith('disc/endpoints')),
);
const pageVectors = await loadVectors('disc').then((vs) =>
  vs.filter((v) => v.id.startsWith('disc/https-or-http')),
);
const pageHosts = [...new Set(pageVectors.map((v) => String(v.input.host)))];
const HOSTS = ['example.com', 'other.example.com', ...pageHosts];
const SETTINGS: string[][] = [[], ['tls'], ['http'], ['http', 'tls']];
const META01 = readFileSync(join(endpointVectors[0]?.dir ?? '.', 'meta01.html'), 'utf8');

let pki: Pki;
let server: TestServer;
const resolve = Object.fromEntries([...HOSTS, 'not-in-cert.test', 'localhost'].map((h) => [h, '127.0.0.1']));

beforeAll(async () => {
  pki = makePki(HOSTS);
  server = await startServer(pki);
});
afterAll(async () => {
  await server?.close();
});

function base(extra: DiscoveryOptions = {}): DiscoveryOptions {
  return { port: server.port, resolve, ca: pki.ca, requestTimeoutMs: 5000, ...extra };
}

function insecure(list: readonly string[]) {
  return { http: list.includes('http'), tls: list.includes('tls') };
}

/** The auth config equivalent to a vector's `hostHeaders` (basic only in the vectors). */
function authOf(hostHeaders: unknown): AuthConfig[] {
  const out: AuthConfig[] = [];
  for (const [host, headers] of Object.entries(
    (hostHeaders ?? {}) as Record<string, Record<string, string>>,
  )) {
    const m = /^Basic (.+)$/.exec(headers.Authorization ?? '');
    if (!m?.[1]) throw new Error(`unexpected hostHeaders ${JSON.stringify(headers)}`);
    const [user = '', password = ''] = Buffer.from(m[1], 'base64').toString().split(':');
    out.push({ domains: [host], type: 'basic', user, password });
  }
  return out;
}

type PageSpec =
  | string
  | { file?: string; html?: string; status?: number; redirect?: string; scheme?: 'https' | 'http' };

/** Serves the `pages` of an endpoints vector: each key at https://KEY?ac-discovery=1 and over http, else 404. */
function servePages(v: Vector) {
  const pages = v.input.pages as Record<string, PageSpec>;
  server.handle = (req, res, scheme) => {
    const url = new URL(String(req.url), `${scheme}://${req.headers.host}`);
    const key = `${url.hostname}${url.pathname === '/' ? '' : url.pathname}`;
    const spec = url.search === '?ac-discovery=1' ? pages[key] : undefined;
    const s = typeof spec === 'string' ? { file: spec } : spec;
    if (!s || (s.scheme !== undefined && s.scheme !== scheme)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    if (s.redirect !== undefined) {
      const to = new URL(s.redirect);
      to.port = String(server.port);
      res.writeHead(302, { location: to.href });
      res.end();
      return;
    }
    if (s.status !== undefined) {
      res.statusCode = s.status;
      res.end('no');
      return;
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(s.html ?? readFileSync(join(v.dir, String(s.file)), 'utf8'));
  };
}

describe('endpoints vectors: image and key discovery under each insecure setting (DISC-001..DISC-010)', () => {
  for (const v of endpointVectors) {
    const settings = (v.input.insecure as string[][] | undefined) ?? SETTINGS;
    for (const setting of settings) {
      it(`${v.requirement} ${v.id} [${setting.join(',') || 'none'}] ${v.title}`, async () => {
        servePages(v);
        server.seen.length = 0;
        const app = v.input.app as { name: string; labels: Record<string, string> };
        const opts = base({ insecure: insecure(setting), auth: authOf(v.input.hostHeaders) });
        const run =
          v.input.kind === 'image'
            ? discoverImage(app, opts).then((r) => r.endpoints)
            : discoverPublicKeys(app, opts).then((r) => r.pubkeys);
        if (v.expect.valid) {
          await expect(run).resolves.toEqual(
            v.input.kind === 'image' ? v.expect.endpoints : v.expect.pubkeys,
          );
        } else {
          await expect(run).rejects.toMatchObject({ code: v.expect.code });
        }
        if (v.input.hostHeaders) {
          const https = server.seen.filter((s) => s.scheme === 'https');
          expect(https.length).toBeGreaterThan(0);
          for (const s of https) expect(s.authorization).toBe('Basic YmFyOmJheg==');
        }
      });
    }
  }
});

describe('https-or-http vectors: one discovery page (DISC-001, DISC-002, DISC-010, DISC-011)', () => {
  for (const v of pageVectors) {
    it(`${v.requirement} ${v.id} ${v.title}`, async () => {
      const host = String(v.input.host);
      const headers = (v.input.hostHeaders as Record<string, Record<string, string>> | undefined)?.[host];
      server.handle = (req, res, scheme) => {
        const behaviour = v.input[scheme] as string | number | { redirect: string };
        if (headers && req.headers.authorization !== headers.Authorization) {
          res.statusCode = 401;
          res.end();
          return;
        }
        if (req.url === '/moved') {
          res.end(META01);
          return;
        }
        if (behaviour === 'error') {
          req.socket.destroy();
          return;
        }
        if (behaviour === 'ok') {
          res.end(META01);
          return;
        }
        if (typeof behaviour === 'number') {
          res.statusCode = behaviour;
          res.end();
          return;
        }
        if (typeof behaviour !== 'object') throw new Error(`unknown behaviour ${behaviour}`);
        const target =
          behaviour.redirect === 'loop'
            ? `${scheme}://${req.headers.host}${req.url}`
            : `${behaviour.redirect}://${host}:${server.port}/moved`;
        res.writeHead(302, { location: target });
        res.end();
      };
      const opts = base({
        insecure: insecure(v.input.insecure as string[]),
        auth: authOf(v.input.hostHeaders),
        ...(v.input.certificate === 'untrusted' ? { ca: undefined } : {}),
      });
      const run = fetchDiscoveryPage(host, opts);
      if (v.expect.valid) {
        const page = await run;
        expect(page.url).toBe(String(v.expect.url).replace(`://${host}`, `://${host}:${server.port}`));
        expect(page.body).toBe(META01);
      } else {
        await expect(run).rejects.toMatchObject({ code: v.expect.code });
      }
    });
  }
});

function servePage(html: string, where = '/app') {
  server.handle = (req, res) => {
    const url = new URL(String(req.url), 'http://x');
    if (url.pathname === where && url.search === '?ac-discovery=1') res.end(html);
    else {
      res.statusCode = 404;
      res.end();
    }
  };
}

const TEMPLATE =
  '<meta name="ac-discovery" content="example.com https://s.example.com/{name}-{version}-{os}-{arch}.{ext}">';
const KEYS = '<meta name="ac-discovery-pubkeys" content="example.com https://example.com/pubkeys.gpg">';

describe('transport policy', () => {
  it('DISC-002 refuses a redirect from https to http and names both URLs', async () => {
    server.handle = (_req, res) => {
      res.writeHead(301, { location: `http://example.com:${server.port}/app?ac-discovery=1` });
      res.end();
    };
    const err = await fetchDiscoveryPage('example.com/app', base()).catch((e: unknown) => e);
    expect(hasCode(err, 'ERR_DISC_INSECURE_REDIRECT')).toBe(true);
    expect((err as Error).message).toContain(`https://example.com:${server.port}/app?ac-discovery=1`);
    expect((err as Error).message).toContain(`http://example.com:${server.port}/app?ac-discovery=1`);
    const image = await discoverImage('example.com/app:1,os=linux,arch=amd64', base()).catch(
      (e: unknown) => e,
    );
    expect(image).toMatchObject({ code: 'ERR_DISC_INSECURE_REDIRECT', requirement: 'DISC-004' });
    expect((image as { attempts: unknown[] }).attempts).toHaveLength(2);
  });

  it('DISC-011 fetches no http URL without insecure.http', async () => {
    server.seen.length = 0;
    await expect(fetchDocument(`http://example.com:${server.port}/k.gpg`, base())).rejects.toMatchObject({
      code: 'ERR_DISC_HTTP_NOT_ALLOWED',
    });
    expect(server.seen).toHaveLength(0);
  });

  it('DISC-011 TLS: fails without the CA, works with it and with insecure.tls; checks the host name', async () => {
    servePage(TEMPLATE);
    const app = 'example.com/app:1,os=linux,arch=amd64';
    await expect(discoverImage(app, base({ ca: undefined }))).rejects.toMatchObject({ code: 'ERR_DISC_TLS' });
    await expect(discoverImage(app, base())).resolves.toMatchObject({ endpoints: [{}] });
    await expect(discoverImage(app, base({ ca: undefined, insecure: { tls: true } }))).resolves.toMatchObject(
      {
        endpoints: [{}],
      },
    );
    servePage(TEMPLATE.replace('content="example.com', 'content="not-in-cert.test'));
    const wrongName = await discoverImage('not-in-cert.test/app:1,os=linux,arch=amd64', base()).catch(
      (e) => e,
    );
    expect(wrongName).toMatchObject({ code: 'ERR_DISC_TLS' });
    expect(String(wrongName.message)).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    await expect(
      discoverImage('not-in-cert.test/app:1,os=linux,arch=amd64', base({ insecure: { tls: true } })),
    ).resolves.toMatchObject({ endpoints: [{}] });
  });

  it('DISC-010 sends credentials only to the configured host, also across a redirect', async () => {
    server.seen.length = 0;
    server.handle = (req, res) => {
      if (String(req.headers.host).startsWith('example.com')) {
        res.writeHead(302, { location: `https://other.example.com:${server.port}/page?ac-discovery=1` });
        res.end();
      } else res.end(TEMPLATE);
    };
    const auth: AuthConfig[] = [{ domains: ['example.com'], type: 'bearer', token: 'sekrit' }];
    const r = await discoverImage('example.com/app:1,os=linux,arch=amd64', base({ auth }));
    expect(r.endpoints).toHaveLength(1);
    expect(r.attempts[0]).toMatchObject({
      status: 200,
      finalUrl: `https://other.example.com:${server.port}/page?ac-discovery=1`,
    });
    const byHost = server.seen.map((s) => [s.host.split(':')[0], s.authorization]);
    expect(byHost).toEqual([
      ['example.com', 'Bearer sekrit'],
      ['other.example.com', undefined],
    ]);
  });

  it('DISC-010 never sends basic credentials over plain http', async () => {
    server.seen.length = 0;
    server.handle = (req, res, scheme) => {
      if (scheme === 'https') {
        res.statusCode = 404;
        res.end();
      } else if (req.url === '/app?ac-discovery=1') res.end(TEMPLATE);
      else {
        res.statusCode = 404;
        res.end();
      }
    };
    const auth: AuthConfig[] = [{ domains: ['example.com'], type: 'basic', user: 'u', password: 'p' }];
    const r = await discoverImage(
      'example.com/app:1,os=linux,arch=amd64',
      base({ auth, insecure: { http: true } }),
    );
    expect(r.endpoints).toHaveLength(1);
    expect(server.seen.map((s) => [s.scheme, s.authorization])).toEqual([
      ['https', `Basic ${Buffer.from('u:p').toString('base64')}`],
      ['http', undefined],
    ]);
  });

  it('DISC-004 bounds the page size, with or without Content-Length, and walks on', async () => {
    const big = `<html>${' '.repeat(2 * 1024 * 1024)}${TEMPLATE}</html>`;
    for (const chunked of [false, true]) {
      server.handle = (req, res) => {
        if (req.url === '/app?ac-discovery=1') {
          if (chunked) {
            res.write(big.slice(0, 1024 * 1024));
            res.end(big.slice(1024 * 1024));
          } else res.end(big);
        } else if (req.url === '/?ac-discovery=1') res.end(TEMPLATE);
        else {
          res.statusCode = 404;
          res.end();
        }
      };
      const r = await discoverImage('example.com/app:1,os=linux,arch=amd64', base());
      expect(r.attempts.map((a) => a.code)).toEqual(['ERR_DISC_PAGE_TOO_LARGE', undefined]);
      expect(r.endpoints).toHaveLength(1);
    }
    servePage(TEMPLATE);
    await expect(
      discoverImage('example.com/app:1,os=linux,arch=amd64', base({ maxBodyBytes: 10 })),
    ).rejects.toMatchObject({ code: 'ERR_DISC_NOT_FOUND' });
  });

  it('DISC-002 a slow page times out per request and the walk goes on; the overall limit and abort stop it', async () => {
    server.handle = (req, res) => {
      if (req.url === '/?ac-discovery=1') res.end(TEMPLATE);
      // otherwise never answer
    };
    const r = await discoverImage('example.com/app:1,os=linux,arch=amd64', base({ requestTimeoutMs: 300 }));
    expect(r.attempts.map((a) => a.code)).toEqual(['ERR_DISC_TIMEOUT', undefined]);
    await expect(
      discoverImage(
        'example.com/app:1,os=linux,arch=amd64',
        base({ requestTimeoutMs: 5000, timeoutMs: 300 }),
      ),
    ).rejects.toMatchObject({ code: 'ERR_DISC_TIMEOUT' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await expect(
      discoverImage('example.com/app:1,os=linux,arch=amd64', base({ signal: controller.signal })),
    ).rejects.toMatchObject({ code: 'ERR_DISC_ABORTED' });
  });
});

describe('discover()', () => {
  it('DISC-006 fills os and arch from this host by default (TYPES-011), not in discoverImage', async () => {
    servePage(TEMPLATE + KEYS);
    const host = hostOsArch();
    const r = await discover('example.com/app:1.0', base());
    expect(r.labels).toEqual({ version: '1.0', os: host.os, arch: host.arch });
    expect(r.endpoints[0]?.aci).toBe(`https://s.example.com/example.com/app-1.0-${host.os}-${host.arch}.aci`);
    expect(r.pubkeys).toEqual(['https://example.com/pubkeys.gpg']);
    // each page fetched once for both walks
    expect(r.attempts).toHaveLength(1);
    await expect(discoverImage('example.com/app:1.0', base())).rejects.toMatchObject({
      code: 'ERR_DISC_NOT_FOUND',
    });
    const other = await discover('example.com/app:1.0', base({ osArch: { os: 'freebsd', arch: 'amd64' } }));
    expect(other.endpoints[0]?.aci).toContain('-1.0-freebsd-amd64.aci');
  });

  it('DISC-004 lists every URL tried; no keys leaves pubkeys empty unless required', async () => {
    servePage(TEMPLATE, '/');
    server.handle = ((inner) => (req, res, scheme) => {
      if (req.url === '/?ac-discovery=1' && scheme === 'https') res.end(TEMPLATE);
      else inner(req, res, scheme);
    })(server.handle);
    const r = await discover('example.com/a/b:1', base({ osArch: { os: 'linux', arch: 'amd64' } }));
    const p = server.port;
    expect(r.attempts.map((a) => [a.url, a.status, a.code])).toEqual([
      [`https://example.com:${p}/a/b?ac-discovery=1`, 404, 'ERR_DISC_HTTP_STATUS'],
      [`https://example.com:${p}/a?ac-discovery=1`, 404, 'ERR_DISC_HTTP_STATUS'],
      [`https://example.com:${p}?ac-discovery=1`, 200, undefined],
      [`https://example.com:${p}?ac-discovery=1`, 200, 'ERR_DISC_NO_TAGS'],
    ]);
    expect(r.pubkeys).toEqual([]);
    const err = await discover('example.com/a/b:1', base({ requirePublicKeys: true })).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_DISC_NOT_FOUND', requirement: 'DISC-004' });
    expect(err.message).toContain(`https://example.com:${p}/a/b?ac-discovery=1: expected 200 OK, got 404`);
  });

  it('takes an injected fetch (the default transport wrapped to log) and the global fetch', async () => {
    servePage(TEMPLATE);
    const calls: string[] = [];
    const logging: FetchLike = (url, init) => {
      calls.push(url);
      return nodeRequest(url, init);
    };
    await discoverImage('example.com/app:1,os=linux,arch=amd64', base({ fetch: logging }));
    expect(calls).toEqual([`https://example.com:${server.port}/app?ac-discovery=1`]);
    // The global fetch ignores agents (no CA, no resolve): use localhost over http, which it reaches directly.
    servePage(TEMPLATE.replace('content="example.com', 'content="localhost'));
    const r = await discoverImage('localhost/app:1,os=linux,arch=amd64', {
      port: server.port,
      insecure: { http: true },
      fetch: globalThis.fetch as unknown as FetchLike,
    });
    expect(r.attempts.map((a) => a.code)).toEqual(['ERR_DISC_TLS', undefined]);
    expect(r.endpoints[0]?.aci).toBe('https://s.example.com/localhost/app-1-linux-amd64.aci');
  });
});
