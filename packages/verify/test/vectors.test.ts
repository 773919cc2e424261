// Runs conformance/vectors/verify (made by scripts/make-vectors.mjs with real GnuPG keys and signatures;
// verdicts written by hand there) through @appc/verify, comparing verdicts and codes.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hasCode } from '@appc/schema';
import { loadVectors, type Vector } from '@appc/vectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatFingerprint,
  isValidPrefix,
  openTrustStore,
  parseInsecureOptions,
  parsePrefix,
  prefixCovers,
  verifySignature,
} from '../src/index.ts';

const vectors = await loadVectors('verify');
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'verify-vectors-'));
});
afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** Lays out `input.files` (path -> fixture file beside the vector, or '' for an empty file) in a fresh root. */
async function materialize(v: Vector) {
  const root = await mkdtemp(join(work, 'case-'));
  for (const [path, fixture] of Object.entries(v.input.files as Record<string, string>)) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    if (fixture === '') await writeFile(target, '');
    else await copyFile(join(v.dir, fixture), target);
  }
  return openTrustStore({ systemDir: join(root, 'system'), localDir: join(root, 'local') });
}

/** Runs a vector: the outcome to compare with `expect` (`valid`, `code`, and the kind's own member). */
async function judge(v: Vector): Promise<Record<string, unknown>> {
  const input = v.input;
  try {
    switch (input.kind) {
      case 'trustStore': {
        const store = await materialize(v);
        const keys = await store.keysFor(String(input.name));
        return { valid: true, fingerprints: keys.map((k) => k.fingerprint) };
      }
      case 'signature': {
        const store = await materialize(v);
        const who = await verifySignature({
          data: Buffer.from(String(input.data), 'utf8'),
          signature: await readFile(join(v.dir, String(input.signature))),
          name: String(input.name),
          store,
        });
        return { valid: true, fingerprint: who.keyFingerprint };
      }
      case 'formatFingerprint':
        return { valid: true, formatted: formatFingerprint(String(input.value)) };
      case 'insecureOptions':
        return { valid: true, options: [...parseInsecureOptions(String(input.value))].sort() };
      case 'prefix': {
        const value = String(input.value);
        const ok = isValidPrefix(value);
        if (ok) parsePrefix(value);
        else expect(() => parsePrefix(value)).toThrow();
        return ok ? { valid: true } : { valid: false, code: 'ERR_VERIFY_INVALID_PREFIX' };
      }
      case 'prefixCovers':
        return { valid: true, covers: prefixCovers(String(input.prefix), String(input.name)) };
      default:
        throw new Error(`unknown vector kind ${String(input.kind)}`);
    }
  } catch (error) {
    if (hasCode(error) && String(error.code).startsWith('ERR_VERIFY_'))
      return { valid: false, code: error.code };
    throw error;
  }
}

describe('conformance vectors: verify', () => {
  it('has vectors of every kind', () => {
    const kinds = new Set(vectors.map((v) => v.input.kind));
    expect([...kinds].sort()).toEqual([
      'formatFingerprint',
      'insecureOptions',
      'prefix',
      'prefixCovers',
      'signature',
      'trustStore',
    ]);
  });
  for (const v of vectors) {
    it(`${v.requirement} ${v.id}: ${v.title}`, async () => {
      expect(await judge(v)).toEqual(v.expect);
    });
  }
});
