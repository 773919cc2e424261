import { createHash } from 'node:crypto';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pki, TestServer } from '../../../test-support/https-server.ts';
import { makePki, startServer } from '../../../test-support/https-server.ts';
import { DiscoveryError, openDownload, parseCacheHeaders } from '../src/index.ts';

let pki: Pki;
let server: TestServer;
const BIG = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
for (let i = 0; i < BIG.length; i += 4096) BIG[i] = i & 0xff;

function url(path: string, scheme = 'https'): string {
  return `${scheme}://127.0.0.1:${server.port}${path}`;
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

async function failure(p: Promise<unknown>): Promise<DiscoveryError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DiscoveryError);
    return e as DiscoveryError;
  }
  throw new Error('expected a DiscoveryError');
}

beforeAll(async () => {
  pki = makePki([]);
  server = await startServer(pki);
  server.handle = handler;
});

const handler: TestServer['handle'] = (req, res, scheme) => {
  const path = String(req.url);
  if (path === '/big.aci') {
    if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304, { ETag: '"v1"', 'Cache-Control': 'max-age=60' });
      res.end();
      return;
    }
    res.writeHead(200, {
      ETag: '"v1"',
      'Cache-Control': 'public, max-age=60',
      'Content-Length': BIG.length,
    });
    res.end(BIG);
  } else if (path === '/chunked') {
    res.writeHead(200, { 'Cache-Control': 'no-cache' });
    for (let i = 0; i < 8; i++) res.write(BIG.subarray(i * 1000, (i + 1) * 1000));
    res.end();
  } else if (path === '/liar') {
    res.writeHead(200, { 'Content-Length': 100 });
    res.write(Buffer.alloc(40));
    setTimeout(() => res.destroy(), 50);
  } else if (path === '/to-http') {
    res.writeHead(302, { Location: url('/big.aci', 'http') });
    res.end();
  } else if (path === '/moved') {
    res.writeHead(301, { Location: '/big.aci' });
    res.end();
  } else if (path === '/stall') {
    res.writeHead(200);
    res.write('x');
  } else if (path === '/plain' && scheme === 'http') {
    res.end('plain');
  } else {
    res.writeHead(404);
    res.end();
  }
};
afterAll(async () => {
  await server.close();
});

