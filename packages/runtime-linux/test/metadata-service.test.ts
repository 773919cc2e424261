// The metadata service over real HTTP on loopback (META-001..META-012).
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageManifest, PodManifest } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHmacKey, MetadataService, mergeAnnotations } from '../src/metadata-service.ts';

const UUID_A = '6f1c2a7e-4b3d-4c5e-9f10-112233445566';
const UUID_B = '0a0b0c0d-1e1f-4a4b-8c8d-aabbccddeeff';
const IMAGE_ID = `sha512-${'ab'.repeat(64)}`;
const image: ImageManifest = {
  acKind: 'ImageManifest',
  acVersion: '0.8.11',
  name: 'example.com/hello',
  annotations: [
    { name: 'authors', value: 'image authors' },
    { name: 'created', value: '2026-01-01T00:00:00Z' },
  ],
};
const podManifest = (name: string): PodManifest =>
  ({
    acKind: 'PodManifest',
    acVersion: '0.8.11',
    apps: [
      {
        name,
        image: { id: IMAGE_ID, name: 'example.com/hello' },
        annotations: [
          { name: 'created', value: 'overridden' },
          { name: 'extra', value: 'pod value' },
        ],
      },
    ],
    annotations: [{ name: 'team', value: 'infra' }],
  }) as PodManifest;

let dir: string;
let a: MetadataService;
let b: MetadataService;
let baseA: string;
let baseB: string;
let tokenA: string;
let tokenB: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appc-mds-'));
  // two services (two `appc run` processes) sharing the host's key file
  const keyFile = join(dir, 'metadata', 'hmac.key');
  a = new MetadataService({ hmacKey: await loadHmacKey(keyFile) });
  b = new MetadataService({ hmacKey: await loadHmacKey(keyFile) });
  const la = await a.listen(0, '127.0.0.1');
  const lb = await b.listen(0, '127.0.0.1');
  tokenA = a.register({
    uuid: UUID_A,
    manifest: podManifest('hello'),
    apps: { hello: { imageManifest: image, imageId: IMAGE_ID } },
  }).token;
  tokenB = b.register({
    uuid: UUID_B,
    manifest: podManifest('other'),
    apps: { other: { imageManifest: image, imageId: IMAGE_ID } },
  }).token;
  baseA = `http://127.0.0.1:${la.port}/${tokenA}/acMetadata/v1`;
  baseB = `http://127.0.0.1:${lb.port}/${tokenB}/acMetadata/v1`;
});

afterAll(async () => {
  await a.close();
  await b.close();
  await rm(dir, { recursive: true, force: true });
});

async function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(url, { headers: { 'Metadata-Flavor': 'AppContainer' } });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

async function post(
  url: string,
  form: Record<string, string>,
): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(url, { method: 'POST', body: new URLSearchParams(form) });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

describe('metadata service', () => {
  it('tokens have at least 128 bits and the key file is private (META-001)', async () => {
    expect(tokenA).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenA).not.toBe(tokenB);
    expect((await stat(join(dir, 'metadata', 'hmac.key'))).mode & 0o777).toBe(0o600);
  });

  it('serves the pod endpoints (META-002..META-005)', async () => {
    const ann = await get(`${baseA}/pod/annotations`);
    expect(ann.type).toBe('application/json');
    expect(JSON.parse(ann.body)).toEqual([{ name: 'team', value: 'infra' }]);
    const m = await get(`${baseA}/pod/manifest`);
    expect(JSON.parse(m.body)).toMatchObject({ acKind: 'PodManifest', apps: [{ name: 'hello' }] });
    const uuid = await get(`${baseA}/pod/uuid`);
    expect(uuid).toEqual({ status: 200, type: 'text/plain; charset=us-ascii', body: UUID_A });
    expect((await get(`${baseA}/pod/annotations/team`)).body).toBe('infra');
    expect((await get(`${baseA}/pod/annotations/none`)).status).toBe(404);
  });

  it('serves the app endpoints, annotations merged in the reference order (META-006..META-008)', async () => {
    const ann = await get(`${baseA}/apps/hello/annotations`);
    expect(JSON.parse(ann.body)).toEqual([
      { name: 'authors', value: 'image authors' },
      { name: 'created', value: 'overridden' },
      { name: 'extra', value: 'pod value' },
    ]);
    expect(JSON.parse((await get(`${baseA}/apps/hello/image/manifest`)).body).name).toBe('example.com/hello');
    expect(await get(`${baseA}/apps/hello/image/id`)).toEqual({
      status: 200,
      type: 'text/plain; charset=us-ascii',
      body: IMAGE_ID,
    });
    expect((await get(`${baseA}/apps/nope/image/id`)).status).toBe(404);
    expect((await get(`${baseA}/apps/Not_A_Name/image/id`)).status).toBe(400);
  });

  it('answers only the pod that owns the token (META-011)', async () => {
    expect((await get(`${baseA.replace(tokenA, 'f'.repeat(64))}/pod/uuid`)).status).toBe(401);
    // pod B's token on pod A's service is unknown there
    expect((await get(`${baseA.replace(tokenA, tokenB)}/pod/uuid`)).status).toBe(401);
    expect((await get(`${baseA}/apps/other/image/id`)).status).toBe(404);
  });

  it('signs with HMAC-SHA512 and verifies across pods (META-009, META-010)', async () => {
    const sig = await post(`${baseA}/pod/hmac/sign`, { content: 'hello world' });
    expect(sig.status).toBe(200);
    expect(sig.type).toBe('text/plain; charset=us-ascii');
    expect(Buffer.from(sig.body, 'base64')).toHaveLength(64);
    expect(
      (await post(`${baseB}/pod/hmac/verify`, { content: 'hello world', uuid: UUID_A, signature: sig.body }))
        .status,
    ).toBe(200);
    expect(
      (await post(`${baseB}/pod/hmac/verify`, { content: 'hello world!', uuid: UUID_A, signature: sig.body }))
        .status,
    ).toBe(403);
    expect(
      (await post(`${baseB}/pod/hmac/verify`, { content: 'hello world', uuid: UUID_B, signature: sig.body }))
        .status,
    ).toBe(403);
    expect(
      (await post(`${baseB}/pod/hmac/verify`, { content: 'x', uuid: 'nope', signature: sig.body })).status,
    ).toBe(400);
    expect((await post(`${baseA}/pod/hmac/sign`, { content: '' })).status).toBe(400);
  });

  it('merges annotations as the reference validator expects', () => {
    expect(mergeAnnotations(undefined, undefined)).toEqual([]);
    expect(
      mergeAnnotations(
        [{ name: 'a', value: '1' }],
        [
          { name: 'b', value: '2' },
          { name: 'a', value: '3' },
        ],
      ),
    ).toEqual([
      { name: 'a', value: '3' },
      { name: 'b', value: '2' },
    ]);
  });
});
