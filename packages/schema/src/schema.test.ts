import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  detectManifestKind,
  hasCode,
  hostOsArch,
  isImageId,
  isValidOsArch,
  OS_ARCH,
  parseImageManifest,
  parseIsolatorValue,
  parseJson,
  parsePodManifest,
  parseResourceQuantity,
  parseSemver,
  parseUuid,
  registerOsArch,
  SchemaError,
  serializeImageManifest,
  serializePodManifest,
  validateImageManifest,
  validatePodManifest,
} from './index.ts';

const FULL = `sha512-${'ab'.repeat(64)}`;
const IMAGE = {
  acKind: 'ImageManifest',
  acVersion: '0.8.11',
  name: 'example.com/app',
  labels: [{ name: 'os', value: 'linux' }],
  app: {
    exec: ['/bin/app'],
    user: '0',
    group: '0',
    isolators: [{ name: 'resource/memory', value: { limit: '1G' } }],
    userLabels: { z: '1', a: '2' },
  },
  annotations: [{ name: 'authors', value: 'me' }],
};

describe('parseJson (IMG-019)', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return hasCode(e) ? e.code : 'not an AppcError';
    }
    return 'no error';
  };
  it('reads JSON text and bytes', () => {
    expect(parseJson('{"a":[1,true,null,"x\\u0041"]}')).toEqual({ a: [1, true, null, 'xA'] });
    expect(parseJson(new TextEncoder().encode(' [] '))).toEqual([]);
  });
  it('refuses invalid UTF-8, a BOM, bad syntax and trailing text', () => {
    for (const bad of [
      new Uint8Array([0x7b, 0xff, 0x7d]),
      '\ufeff{}',
      '{"a":}',
      '{} x',
      '',
      '[1,]',
      '{"a" 1}',
      "{'a':1}",
      '01',
      '"\t"',
    ]) {
      expect(
        code(() => parseJson(bad)),
        String(bad),
      ).toBe('ERR_SCHEMA_JSON');
    }
  });
  it('refuses nesting beyond the bound before JSON.parse, without recursion', () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    expect(code(() => parseJson(deep))).toBe('ERR_SCHEMA_JSON');
    expect(code(() => parseJson(`${'['.repeat(512)}${']'.repeat(512)}`))).toBe('no error');
    expect(code(() => parseJson(`${'['.repeat(513)}${']'.repeat(513)}`))).toBe('ERR_SCHEMA_JSON');
    const objects = `{"acKind":"ImageManifest","x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    expect(code(() => parseJson(objects))).toBe('ERR_SCHEMA_JSON');
    expect(code(() => parseJson('[[1]]', { maxDepth: 1 }))).toBe('ERR_SCHEMA_JSON');
  });
  it('refuses duplicate member names, naming the pointer and the file', () => {
    try {
      parseJson('{"app":{"user":"0","user":"1"}}', { file: 'manifest' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SchemaError);
      expect((e as SchemaError).pointer).toBe('/app/user');
      expect((e as SchemaError).message).toMatch(/^manifest: .*"user" appears twice/);
    }
  });
  it('refuses text above maxBytes', () => {
    expect(code(() => parseJson('[1,2,3]', { maxBytes: 4 }))).toBe('ERR_SCHEMA_JSON');
  });
});

describe('validators never throw', () => {
  const odd: unknown[] = [
    undefined,
    null,
    0,
    'x',
    [],
    () => 1,
    Symbol('s'),
    10n,
    new Date(),
    Object.create(null),
    { acKind: 'ImageManifest', app: { isolators: 'x' } },
  ];
  it('on odd values', () => {
    for (const v of odd) {
      expect(validateImageManifest(v).length).toBeGreaterThan(0);
      expect(validatePodManifest(v).length).toBeGreaterThan(0);
    }
  });
  it('on a getter that throws', () => {
    const evil = {
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      get name(): string {
        throw new Error('boom');
      },
    };
    expect(validateImageManifest(evil)[0]?.code).toBe('ERR_SCHEMA_TYPE');
  });
  it('on huge arrays, quickly', () => {
    const env = Array.from({ length: 100_000 }, (_, i) => ({ name: `V${i}`, value: 'x' }));
    const t = Date.now();
    expect(validateImageManifest({ ...IMAGE, app: { ...IMAGE.app, environment: env } })).toEqual([]);
    expect(Date.now() - t).toBeLessThan(2000);
  });
  it('on values nested 100,000 deep where the spec allows any value, and on 10 MB strings, with short messages', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const withDeep = { ...IMAGE, app: { ...IMAGE.app, isolators: [{ name: 'example.com/x', value: deep }] } };
    expect(validateImageManifest(withDeep).map((i) => i.code)).toEqual(['WARN_SCHEMA_ISOLATOR_UNKNOWN']);
    expect(validateImageManifest({ ...IMAGE, labels: deep }).map((i) => i.code)).toEqual(['ERR_SCHEMA_TYPE']);
    const big = 'a'.repeat(10 * 1024 * 1024);
    for (const doc of [
      { ...IMAGE, name: `${big}-` },
      { ...IMAGE, acVersion: `0.8.${'1'.repeat(10 * 1024 * 1024)}` },
      { ...IMAGE, labels: [{ name: 'os', value: big }] },
      { ...IMAGE, app: { ...IMAGE.app, isolators: [{ name: 'resource/memory', value: { limit: big } }] } },
    ]) {
      const issues = validateImageManifest(doc);
      expect(issues.length).toBeGreaterThan(0);
      for (const i of issues) expect(i.message.length).toBeLessThan(1000);
    }
  });
  it('on object members of JavaScript (constructor, __proto__): no lookup finds them', () => {
    const os = (value: string) => ({
      ...IMAGE,
      labels: [
        { name: 'os', value },
        { name: 'arch', value: 'x' },
      ],
    });
    for (const v of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      expect(validateImageManifest(os(v)).map((i) => i.code)).toEqual(['ERR_SCHEMA_OS_ARCH']);
    const iso = { ...IMAGE, app: { ...IMAGE.app, isolators: [{ name: 'constructor', value: {} }] } };
    expect(validateImageManifest(iso).map((i) => i.code)).toEqual(['WARN_SCHEMA_ISOLATOR_UNKNOWN']);
    expect(parseIsolatorValue({ name: 'constructor', value: {} }).kind).toBe('unknown');
  });
  it('on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        validateImageManifest(v);
        validatePodManifest(v);
        validateImageManifest({
          ...IMAGE,
          app: { ...IMAGE.app, isolators: [{ name: 'resource/cpu', value: v }] },
        });
      }),
      { numRuns: 200, seed: 1 },
    );
  });
});

describe('parse and serialise', () => {
  it('parse throws one SchemaError listing every issue', () => {
    try {
      parseImageManifest({ acKind: 'ImageManifest', name: 'Bad', app: { exec: ['/a'] } });
      expect.unreachable();
    } catch (e) {
      expect(hasCode(e, 'ERR_SCHEMA_INVALID')).toBe(true);
      const codes = (e as SchemaError).issues.map((i) => i.code).sort();
      expect(codes).toEqual([
        'ERR_SCHEMA_AC_IDENTIFIER',
        'ERR_SCHEMA_REQUIRED',
        'ERR_SCHEMA_REQUIRED',
        'ERR_SCHEMA_REQUIRED',
      ]);
      expect((e as SchemaError).message).toMatch(/\/acVersion: "acVersion" is required/);
    }
  });
  it('drops unknown members and reads supplementaryGids as supplementaryGIDs', () => {
    const m = parseImageManifest({
      ...IMAGE,
      extra: 1,
      app: { ...IMAGE.app, supplementaryGids: [5], Exec: 'x' },
    });
    expect(m).not.toHaveProperty('extra');
    expect(m.app?.supplementaryGIDs).toEqual([5]);
    expect(m.app).not.toHaveProperty('Exec');
  });
  it('writes members in the spec order, free-form objects sorted', () => {
    const text = serializeImageManifest({
      annotations: IMAGE.annotations,
      app: IMAGE.app,
      name: IMAGE.name,
      acVersion: '0.8.11',
      acKind: 'ImageManifest',
    });
    expect(Object.keys(JSON.parse(text))).toEqual(['acKind', 'acVersion', 'name', 'app', 'annotations']);
    expect(text).toContain('"userLabels":{"a":"2","z":"1"}');
    expect(serializeImageManifest(IMAGE, { indent: 2 })).toContain('\n  "acVersion": "0.8.11",');
  });
  it('round-trips byte for byte', () => {
    const once = serializeImageManifest(IMAGE);
    expect(serializeImageManifest(parseImageManifest(JSON.parse(once)))).toBe(once);
    const pod = {
      acVersion: '0.8.11',
      acKind: 'PodManifest',
      apps: [{ name: 'a', image: { id: FULL }, mounts: [{ volume: 'v', path: '/v' }] }],
      volumes: [{ name: 'v', kind: 'empty', mode: '0700' }],
    };
    const p = serializePodManifest(pod);
    expect(Object.keys(JSON.parse(p))).toEqual(['acVersion', 'acKind', 'apps', 'volumes']);
    expect(serializePodManifest(parsePodManifest(JSON.parse(p)))).toBe(p);
  });
  it('canonicalJson sorts keys at every level', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: undefined, A: 'x' })).toBe(
      '{"A":"x","b":[{"c":2,"d":1}]}',
    );
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
  });
  it('serialising an invalid manifest throws', () => {
    expect(() => serializeImageManifest({ acKind: 'ImageManifest' })).toThrow(SchemaError);
  });
  it('detectManifestKind', () => {
    expect(detectManifestKind(IMAGE)).toBe('ImageManifest');
    expect(detectManifestKind({ acKind: 'PodManifest' })).toBe('PodManifest');
    expect(detectManifestKind({ acKind: 'podmanifest' })).toBeUndefined();
    expect(detectManifestKind([])).toBeUndefined();
  });
});

describe('helpers', () => {
  it('isImageId', () => {
    expect(isImageId(FULL)).toBe(true);
    expect(isImageId('sha512-abc')).toBe(false);
    expect(isImageId('sha512-abc', { full: false })).toBe(true);
  });
  it('parseSemver and parseUuid throw SchemaError', () => {
    expect(parseSemver('0.8.11-rc.1+g').preRelease).toBe('rc.1');
    expect(() => parseSemver('1.2')).toThrow(SchemaError);
    // TYPES-005: a number beyond exact integers is not a version whose parts can be compared
    expect(() => parseSemver('99999999999999999999.0.0')).toThrow(SchemaError);
    expect(parseSemver('9007199254740991.0.1')).toMatchObject({
      major: 9007199254740991,
      minor: 0,
      patch: 1,
    });
    expect(parseUuid('6733C088A5074694AABFEDBE4FC5266F')).toBe('6733c088-a507-4694-aabf-edbe4fc5266f');
    expect(() => parseUuid('x')).toThrow(SchemaError);
  });
  it('quantities are exact bigints (TYPES-017)', () => {
    expect(parseResourceQuantity('1.5Gi').toBytes()).toBe(1610612736n);
    expect(parseResourceQuantity('12E').toBytes()).toBe(12_000_000_000_000_000_000n);
    expect(parseResourceQuantity('0.3').toMillis()).toBe(300n);
    expect(parseResourceQuantity(0.5).toBytes()).toBe(1n);
    expect(() => parseResourceQuantity('1e1000')).toThrow(SchemaError);
  });
  it('parseIsolatorValue gives typed values', () => {
    const mem = parseIsolatorValue({ name: 'resource/memory', value: { request: '1Gi', limit: 2147483648 } });
    expect(mem).toMatchObject({ kind: 'resource', unit: 'bytes', request: 1073741824n, limit: 2147483648n });
    const cpu = parseIsolatorValue({ name: 'resource/cpu', value: { limit: '250m' } });
    expect(cpu).toMatchObject({ kind: 'resource', unit: 'millicores', limit: 250n });
    expect(parseIsolatorValue({ name: 'example.com/x', value: 1 })).toEqual({
      kind: 'unknown',
      name: 'example.com/x',
      value: 1,
    });
    expect(() => parseIsolatorValue({ name: 'os/linux/no-new-privileges', value: 'yes' })).toThrow(
      SchemaError,
    );
  });
  it('os/arch table, registration and host mapping (TYPES-010, TYPES-011)', () => {
    expect(Object.isFrozen(OS_ARCH)).toBe(true);
    expect(isValidOsArch('linux', 'riscv64')).toBe(false);
    expect(
      validateImageManifest(
        { ...IMAGE, labels: [{ name: 'os', value: 'plan9' }] },
        { osArch: { plan9: ['386'] } },
      ),
    ).toEqual([]);
    registerOsArch('linux', ['riscv64']);
    expect(isValidOsArch('linux', 'riscv64')).toBe(true);
    const h = hostOsArch();
    expect(typeof h.os).toBe('string');
    expect(hostOsArch('linux', 'x64')).toEqual({ os: 'linux', arch: 'amd64' });
  });
  it('pod templates (POD-010)', () => {
    const t = {
      acVersion: '0.8.11',
      acKind: 'PodManifest',
      apps: [{ name: 'a', image: { name: 'example.com/a' } }],
    };
    expect(validatePodManifest(t).map((i) => i.code)).toEqual(['ERR_SCHEMA_REQUIRED']);
    expect(validatePodManifest(t, { template: true })).toEqual([]);
  });
});
