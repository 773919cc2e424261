import { loadVectors } from '@appc/vectors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Issue } from './errors.ts';
import { validateImageManifest } from './image-manifest.ts';
import { parseJson } from './json.ts';
import { jsonSchemaText, validateWithJsonSchema } from './json-schema.ts';
import { validatePodManifest } from './pod-manifest.ts';

type Kind = 'ImageManifest' | 'PodManifest';

/** Rules the JSON Schemas cannot express (see the TSDoc of JsonSchema); a document whose only errors are
 * these is left out of the agreement check, with this reason. */
function notExpressible(i: Issue): string | undefined {
  if (i.code === 'ERR_SCHEMA_DUPLICATE_NAME') return 'uniqueness of names by key';
  if (i.code === 'ERR_SCHEMA_VOLUME_UNDECLARED') return 'mount volume declared in volumes';
  if (i.code === 'ERR_SCHEMA_PORT_UNDECLARED') return 'exposed port named by an app';
  if (i.code === 'ERR_SCHEMA_PORT' && i.message.includes('end above 65535'))
    return 'port + count - 1 <= 65535';
  return undefined;
}

function tsVerdict(kind: Kind, doc: unknown): { valid: boolean; skip?: string } {
  const issues = (kind === 'ImageManifest' ? validateImageManifest(doc) : validatePodManifest(doc)).filter(
    (i) => i.severity !== 'warning',
  );
  if (issues.length === 0) return { valid: true };
  const reasons = issues.map(notExpressible);
  if (reasons.every((r) => r !== undefined)) return { valid: false, skip: [...new Set(reasons)].join(', ') };
  return { valid: false };
}

function agree(kind: Kind, doc: unknown): string | undefined {
  const ts = tsVerdict(kind, doc);
  if (ts.skip) return ts.skip;
  const schemaIssues = validateWithJsonSchema(kind, doc);
  expect(
    schemaIssues.length === 0,
    `TypeScript says ${ts.valid ? 'valid' : 'invalid'}; JSON Schema: ${JSON.stringify(schemaIssues)}; doc ${JSON.stringify(doc)}`,
  ).toBe(ts.valid);
  return undefined;
}

describe('published JSON Schemas', () => {
  it('json-schema/image-manifest.json is generated from the source', async () => {
    await expect(jsonSchemaText('ImageManifest')).toMatchFileSnapshot('../json-schema/image-manifest.json');
  });
  it('json-schema/pod-manifest.json is generated from the source', async () => {
    await expect(jsonSchemaText('PodManifest')).toMatchFileSnapshot('../json-schema/pod-manifest.json');
  });
  it('reports issues with pointers and the keyword', () => {
    const issues = validateWithJsonSchema('ImageManifest', {
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      name: 'A',
    });
    expect(issues[0]).toMatchObject({ code: 'ERR_SCHEMA_JSON_SCHEMA', pointer: '/name' });
    expect(issues[0]?.message).toContain('pattern');
    expect(validateWithJsonSchema('PodManifest', 'not an object')).not.toEqual([]);
  });
});

