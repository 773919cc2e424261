// `appc status --wait-ready` over pod records as a runner writes them (ACE-016): no root needed, the records are
// written here; the runner's side (NOTIFY_SOCKET, READY=1 forwarded by runc) is tested in @appc/runtime-linux.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PodRecord, writePodRecord } from '@appc/runtime-linux';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appc } from './helpers.ts';

let dir: string;
const self = () => {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return { pid: process.pid, startTime: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string };
};
const record = (uuid: string, over: Partial<PodRecord>): PodRecord => ({
  uuid,
  state: 'running',
  createdAt: new Date().toISOString(),
  net: 'none',
  owner: self(),
  apps: [
    { name: 'db', imageId: `sha512-${'a'.repeat(128)}`, imageName: 'example.com/db', notify: true },
    { name: 'web', imageId: `sha512-${'b'.repeat(128)}`, imageName: 'example.com/web' },
  ],
  ...over,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appc-status-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('appc status --wait-ready (ACE-016)', () => {
  it('waits for READY=1 of every app that reports readiness, and says so in --json', async () => {
    const uuid = '6f2a1d3e-0000-4000-8000-000000000001';
    const r = record(uuid, {});
    await writePodRecord(dir, r);
    const waiting = appc(['--dir', dir, 'status', '--wait-ready', '--json', uuid]);
    await new Promise((res) => setTimeout(res, 300));
    (r.apps[0] as PodRecord['apps'][number]).ready = true;
    await writePodRecord(dir, r);
    const done = await waiting;
    expect(done.code, done.err).toBe(0);
    const json = JSON.parse(done.out);
    expect(json).toMatchObject({ uuid, state: 'running', ready: true });
    expect(json.apps[0]).toMatchObject({ name: 'db', ready: true });
    expect(json.apps[1]).not.toHaveProperty('ready');
  });

  it('gives up after --timeout (exit 1), and a pod that ended first was never ready (exit 1)', async () => {
    const waitingUuid = '6f2a1d3e-0000-4000-8000-000000000002';
    await writePodRecord(dir, record(waitingUuid, {}));
    const late = await appc(['--dir', dir, 'status', '--wait-ready', '--timeout', '200ms', waitingUuid]);
    expect(late.code).toBe(1);
    expect(late.out).toContain('ready=false');
    expect(late.err).toContain('still not ready after 200ms');
    const endedUuid = '6f2a1d3e-0000-4000-8000-000000000003';
    await writePodRecord(dir, record(endedUuid, { state: 'exited' }));
    const ended = await appc(['--dir', dir, 'status', '--wait-ready', endedUuid]);
    expect(ended.code).toBe(1);
    expect(ended.err).toContain('is exited and was never ready');
    // a pod none of whose apps reports readiness is ready once it runs
    const plainUuid = '6f2a1d3e-0000-4000-8000-000000000004';
    const plain = record(plainUuid, {});
    for (const a of plain.apps) delete a.notify;
    await writePodRecord(dir, plain);
    const now = await appc(['--dir', dir, 'status', '--wait-ready', '--timeout', '5s', plainUuid]);
    expect(now.code, now.err).toBe(0);
    expect(now.out).toContain('ready=true');
    expect((await appc(['--dir', dir, 'status', '--timeout', 'soon', plainUuid])).code).toBe(2);
  });
});
