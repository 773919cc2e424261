// appc run on the unified cgroup hierarchy (cgroup v2 only, as on Debian 12 and other current distributions; root
// only). This machine mounts the v1 hierarchies with the v2 one beside them at /sys/fs/cgroup/unified, so the built
// CLI runs in a mount namespace of its own where that hierarchy is bound over /sys/fs/cgroup: runc, and appc, then
// see a v2-only host. Its root offers few controllers (memory and cpu stay with v1), as in a container whose
// cgroup was not delegated them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostOsArch } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appc, type Run } from './helpers.ts';

const isRoot = process.getuid?.() === 0;
const BIN = resolve(import.meta.dirname, '../dist/appc.cjs');
// the v2 hierarchy of a hybrid host; a host that is v2 already, or v1 only, has none to bind
const V2 = '/sys/fs/cgroup/unified';
const hybrid = existsSync(join(V2, 'cgroup.controllers')) && !existsSync('/sys/fs/cgroup/cgroup.controllers');
let work: string;
let g: string[];
let aci: string;

/** The built CLI, with the v2 hierarchy as /sys/fs/cgroup. */
function appcOnV2(args: string[]): { done: Promise<Run>; child: ReturnType<typeof spawn> } {
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$1" /sys/fs/cgroup && shift && exec "$@"',
      'sh',
      V2,
      process.execPath,
      BIN,
      ...g,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return {
    child,
    done: new Promise((r) =>
      child.once('close', (code, signal) => r({ code: code ?? (signal ? -1 : -2), out, err })),
    ),
  };
}

/** Runs the pod of pod.json (its app sleeps) on the v2 hierarchy; resolves once its app's cgroup has a process, with
 * the pod's cgroup (empty when it never came up, which the caller's checks then report). */
async function runPodOnV2(uuidFile: string): Promise<{ run: ReturnType<typeof appcOnV2>; cgroup: string }> {
  const run = appcOnV2([
    'run',
    '--net=none',
    '--uuid-file-save',
    uuidFile,
    '--pod-manifest',
    join(work, 'pod.json'),
  ]);
  let cgroup = '';
  for (let i = 0; i < 150 && !(cgroup && existsSync(join(cgroup, 'box', 'cgroup.procs'))); i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (existsSync(uuidFile)) cgroup = join(V2, `appc-${(await readFile(uuidFile, 'utf8')).trim()}`);
  }
  return { run, cgroup };
}

const podCgroups = () => readdirSync(V2).filter((n) => n.startsWith('appc-'));
const lines = (file: string) => readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).sort();

