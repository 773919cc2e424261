// A download server that lies, on loopback with a real TLS certificate: the answers `openDownload` must refuse
// with a code a person can act on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, startServer, type TestServer } from '../../../test-support/https-server.ts';
import { DiscoveryError, openDownload } from '../src/index.ts';

let server: TestServer;
let ca: string;
const BODY = Buffer.alloc(64 * 1024, 1);

beforeAll(async () => {
  const pki = makePki([]);
  ca = pki.ca;
  server = await startServer(pki);
  server.handle = (req, res) => {
    if (req.url === '/cut') {
      // declares more than it sends, then drops the connection
      res.writeHead(200, { 'Content-Length': BODY.length * 2 });
      res.write(BODY);
      setTimeout(() => res.destroy(), 20);
    } else if (req.url === '/not-modified') {
      res.writeHead(304, { ETag: '"x"' });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  };
});

afterAll(() => server?.close());

async function failureOf(path: string, ifNoneMatch?: string): Promise<DiscoveryError> {
  try {
    const dl = await openDownload(`https://127.0.0.1:${server.port}${path}`, {
      ca,
      ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
    });
    for await (const _ of dl.body);
  } catch (e) {
    expect(e).toBeInstanceOf(DiscoveryError);
    return e as DiscoveryError;
  }
  throw new Error('expected a DiscoveryError');
}

describe('openDownload against a lying server', () => {
  it('DISC-002: a connection dropped before the declared length is ERR_DISC_TRUNCATED with both counts (was ERR_DISC_NETWORK)', async () => {
    const e = await failureOf('/cut');
    expect(e.code).toBe('ERR_DISC_TRUNCATED');
    expect(e.message).toContain(`of the ${BODY.length * 2} bytes declared`);
    expect(e.message).toContain('try again');
  });

  it('DISC-013: a 304 to a request without If-None-Match is ERR_DISC_HTTP_STATUS (its empty body was taken for the file)', async () => {
    const e = await failureOf('/not-modified');
    expect(e.code).toBe('ERR_DISC_HTTP_STATUS');
    expect(e.status).toBe(304);
    // asked conditionally, the same answer means "unchanged"
    const dl = await openDownload(`https://127.0.0.1:${server.port}/not-modified`, {
      ca,
      ifNoneMatch: '"x"',
    });
    expect(dl.notModified).toBe(true);
  });
});
