// The examples' scripts, run as a user runs them (after the build), so that they keep working.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../../..');
const built = existsSync(resolve(repo, 'packages/cli/dist/appc.cjs'));
const isRoot = process.getuid?.() === 0;

describe('examples/host-program', () => {
  it("makes an image of the host's sh and curl that runs as a pod and reaches the metadata service", {
    tags: ['root'],
    skip: !built || !isRoot,
  }, () => {
    const r = spawnSync('bash', [resolve(repo, 'examples/host-program/run.sh')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('== appc validate\nvalid\n');
    const uuid = readFileSync(resolve(repo, '.tmp/host-program/uuid'), 'utf8').trim();
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // the app printed the UUID the metadata service gave it: the pod's own
    expect(r.stdout).toContain(`(the app: curl -s $AC_METADATA_URL/acMetadata/v1/pod/uuid)\n${uuid}\n`);
  });
});
