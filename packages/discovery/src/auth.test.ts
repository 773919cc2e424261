import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { authorizationFor, loadAuthConfig } from './auth.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A config dir with `auth.d/<file>` holding each given object (or raw text). */
function configDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'appc-auth-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'auth.d'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, 'auth.d', name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const basic = (domains: string[], user: string) => ({
  rktKind: 'auth',
  rktVersion: 'v1',
  domains,
  type: 'basic',
  credentials: { user, password: 'pw' },
});

describe('loadAuthConfig (VERIFY-008, DISC-010)', () => {
  it('reads basic and oauth files; the later dir wins per domain', async () => {
    const system = configDir({
      'a.json': basic(['example.com', 'other.com'], 'system'),
      'docker.json': { rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['r'], credentials: {} },
      'ignored.txt': 'not json',
    });
    const local = configDir({
      'b.json': {
        rktKind: 'auth',
        rktVersion: 'v1',
        domains: ['example.com'],
        type: 'oauth',
        credentials: { token: 't' },
      },
    });
    const auth = await loadAuthConfig([system, join(tmpdir(), 'appc-missing-dir'), local]);
    expect(auth).toEqual([
      { domains: ['example.com'], type: 'oauth', token: 't' },
      { domains: ['other.com'], type: 'basic', user: 'system', password: 'pw' },
    ]);
    expect(authorizationFor(new URL('https://example.com:8443/x'), auth)).toBe('Bearer t');
    expect(authorizationFor(new URL('https://other.com/x'), auth)).toBe(
      `Basic ${Buffer.from('system:pw').toString('base64')}`,
    );
    expect(authorizationFor(new URL('http://other.com/x'), auth)).toBeUndefined();
    expect(authorizationFor(new URL('https://sub.other.com/x'), auth)).toBeUndefined();
    // an auth.d dir itself is accepted too
    expect(await loadAuthConfig([join(local, 'auth.d')])).toHaveLength(1);
  });

  it('a domain with a port matches only that port', () => {
    const auth = [{ domains: ['example.com:8443'], type: 'bearer' as const, token: 't' }];
    expect(authorizationFor(new URL('https://example.com:8443/'), auth)).toBe('Bearer t');
    expect(authorizationFor(new URL('https://example.com/'), auth)).toBeUndefined();
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    [
      'the same domain twice in one dir',
      { 'a.json': basic(['x.com'], 'a'), 'b.json': basic(['x.com'], 'b') },
      /already configured in .*a\.json/,
    ],
    ['bad JSON', { 'a.json': '{' }, /not JSON/],
    ['a wrong kind', { 'a.json': { ...basic(['x.com'], 'a'), rktKind: 'other' } }, /\/rktKind/],
    ['a wrong version', { 'a.json': { ...basic(['x.com'], 'a'), rktVersion: 'v2' } }, /\/rktVersion/],
    ['no domains', { 'a.json': basic([], 'a') }, /\/domains/],
    ['an empty user', { 'a.json': basic(['x.com'], '') }, /\/credentials\/user/],
    ['aws (unsupported)', { 'a.json': { ...basic(['x.com'], 'a'), type: 'aws' } }, /not supported/],
    ['an unknown type', { 'a.json': { ...basic(['x.com'], 'a'), type: 'digest' } }, /\/type/],
    [
      'oauth without a token',
      { 'a.json': { ...basic(['x.com'], 'a'), type: 'oauth' } },
      /\/credentials\/token/,
    ],
  ];
  for (const [title, files, message] of bad) {
    it(`rejects ${title} with ERR_DISC_AUTH_CONFIG naming the file`, async () => {
      const dir = configDir(files);
      const err = await loadAuthConfig([dir]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_DISC_AUTH_CONFIG', requirement: 'VERIFY-008' });
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(join(dir, 'auth.d'));
    });
  }

  it('the same domain in two dirs is not an error', async () => {
    const a = configDir({ 'a.json': basic(['x.com'], 'a') });
    const b = configDir({ 'a.json': basic(['x.com'], 'b') });
    expect(await loadAuthConfig([a, b])).toEqual([
      { domains: ['x.com'], type: 'basic', user: 'b', password: 'pw' },
    ]);
  });
});