describe('JSON Schemas and TypeScript validators agree', async () => {
  const vectors = [
    ...(await loadVectors('img')),
    ...(await loadVectors('pod')),
    ...(await loadVectors('iso')),
  ].filter(
    (v) =>
      (v.input.kind === 'ImageManifest' || v.input.kind === 'PodManifest') && v.input.options === undefined,
  );
  const skipped: string[] = [];
  for (const v of vectors) {
    it(`${v.id}`, () => {
      let doc: unknown = v.input.manifest;
      if (typeof v.input.json === 'string') {
        try {
          doc = parseJson(v.input.json);
        } catch {
          return; // not JSON: nothing for a JSON Schema to judge
        }
      }
      const reason = agree(v.input.kind as Kind, doc);
      if (reason) skipped.push(`${v.id}: ${reason}`);
    });
  }
  it('leaves out only documents whose errors no JSON Schema can express', () => {
    for (const s of skipped)
      expect(s).toMatch(
        /uniqueness of names by key|port \+ count|mount volume declared in volumes|exposed port named by an app/,
      );
  });

  const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
  const quantity = pick<unknown>('1G', '500m', '1.5Gi', '0.3', 2, '1e3', ' 1 ', 'x', '', '-1', '1KiB', null);
  const isolator = fc.oneof(
    fc.record({
      name: pick('resource/memory', 'resource/cpu'),
      value: fc.record({ request: quantity, limit: quantity }, { requiredKeys: [] }),
    }),
    fc.record({
      name: pick('resource/block-iops', 'resource/network-bandwidth'),
      value: fc.record({ default: pick(true, false), limit: quantity }, { requiredKeys: [] }),
    }),
    fc.record({ name: pick('os/linux/no-new-privileges'), value: pick<unknown>(true, false, 'yes') }),
    fc.record({
      name: pick('os/linux/seccomp-remove-set', 'os/linux/seccomp-retain-set'),
      value: fc.record(
        { set: pick([], ['reboot'], ['@appc.io/all']), errno: pick('', 'EPERM', 'eperm') },
        { requiredKeys: ['set'] },
      ),
    }),
    fc.record({
      name: pick('os/linux/capabilities-retain-set', 'os/linux/capabilities-remove-set'),
      value: fc.record({ set: pick([], ['CAP_KILL']) }),
    }),
    fc.record({
      name: pick('os/linux/cpu-shares', 'os/linux/oom-score-adj'),
      value: pick<unknown>(1, 2, 1024, -1000, 5000, '3'),
    }),
    fc.record({
      name: pick('os/linux/selinux-context'),
      value: fc.record(
        { user: pick('u', '', 'a:b'), role: pick('r'), type: pick('t'), level: pick('s0', 's0:c1', '') },
        { requiredKeys: ['user', 'role', 'level'] },
      ),
    }),
    fc.record({ name: pick('os/unix/sysctl'), value: pick<unknown>({}, { 'net.x': '1' }, { 'net.x': 1 }) }),
    fc.record({ name: pick('example.com/unknown', 'Bad Name'), value: pick<unknown>(1, {}) }),
    fc.record({ name: pick('resource/memory') }),
  );
  const label = fc.record({
    name: pick('os', 'arch', 'version', 'name', 'Os'),
    value: pick('linux', 'amd64', 'darwin', 'x86_64', 'freebsd', 'arm', '1.0', ''),
  });
  const nameValue = (names: string[], values: unknown[]) =>
    fc.record({ name: pick(...names), value: pick(...values) });
  const port = fc.record(
    {
      name: pick('http', 'Bad', 'dns'),
      protocol: pick('tcp', ''),
      port: pick<unknown>(80, 0, 65535, 70000, '80'),
      count: pick(1, 0, 10),
      socketActivated: pick<unknown>(true, 'no'),
    },
    { requiredKeys: ['name', 'protocol', 'port'] },
  );
  const app = fc.record(
    {
      exec: pick<unknown>(['/bin/a'], [], null, 'a', [1]),
      user: pick<unknown>('0', '', 1),
      group: pick('0', 'root', ''),
      supplementaryGIDs: pick<unknown>([1], [-1], null),
      supplementaryGids: pick<unknown>([2], [-2]),
      eventHandlers: fc.array(
        fc.record(
          { name: pick('pre-start', 'post-stop', 'bad'), exec: pick<unknown>(['/a'], 'x') },
          { requiredKeys: ['name'] },
        ),
        { maxLength: 3 },
      ),
      workingDirectory: pick<unknown>('/', '/a', 'rel', '', null),
      environment: fc.array(nameValue(['A', 'B', '0X', 'a.b'], ['v', null, 1]), { maxLength: 3 }),
      isolators: fc.array(isolator, { maxLength: 3 }),
      mountPoints: fc.array(
        fc.record(
          { name: pick('data', 'Data'), path: pick('/d', 'd'), readOnly: pick<unknown>(true, 'x') },
          { requiredKeys: ['name'] },
        ),
        { maxLength: 2 },
      ),
      ports: fc.array(port, { maxLength: 2 }),
      userAnnotations: pick<unknown>({ a: 'b' }, { a: 1 }, null),
      userLabels: pick<unknown>({}, [], 'x'),
    },
    { requiredKeys: [] },
  );
  const annotations = fc.array(
    nameValue(
      ['created', 'homepage', 'documentation', 'authors', 'example.com/x', 'Bad', 'ip-address'],
      ['2016-01-01T00:00:00Z', '2016-13-01T00:00:00Z', 'https://example.com', 'ftp://x', 'x', 1],
    ),
    { maxLength: 3 },
  );
  const image = fc.record(
    {
      acKind: pick<unknown>('ImageManifest', 'PodManifest', 'x'),
      acVersion: pick<unknown>(
        '0.8.11',
        '0.1.0',
        '0.9.0',
        '1.0.0',
        'v1',
        '0.0.0',
        '0.8.11-rc.1',
        '0.8.12-rc.1',
        0.8,
      ),
      name: pick<unknown>('example.com/app', 'a', 'Bad', 'a--b', '', 3),
      labels: fc.array(label, { maxLength: 3 }),
      app: fc.oneof(app, pick(null, 'x')),
      dependencies: fc.array(
        fc.record(
          {
            imageName: pick('example.com/base', 'Bad'),
            imageID: pick('sha512-abc', 'sha256-abc', '', 'sha512-'),
            size: pick<unknown>(0, 10, -1, 1.5),
            labels: fc.array(label, { maxLength: 2 }),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
      pathWhitelist: pick<unknown>(['/a'], ['a'], [], null, [1]),
      annotations,
    },
    { requiredKeys: ['acKind', 'acVersion', 'name'] },
  );
  const volume = fc.record(
    {
      name: pick('data', 'Data'),
      kind: pick('host', 'empty', 'tmpfs'),
      source: pick('/srv', 'srv'),
      readOnly: pick<unknown>(true, 'x'),
      mode: pick<unknown>('0755', '999', 7),
      uid: pick<unknown>(0, -1, 'x'),
      recursive: pick<unknown>(true, 'x'),
    },
    { requiredKeys: ['name'] },
  );
  const podApp = fc.record(
    {
      name: pick('a', 'b', 'Bad'),
      image: fc.oneof(
        fc.record(
          {
            id: pick('sha512-abc', 'sha256-x', ''),
            name: pick('example.com/a', 'Bad'),
            labels: fc.array(label, { maxLength: 2 }),
          },
          { requiredKeys: [] },
        ),
        pick(null, 'x'),
      ),
      app: fc.oneof(app, pick(null)),
      readOnlyRootFS: pick<unknown>(true, 'x'),
      mounts: fc.array(
        fc.record(
          { volume: pick('data', 'Data'), path: pick('/d', ''), appVolume: volume },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
      annotations,
    },
    { requiredKeys: ['name', 'image'] },
  );
  const pod = fc.record(
    {
      acVersion: pick<unknown>('0.8.11', '0.9.0', '1.0.0'),
      acKind: pick<unknown>('PodManifest', 'ImageManifest'),
      apps: fc.array(podApp, { maxLength: 3 }),
      volumes: fc.array(volume, { maxLength: 2 }),
      isolators: fc.array(isolator, { maxLength: 3 }),
      annotations,
      ports: fc.array(
        fc.record(
          {
            name: pick('http', 'Bad'),
            hostPort: pick<unknown>(80, 0, 70000),
            hostIP: pick<unknown>('127.0.0.1', '::1', 'localhost', '', null),
            podPort: port,
          },
          { requiredKeys: ['name'] },
        ),
        { maxLength: 2 },
      ),
      userAnnotations: pick<unknown>({ a: 'b' }, { a: 1 }),
      userLabels: pick<unknown>({ a: 'b' }),
    },
    { requiredKeys: ['acVersion', 'acKind'] },
  );

  it('on random image manifests', () => {
    let judged = 0;
    let valid = 0;
    fc.assert(
      fc.property(image, (doc) => {
        if (agree('ImageManifest', doc) === undefined) judged++;
        if (tsVerdict('ImageManifest', doc).valid) valid++;
      }),
      { numRuns: 400, seed: 20240601 },
    );
    expect(judged).toBeGreaterThan(200);
    expect(valid).toBeGreaterThan(0);
  });

  it('on random image manifests biased towards valid ones', () => {
    const good = fc.record({
      acKind: pick('ImageManifest'),
      acVersion: pick('0.8.11'),
      name: pick('example.com/app'),
      app: fc.record({
        exec: pick(['/a']),
        user: pick('0'),
        group: pick('0'),
        isolators: fc.array(isolator, { maxLength: 2 }),
        ports: fc.array(port, { maxLength: 1 }),
      }),
      labels: fc.array(label, { maxLength: 2 }),
    });
    let valid = 0;
    fc.assert(
      fc.property(good, (doc) => {
        agree('ImageManifest', doc);
        if (tsVerdict('ImageManifest', doc).valid) valid++;
      }),
      { numRuns: 300, seed: 7 },
    );
    expect(valid).toBeGreaterThan(10);
  });

  it('on random pod manifests', () => {
    let judged = 0;
    fc.assert(
      fc.property(pod, (doc) => {
        if (agree('PodManifest', doc) === undefined) judged++;
      }),
      { numRuns: 300, seed: 99 },
    );
    expect(judged).toBeGreaterThan(100);
  });
});
