// The default pod network from the real CNI plugins (ptp, host-local, portmap) on a real network namespace.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPodNetwork, removePodNetwork } from '../src/cni.ts';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const NS = `appc-cni-test-${process.pid}`;
let dir: string;

function veths(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth']).toString().split('\n').filter(Boolean);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appc-cni-'));
  if (isRoot) execFileSync('ip', ['netns', 'add', NS]);
});

afterAll(async () => {
  if (isRoot) spawnSync('ip', ['netns', 'delete', NS]);
  await rm(dir, { recursive: true, force: true });
});

describe('CNI default network (ACE-008)', () => {
  it('gives the namespace an address, a route to the host, a forwarded port; removes all of it', {
    tags: ['root'],
  }, async () => {
    const before = veths().length;
    const options = {
      containerId: '6f1c2a7e-4b3d-4c5e-9f10-112233445566',
      netns: `/var/run/netns/${NS}`,
      ipamDataDir: join(dir, 'ipam'),
      subnet: '172.31.254.0/28',
      ports: [{ hostPort: 41234, containerPort: 80, protocol: 'tcp' as const }],
    };
    const net = await addPodNetwork(options);
    expect(net.address).toMatch(/^172\.31\.254\.\d+$/);
    expect(net.gateway).toMatch(/^172\.31\.254\.\d+$/);
    const addr = execFileSync('ip', [
      'netns',
      'exec',
      NS,
      'ip',
      '-o',
      '-4',
      'addr',
      'show',
      'eth0',
    ]).toString();
    expect(addr).toContain(`${net.address}/`);
    // a server on the host side of the link answers a client inside the pod (where the metadata service listens)
    const server = createServer((s) => s.end('host side\n'));
    await new Promise<void>((resolve) => server.listen(0, net.gateway, resolve));
    const { port } = server.address() as AddressInfo;
    const client = `require('net').connect(${port}, '${net.gateway}').on('data', (d) => process.stdout.write(d))`;
    // (a child run asynchronously: this process's loop must stay free to accept)
    const got = await run('ip', ['netns', 'exec', NS, process.execPath, '-e', client], { timeout: 10_000 });
    server.close();
    expect(got.stdout).toBe('host side\n');
    const rules = execFileSync('iptables', ['-t', 'nat', '-S']).toString();
    expect(rules).toContain('41234');
    expect(veths().length).toBe(before + 1);

    await removePodNetwork(options);
    expect(veths().length).toBe(before);
    expect(execFileSync('iptables', ['-t', 'nat', '-S']).toString()).not.toContain('41234');
    const leases = await readdir(join(dir, 'ipam', 'appc-default')).catch(() => []);
    expect(leases.filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))).toEqual([]);
    await removePodNetwork(options); // again: nothing left to do, no error
  });

  it('names the plugin when it cannot run', async () => {
    await expect(
      addPodNetwork({
        containerId: 'x',
        netns: '/nonexistent',
        ipamDataDir: join(dir, 'i2'),
        cniPath: join(dir, 'no-plugins'),
      }),
    ).rejects.toMatchObject({ code: 'ERR_RUN_NETWORK' });
  });
});