describe('openDownload (DISC-013)', () => {
  it('streams a body of several MiB intact and reports ETag and max-age', async () => {
    const dl = await openDownload(url('/big.aci'), { ca: pki.ca });
    expect(dl.notModified).toBe(false);
    expect(dl.etag).toBe('"v1"');
    expect(dl.maxAgeSeconds).toBe(60);
    expect(dl.declaredBytes).toBe(BIG.length);
    const got = await drain(dl.body);
    expect(createHash('sha512').update(got).digest('hex')).toBe(
      createHash('sha512').update(BIG).digest('hex'),
    );
  });

  it('answers 304 to a matching If-None-Match without a body', async () => {
    const dl = await openDownload(url('/big.aci'), { ca: pki.ca, ifNoneMatch: '"v1"' });
    expect(dl.notModified).toBe(true);
    expect((await drain(dl.body)).length).toBe(0);
    const fresh = await openDownload(url('/big.aci'), { ca: pki.ca, ifNoneMatch: '"v0"' });
    expect(fresh.notModified).toBe(false);
    expect((await drain(fresh.body)).length).toBe(BIG.length);
  });

  it('follows a redirect and names the final URL', async () => {
    const dl = await openDownload(url('/moved'), { ca: pki.ca });
    expect(dl.finalUrl).toBe(url('/big.aci'));
    expect((await drain(dl.body)).length).toBe(BIG.length);
  });

  it('refuses a declared length above maxBytes before reading', async () => {
    const e = await failure(openDownload(url('/big.aci'), { ca: pki.ca, maxBytes: 1024 }));
    expect(e.code).toBe('ERR_DISC_TOO_LARGE');
    expect(e.requirement).toBe('DISC-013');
  });

  it('refuses an undeclared body once it passes maxBytes', async () => {
    const dl = await openDownload(url('/chunked'), { ca: pki.ca, maxBytes: 2500 });
    expect(dl.maxAgeSeconds).toBe(0);
    const e = await failure(drain(dl.body));
    expect(e.code).toBe('ERR_DISC_TOO_LARGE');
  });

  it('reports a body cut short of its declared length', async () => {
    const dl = await openDownload(url('/liar'), { ca: pki.ca });
    const e = await failure(drain(dl.body));
    expect(['ERR_DISC_TRUNCATED', 'ERR_DISC_NETWORK']).toContain(e.code);
  });

  it('never follows https to http, and refuses http unless allowed (DISC-002, DISC-011)', async () => {
    expect((await failure(openDownload(url('/to-http'), { ca: pki.ca }))).code).toBe(
      'ERR_DISC_INSECURE_REDIRECT',
    );
    expect((await failure(openDownload(url('/plain', 'http')))).code).toBe('ERR_DISC_HTTP_NOT_ALLOWED');
    const dl = await openDownload(url('/plain', 'http'), { insecure: { http: true } });
    expect((await drain(dl.body)).toString()).toBe('plain');
  });

  it('verifies TLS unless told not to (DISC-011)', async () => {
    expect((await failure(openDownload(url('/big.aci')))).code).toBe('ERR_DISC_TLS');
    const dl = await openDownload(url('/big.aci'), { insecure: { tls: true } });
    dl.close();
  });

  it('gives up on a stalled transfer', async () => {
    const dl = await openDownload(url('/stall'), { ca: pki.ca, idleTimeoutMs: 300 });
    const e = await failure(drain(dl.body));
    expect(hasCode(e, 'ERR_DISC_TIMEOUT')).toBe(true);
  });

  it('a slow reader is not a stalled transfer; bytes arrive whole, in order, in blocks (DISC-013)', async () => {
    const big = Buffer.alloc(9 * 1024 * 1024 + 5);
    for (let i = 0; i < big.length; i += 1024) big.writeUInt32LE(i, i);
    server.handle = (_req, res) => {
      res.writeHead(200, { 'Content-Length': big.length });
      res.end(big);
    };
    try {
      const dl = await openDownload(url('/slow-reader'), { ca: pki.ca, idleTimeoutMs: 150 });
      const parts: Uint8Array[] = [];
      for await (const c of dl.body) {
        parts.push(c);
        // the socket is paused while the reader sleeps: longer than the idle limit, without failing
        if (parts.length === 1) await new Promise((r) => setTimeout(r, 400));
      }
      expect(Buffer.concat(parts).equals(big)).toBe(true);
      // TLS records of 16 KiB come out gathered: far fewer blocks than records
      expect(parts.length).toBeLessThan(big.length / (64 * 1024));
    } finally {
      server.handle = handler;
    }
  });

  it('a 404 is an HTTP status error', async () => {
    const e = await failure(openDownload(url('/none'), { ca: pki.ca }));
    expect(e.code).toBe('ERR_DISC_HTTP_STATUS');
    expect(e.status).toBe(404);
  });
});

describe('parseCacheHeaders', () => {
  const h = (o: Record<string, string>) => ({ get: (n: string) => o[n] ?? null });
  it('reads max-age, no-cache and no-store', () => {
    expect(parseCacheHeaders(h({ 'cache-control': 'public, max-age=300', etag: 'W/"a"' }))).toEqual({
      etag: 'W/"a"',
      maxAgeSeconds: 300,
    });
    expect(parseCacheHeaders(h({ 'cache-control': 'max-age=300, no-store' })).maxAgeSeconds).toBe(0);
    expect(parseCacheHeaders(h({ 'cache-control': 'max-age=abc' })).maxAgeSeconds).toBeUndefined();
    expect(parseCacheHeaders(h({})).maxAgeSeconds).toBeUndefined();
  });
});
