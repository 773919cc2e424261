import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSandboxRoot } from '../src/pod.ts';
import { gcPods } from '../src/pod-runner.ts';
import { currentOwner, listPods, type PodRecord, podDir, writePodRecord } from '../src/pods.ts';
import { isRunning } from '../src/runc.ts';
import { sandboxProcessFile, startSandboxProcess } from '../src/sandbox.ts';
import { tempDir } from './support.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const hour = 3_600_000;
const now = new Date('2026-11-29T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

function record(uuid: string, fields: Partial<PodRecord>): PodRecord {
  return { uuid, state: 'prepared', createdAt: ago(0), net: 'none', apps: [], ...fields };
}

describe('gcPods: what stays and what goes', () => {
  it('removes prepared pods never run once they expire (24 h by default), exited ones after the grace period', async () => {
    const state = await tempDir('appc-gc-');
    dirs.push(state);
    const pods = {
      oldPrepared: record('00000000-0000-4000-8000-000000000001', { createdAt: ago(25 * hour) }),
      newPrepared: record('00000000-0000-4000-8000-000000000002', { createdAt: ago(1 * hour) }),
      // run-prepared is starting it: this process owns it
      starting: record('00000000-0000-4000-8000-000000000003', {
        createdAt: ago(48 * hour),
        owner: await currentOwner(),
      }),
      oldExited: record('00000000-0000-4000-8000-000000000004', {
        state: 'exited',
        createdAt: ago(2 * hour),
        finishedAt: ago(1 * hour),
      }),
      newExited: record('00000000-0000-4000-8000-000000000005', {
        state: 'exited',
        createdAt: ago(2 * hour),
        finishedAt: ago(60_000),
      }),
    };
    for (const p of Object.values(pods)) await writePodRecord(state, p);
    // --mark-only: nothing goes
    const marked = await gcPods(state, { now, cleanOnly: true });
    expect(marked.removed).toEqual([]);
    expect((await listPods(state)).length).toBe(5);
    const report = await gcPods(state, { now });
    expect(report.removed.sort()).toEqual([pods.oldPrepared.uuid, pods.oldExited.uuid].sort());
    const left = (await listPods(state)).map((p) => p.uuid).sort();
    expect(left).toEqual([pods.newPrepared.uuid, pods.starting.uuid, pods.newExited.uuid].sort());
    // a shorter expiry takes the younger prepared pod too; one being started is never taken
    const sooner = await gcPods(state, { now, expirePreparedMs: 30 * 60_000, gracePeriodMs: hour });
    expect(sooner.removed).toEqual([pods.newPrepared.uuid]);
  });
});

const canSandbox =
  process.getuid?.() === 0 && existsSync('/usr/bin/catatonit') && existsSync('/usr/bin/socat');

/** Host PIDs whose command line names `arg`, zombies left out. */
function processesNaming(arg: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(arg);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!canSandbox)('gcPods after a runner killed as its sandbox started (root)', () => {
  it('ends a sandbox never recorded: catatonit, unshare and the metadata forwarder go (ACE-003, META-001)', {
    tags: ['root'],
  }, async () => {
    const state = await tempDir('appc-gc-sandbox-');
    dirs.push(state);
    const uuid = randomUUID();
    const runtime = join(podDir(state, uuid), 'runtime');
    const root = await makeSandboxRoot(runtime);
    const sandbox = await startSandboxProcess({
      dir: runtime,
      root,
      hostname: 'gc-test',
      hostNetwork: false,
      forward: { socket: join(podDir(state, uuid), 'mds.sock'), port: 18112 },
    });
    // the runner died before it wrote the sandbox's PID down; its record names an owner that is gone
    await rm(sandboxProcessFile(runtime));
    await writePodRecord(
      state,
      record(uuid, { state: 'prepared', owner: { pid: 2 ** 22 + 1, startTime: '1' } }),
    );
    expect(processesNaming(root).length).toBeGreaterThan(0);
    const report = await gcPods(state, { gracePeriodMs: 0 });
    expect(report.cleaned).toEqual([uuid]);
    expect(report.removed).toEqual([uuid]);
    expect(await isRunning(sandbox)).toBe(false);
    expect(processesNaming(root)).toEqual([]);
    expect(processesNaming(join(podDir(state, uuid), 'mds.sock'))).toEqual([]);
  });
});
