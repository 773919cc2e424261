// The flags rkt users typed on the pod commands that print or name pods: --format, --uuid-file, cat-manifest of a
// pod, gc's --expire-prepared and --mark-only (the last two need root: gc does).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podDir, writePodRecord } from '@appc/runtime-linux';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appc } from './helpers.ts';

let state: string;
const uuid = '5f0e7d1c-3b2a-4c9d-8e7f-0123456789ab';
const isRoot = process.getuid?.() === 0;

beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), 'appc-rkt-flags-'));
  await writePodRecord(state, {
    uuid,
    name: 'later',
    state: 'prepared',
    createdAt: new Date(Date.now() - 2 * 86_400_000).toISOString(),
    net: 'none',
    apps: [{ name: 'app', imageId: `sha512-${'a'.repeat(128)}`, imageName: 'example.com/app' }],
  });
  await writeFile(
    join(podDir(state, uuid), 'pod-manifest.json'),
    '{"acVersion":"0.8.11","acKind":"PodManifest","apps":[]}',
  );
  await writeFile(join(state, 'uuid'), `${uuid}\n`);
});
afterAll(() => rm(state, { recursive: true, force: true }));

describe("rkt's flags on the pod commands", () => {
  it('--format=json and json-pretty print what --json prints; another format is a usage error', async () => {
    const g = ['--dir', state];
    const json = await appc([...g, 'status', '--json', uuid]);
    expect(json.code, json.err).toBe(0);
    const flat = await appc([...g, 'status', '--format=json', uuid]);
    expect(flat.out).toBe(json.out);
    const pretty = await appc([...g, 'status', '--format', 'json-pretty', uuid]);
    expect(pretty.out).toBe(`${JSON.stringify(JSON.parse(json.out), null, 2)}\n`);
    expect((await appc([...g, 'list', '--format=json'])).out).toBe(
      (await appc([...g, 'list', '--json'])).out,
    );
    const bad = await appc([...g, 'list', '--format=yaml']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--format yaml: use json or json-pretty');
  });

  it('--uuid-file names the pod that --uuid-file-save wrote; a file without a UUID is a usage error', async () => {
    const g = ['--dir', state];
    const byFile = await appc([...g, 'status', '--json', '--uuid-file', join(state, 'uuid')]);
    expect(byFile.code, byFile.err).toBe(0);
    expect(JSON.parse(byFile.out).uuid).toBe(uuid);
    await writeFile(join(state, 'junk'), 'not a uuid\n');
    const junk = await appc([...g, 'status', '--uuid-file', join(state, 'junk')]);
    expect(junk.code).toBe(2);
    expect(junk.err).toContain('holds no pod UUID');
  });

  it('cat-manifest of a pod prints its pod manifest; of a missing file, the missing file', async () => {
    const g = ['--dir', state];
    const byName = await appc([...g, 'cat-manifest', 'later']);
    expect(byName.code, byName.err).toBe(0);
    expect(JSON.parse(byName.out).acKind).toBe('PodManifest');
    const pretty = await appc([...g, 'cat-manifest', '--pretty-print', '--uuid-file', join(state, 'uuid')]);
    expect(pretty.out).toContain('\n  "acKind": "PodManifest"');
    const missing = await appc([...g, 'cat-manifest', 'nothing-here.aci']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nothing-here.aci: no such file or directory');
  });

  it('gc removes a prepared pod never run after --expire-prepared; --mark-only removes nothing', {
    tags: ['root'],
    skip: !isRoot,
  }, async () => {
    const g = ['--dir', state];
    const kept = await appc([...g, 'gc', '--mark-only']);
    expect(kept.code, kept.err).toBe(0);
    expect(kept.out).toBe('');
    const twoDays = await appc([...g, 'gc', '--expire-prepared', '72h']);
    expect(twoDays.out).toBe('');
    const gone = await appc([...g, 'gc']);
    expect(gone.out).toBe(`${uuid}\n`);
    expect((await appc([...g, 'list', '--json'])).out).toBe('');
  });
});
