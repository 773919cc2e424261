import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectHostFeatures, usesBlockDevices } from './host-features.ts';

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
});
