import { hasCode, type Isolator, type PodManifest } from '@appc/schema';
import { describe, expect, it } from 'vitest';
import {
  MAX_SHAPED_RATE_BYTES_PER_SECOND,
  MIN_SHAPED_RATE_BYTES_PER_SECOND,
  MIN_SHAPING_BURST_BYTES,
  planNetworkBandwidth,
  shapingBurstBytes,
} from './network-bandwidth.ts';

const bw = (limit: string | number | undefined): Isolator => ({
  name: 'resource/network-bandwidth',
  value: limit === undefined ? { default: true } : { default: true, limit },
});

/** A reified pod's apps and isolators (only what the planner reads). */
function pod(
  apps: Record<string, Isolator[]>,
  isolators?: Isolator[],
): Pick<PodManifest, 'isolators' | 'apps'> {
  return {
    ...(isolators ? { isolators } : {}),
    apps: Object.entries(apps).map(([name, iso]) => ({
      name,
      image: { name: `example.com/${name}` },
      app: { exec: ['/bin/true'], user: '0', group: '0', ...(iso.length > 0 ? { isolators: iso } : {}) },
    })),
  };
}

describe('planNetworkBandwidth (ISO-018, ISO-001, ISO-003)', () => {
  it("the only app's limit shapes the pod's interface both ways: enforced, loopback said unshaped", () => {
    const plan = planNetworkBandwidth(pod({ web: [bw('1M')] }), 'default');
    expect(plan.shaping).toEqual({ rateBytesPerSecond: 1_000_000, burstBytes: 100_000 });
    expect(plan.pod).toBeUndefined();
    expect(plan.apps.get('web')?.status).toBe('enforced');
    expect(plan.apps.get('web')?.detail).toMatch(/shaped to 1000000 bytes\/s each way.*burst 100000 bytes/);
    expect(plan.apps.get('web')?.detail).toMatch(/loopback.*not shaped \(ISO-018\)/);
  });

  it('ISO-001 the pod limit bounds the app: the app is changed, the pod enforced', () => {
    const plan = planNetworkBandwidth(pod({ web: [bw('1M')] }, [bw('500k')]), 'default');
    expect(plan.shaping?.rateBytesPerSecond).toBe(500_000);
    expect(plan.pod?.status).toBe('enforced');
    expect(plan.apps.get('web')).toMatchObject({ status: 'changed' });
    expect(plan.apps.get('web')?.detail).toMatch(
      /limit lowered from 1000000 to 500000 bytes\/s by the pod's limit of 500000 \(ISO-001\)/,
    );
  });

  it("an app's smaller limit shapes the whole pod: the pod's isolator is changed, naming the app", () => {
    const plan = planNetworkBandwidth(pod({ web: [bw('1M')], db: [] }, [bw('3M')]), 'default');
    expect(plan.shaping?.rateBytesPerSecond).toBe(1_000_000);
    expect(plan.pod?.status).toBe('changed');
    expect(plan.pod?.detail).toMatch(/lowered from 3000000 to 1000000 bytes\/s by app "web"'s limit/);
    // the app got its limit, but on an interface shared with db: not its traffic alone
    expect(plan.apps.get('web')?.status).toBe('changed');
    expect(plan.apps.get('web')?.detail).toMatch(/shared with app "db"/);
    expect(plan.apps.has('db')).toBe(false);
  });

  it('several apps: the smallest limit wins; each app is changed, said why', () => {
    const plan = planNetworkBandwidth(pod({ a: [bw('1M')], b: [bw('2M')] }), 'default');
    expect(plan.shaping?.rateBytesPerSecond).toBe(1_000_000);
    expect(plan.apps.get('a')).toMatchObject({ status: 'changed' });
    expect(plan.apps.get('a')?.detail).not.toMatch(/lowered/);
    expect(plan.apps.get('b')?.detail).toMatch(/lowered from 2000000 to 1000000 bytes\/s by app "a"'s limit/);
    expect(plan.apps.get('b')?.detail).toMatch(/shared with app "a"/);
  });

  it('a pod limit alone shapes every app together: enforced', () => {
    const plan = planNetworkBandwidth(pod({ a: [], b: [] }, [bw('2M')]), 'default');
    expect(plan.shaping?.rateBytesPerSecond).toBe(2_000_000);
    expect(plan.pod?.status).toBe('enforced');
    expect(plan.apps.size).toBe(0);
  });

  it('ISO-002 the last isolator of an app wins', () => {
    const plan = planNetworkBandwidth(pod({ web: [bw('1k'), bw('4M')] }), 'default');
    expect(plan.shaping?.rateBytesPerSecond).toBe(4_000_000);
    expect(plan.apps.get('web')?.status).toBe('enforced');
  });

  it('limits outside what is shaped are raised or lowered to it, and reported changed', () => {
    const low = planNetworkBandwidth(pod({ web: [bw(0)] }), 'default');
    expect(low.shaping).toEqual({
      rateBytesPerSecond: MIN_SHAPED_RATE_BYTES_PER_SECOND,
      burstBytes: MIN_SHAPING_BURST_BYTES,
    });
    expect(low.apps.get('web')).toMatchObject({ status: 'changed' });
    expect(low.apps.get('web')?.detail).toMatch(/raised from 0 to 1024 bytes\/s, the smallest rate shaped/);
    const high = planNetworkBandwidth(pod({ web: [bw('100G')] }), 'default');
    expect(high.shaping?.rateBytesPerSecond).toBe(MAX_SHAPED_RATE_BYTES_PER_SECOND);
    expect(high.apps.get('web')?.detail).toMatch(
      /lowered from 100000000000 to 17179869184 bytes\/s, the largest/,
    );
    // the plugin refuses a bucket of 4 GiB (in bits, 2^32 bytes) or more
    expect(high.shaping?.burstBytes).toBeLessThan(2 ** 32);
    // an app's limit below the smallest rate lowers another's to that smallest rate, not below
    const both = planNetworkBandwidth(pod({ a: [bw(10)], b: [bw('1M')] }), 'default');
    expect(both.shaping?.rateBytesPerSecond).toBe(MIN_SHAPED_RATE_BYTES_PER_SECOND);
    expect(both.apps.get('b')?.detail).toMatch(
      /to 1024 bytes\/s by app "a"'s limit of 10.*, raised to the smallest/,
    );
  });

  it('the bucket is 100 ms at the rate, at least 4 KiB', () => {
    expect(shapingBurstBytes(1024)).toBe(4096);
    expect(shapingBurstBytes(40_960)).toBe(4096);
    expect(shapingBurstBytes(1_000_001)).toBe(100_001);
  });

  it('--net=none: only loopback, nothing to shape: enforced; --net=host: ignored; no limit: ignored', () => {
    const manifest = pod({ web: [bw('1M')], db: [bw(undefined)] }, [bw('2M')]);
    const none = planNetworkBandwidth(manifest, 'none');
    expect(none.shaping).toBeUndefined();
    expect(none.pod).toMatchObject({ status: 'enforced' });
    expect(none.apps.get('web')).toMatchObject({ status: 'enforced' });
    expect(none.apps.get('web')?.detail).toMatch(/no interface but loopback/);
    const host = planNetworkBandwidth(manifest, 'host');
    expect(host.shaping).toBeUndefined();
    expect([host.pod?.status, host.apps.get('web')?.status]).toEqual(['ignored', 'ignored']);
    expect(host.pod?.detail).toMatch(/--net=host/);
    for (const p of [none, host, planNetworkBandwidth(manifest, 'default')])
      expect(p.apps.get('db')).toEqual({ status: 'ignored', detail: 'no limit given: nothing to shape' });
    const unlimited = planNetworkBandwidth(pod({ db: [bw(undefined)] }), 'default');
    expect(unlimited.shaping).toBeUndefined();
  });

  it('an invalid value is refused naming the app', () => {
    let err: unknown;
    try {
      planNetworkBandwidth(
        pod({ web: [{ name: 'resource/network-bandwidth', value: { limit: 'lots' } }] }),
        'default',
      );
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'ERR_RUN_ISOLATOR')).toBe(true);
    expect(err).toMatchObject({ app: 'web', requirement: 'ISO-018' });
  });
});
