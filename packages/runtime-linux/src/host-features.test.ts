import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cgroupV1Controllers, detectHostFeatures, usesBlockDevices } from './host-features.ts';

describe('host features (ISO-016, ISO-017)', () => {
  it('reads every whole block device of /sys/block, or none when no isolator throttles them', async () => {
    const all = await detectHostFeatures();
    const listed = readdirSync('/sys/block').sort();
    // each has its major:minor, in the order of its name
    expect(all.blockDevices.map((d) => d.name)).toEqual(
      listed.filter((n) => all.blockDevices.some((d) => d.name === n)),
    );
    for (const d of all.blockDevices)
      expect(Number.isInteger(d.major) && Number.isInteger(d.minor)).toBe(true);
    const none = await detectHostFeatures({ blockDevices: false });
    expect(none.blockDevices).toEqual([]);
    expect(none.cgroupV2).toBe(all.cgroupV2);
    expect(none.arch).toBe(all.arch);
  });

  it('knows which pods need the block devices: a pod or app block-bandwidth or block-iops isolator', () => {
    const iso = (name: string) => [{ name, value: { default: true, limit: '1M' } }];
    const app = (isolators?: ReturnType<typeof iso>) => ({
      name: 'a',
      image: { name: 'example.com/a' },
      ...(isolators ? { app: { user: '0', group: '0', isolators } } : {}),
    });
    expect(usesBlockDevices({ apps: [app(iso('resource/memory'))] })).toBe(false);
    expect(usesBlockDevices({ apps: [app()] })).toBe(false);
    expect(usesBlockDevices({ isolators: iso('resource/block-iops'), apps: [] })).toBe(true);
    expect(usesBlockDevices({ apps: [app(iso('resource/block-bandwidth'))] })).toBe(true);
  });

  it('names the cgroup controllers the pods can use: v1 hierarchies from mountinfo, or the v2 root list', async () => {
    const mountinfo = [
      '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
      '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory',
      '37 30 0:34 / /mnt/blk rw,relatime - cgroup none rw,noprefix,release_agent=/x,blkio',
      '39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
      '',
    ].join('\n');
    expect([...cgroupV1Controllers(mountinfo)].sort()).toEqual(['blkio', 'cpu', 'cpuacct', 'memory']);
    // this host's: what the detection says is what the kernel shows
    const host = await detectHostFeatures({ blockDevices: false });
    const want = host.cgroupV2
      ? readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).filter(Boolean)
      : [...cgroupV1Controllers(readFileSync('/proc/self/mountinfo', 'utf8'))];
    expect([...(host.cgroupControllers ?? [])].sort()).toEqual(want.sort());
    if (!host.cgroupV2 && existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes'))
      expect(host.cgroupControllers?.has('memory')).toBe(true);
  });
});