beforeAll(async () => {
  if (!isRoot || !hybrid) return;
  work = await mkdtemp(join(tmpdir(), 'appc-cgroup-v2-'));
  g = ['--dir', join(work, 'state'), '--local-config', join(work, 'config')];
  const rootfs = join(work, 'layout', 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const a of ['sh', 'sleep', 'true']) await symlink('busybox', join(rootfs, 'bin', a));
  const { os, arch } = hostOsArch();
  await writeFile(
    join(work, 'layout', 'manifest'),
    JSON.stringify({
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      name: 'example.com/box',
      labels: [
        { name: 'version', value: '1' },
        { name: 'os', value: os },
        { name: 'arch', value: arch },
      ],
      app: { exec: ['/bin/true'], user: '0', group: '0' },
    }),
  );
  aci = join(work, 'box.aci');
  const b = await appc(['build', join(work, 'layout'), aci]);
  expect(b.code, b.err).toBe(0);
  const f = await appc([...g, 'fetch', '--insecure-options=image', aci]);
  expect(f.code, f.err).toBe(0);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('appc run on a cgroup v2 host (ACE-017, ISO-001)', () => {
  it.skipIf(!isRoot || !hybrid)(
    'a limit whose controller the host does not offer is reported ignored, or refused with --strict; nothing is left',
    { tags: ['root'] },
    async () => {
      expect(existsSync(BIN), 'the CLI is built').toBe(true);
      const before = podCgroups();
      const limits = ['--memory', '64M', '--cpu', '500m'];
      const ran = await appcOnV2(['run', '--net=none', '--insecure-options=image', aci, ...limits]).done;
      expect(ran.code, ran.err).toBe(0);
      expect(ran.err).toContain(
        "warning: app box: isolator resource/memory ignored: this host's cgroups have no memory controller, so nothing limits it: /sys/fs/cgroup/cgroup.controllers does not list it",
      );
      expect(ran.err).toContain('isolator resource/cpu ignored');
      const strict = await appcOnV2([
        'run',
        '--strict',
        '--net=none',
        '--insecure-options=image',
        aci,
        ...limits,
      ]).done;
      expect(strict.code).toBe(1);
      expect(strict.err).toMatch(
        /strict mode: 2 isolators are not enforced as written.*\[ERR_RUN_STRICT, ISO-003\]/,
      );
      expect(podCgroups()).toEqual(before);
    },
  );

  it.skipIf(!isRoot || !hybrid)(
    "a pod with pod isolators: its cgroup holds no process, so each app's cgroup gets the controllers",
    { tags: ['root'] },
    async () => {
      const dry = await appc([
        ...g,
        'run',
        '--dry-run',
        '--net=none',
        '--insecure-options=image',
        aci,
        '--exec',
        '/bin/sleep',
        '--',
        '30',
      ]);
      expect(dry.code, dry.err).toBe(0);
      const pod = JSON.parse(dry.out);
      // a pod isolator puts the sandbox in a runc container, in the pod's cgroup
      pod.isolators = [{ name: 'os/unix/sysctl', value: { 'net.ipv4.ip_forward': '0' } }];
      await writeFile(join(work, 'pod.json'), JSON.stringify(pod));
      const uuidFile = join(work, 'uuid');
      const { run, cgroup } = await runPodOnV2(uuidFile);
      try {
        expect(existsSync(join(cgroup, 'box', 'cgroup.procs')), 'the app is running').toBe(true);
        // catatonit in a leaf of its own, the app in its cgroup, none in the pod's
        expect(lines(join(cgroup, 'cgroup.procs'))).toEqual([]);
        expect(lines(join(cgroup, '_sandbox', 'cgroup.procs'))).toHaveLength(1);
        expect(lines(join(cgroup, 'box', 'cgroup.procs')).length).toBeGreaterThan(0);
        // every controller the pod's cgroup has reaches the app's (without the move runc could enable none there)
        expect(lines(join(cgroup, 'box', 'cgroup.controllers'))).toEqual(
          lines(join(cgroup, 'cgroup.controllers')),
        );
        expect(lines(join(cgroup, 'cgroup.subtree_control'))).toEqual(
          lines(join(cgroup, 'cgroup.controllers')),
        );
      } finally {
        // stopped however the checks went, so that no pod outlives the test
        const stopped = await appc([...g, 'stop', (await readFile(uuidFile, 'utf8').catch(() => '')).trim()]);
        expect(stopped.code, stopped.err).toBe(0);
      }
      const ended = await run.done;
      expect(ended.code, ended.err).toBe(143);
      expect(existsSync(cgroup)).toBe(false);
    },
  );

  it.skipIf(!isRoot || !hybrid)(
    'kill -9 of appc run, then appc gc: the pod cgroup, the sandbox leaf and the runc containers go',
    { tags: ['root'] },
    async () => {
      // unshare and sh exec into node: the PID spawned is the CLI's own
      const uuidFile = join(work, 'uuid-kill');
      const { run, cgroup } = await runPodOnV2(uuidFile);
      expect(existsSync(join(cgroup, '_sandbox')), 'the pod runs, its sandbox in its leaf').toBe(true);
      run.child.kill('SIGKILL');
      expect((await run.done).code).toBe(-1);
      const uuid = (await readFile(uuidFile, 'utf8')).trim();
      expect(existsSync(cgroup), 'what the killed run left').toBe(true);
      const gc = await appcOnV2(['gc', '--grace-period', '0s']).done;
      expect(gc.code, gc.err).toBe(0);
      expect(gc.out).toContain(uuid);
      expect(existsSync(cgroup)).toBe(false);
      const runcRoot = join(work, 'state', 'runc');
      const left = spawnSync('runc', ['--root', runcRoot, 'list', '-q']).stdout.toString().trim();
      expect(left).toBe('');
      expect(podCgroups()).toEqual([]);
    },
  );
});
