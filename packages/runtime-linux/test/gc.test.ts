import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { gcPods } from '../src/pod-runner.ts';
import { currentOwner, listPods, type PodRecord, writePodRecord } from '../src/pods.ts';
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
