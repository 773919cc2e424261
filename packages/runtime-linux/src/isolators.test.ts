import { DEFAULT_CAPABILITIES, hasCode, type Isolator, LINUX_CAPABILITIES } from '@appc/schema';
import { describe, expect, it } from 'vitest';
import { capabilitiesOfMask, type HostFeatures } from './host-features.ts';
import { isNamespacedSysctl, planAppIsolators, planPodIsolators } from './isolators.ts';
import { planNetworkBandwidth } from './network-bandwidth.ts';

const host: HostFeatures = {
  arch: 'x86_64',
  blockDevices: [
    { name: 'vda', major: 254, minor: 0 },
    { name: 'vdb', major: 254, minor: 16 },
  ],
  selinux: false,
  apparmorProfiles: undefined,
  cgroupV2: false,
};

function plan(isolators: Isolator[], pod: Isolator[] = [], h: HostFeatures = host) {
  return planAppIsolators('web', isolators, pod, h, { ownNetwork: true });
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('planAppIsolators', () => {
  it("VERIFY-007 rkt's --insecure-options=capabilities,seccomp: every capability, no filter; the isolators they override are reported ignored", () => {
    const isolators: Isolator[] = [
      { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_CHOWN'] } },
      { name: 'os/linux/seccomp-retain-set', value: { set: ['read', 'write'] } },
    ];
    const relaxed = planAppIsolators('web', isolators, [], host, {
      ownNetwork: true,
      insecure: { capabilities: true, seccomp: true },
    });
    expect(relaxed.capabilities).toEqual([...LINUX_CAPABILITIES]);
    expect(relaxed.seccomp).toBeUndefined();
    expect(relaxed.report.map((r) => [r.name, r.status])).toEqual([
      ['os/linux/capabilities-retain-set', 'ignored'],
      ['os/linux/seccomp-retain-set', 'ignored'],
    ]);
    expect(relaxed.report[0]?.detail).toContain('--insecure-options=capabilities');
    // without an isolator: the default set and the default filter are what is turned off
    // only what this process may hand on: root in a container may lack capabilities runc would then refuse
    const limited = planAppIsolators(
      'web',
      [],
      [],
      { ...host, boundingCapabilities: ['CAP_CHOWN', 'CAP_KILL'] },
      {
        ownNetwork: true,
        insecure: { capabilities: true },
      },
    );
    expect(limited.capabilities).toEqual(['CAP_CHOWN', 'CAP_KILL']);
    const bare = planAppIsolators('web', [], [], host, { ownNetwork: true, insecure: { seccomp: true } });
    expect(bare.seccomp).toBeUndefined();
    expect(bare.capabilities).toEqual([...DEFAULT_CAPABILITIES]);
    expect(bare.report).toEqual([]);
    // a host without a system call table is no error when no filter is wanted
    const noArch = planAppIsolators(
      'web',
      isolators.slice(1),
      [],
      { ...host, arch: undefined },
      {
        ownNetwork: true,
        insecure: { seccomp: true },
      },
    );
    expect(noArch.seccomp).toBeUndefined();
  });

  it('ISO-010 with no capability isolator the bounding set is exactly the default 14', () => {
    const p = plan([]);
    expect(p.capabilities).toEqual([...DEFAULT_CAPABILITIES]);
    expect(p.capabilities).toHaveLength(14);
    expect(p.noNewPrivileges).toBe(false);
    expect(p.report).toEqual([]);
    // The default seccomp filter is still there (ISO-007).
    expect(p.seccomp?.defaultAction).toBe('SCMP_ACT_ALLOW');
  });

  it('ISO-010 a remove set takes from the default set; names outside it change nothing', () => {
    const p = plan([
      { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_NET_RAW', 'CAP_SYS_ADMIN'] } },
    ]);
    expect(p.capabilities).toEqual(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_NET_RAW'));
    expect(p.report[0]).toMatchObject({ app: 'web', status: 'enforced', requirement: 'ISO-010' });
  });

  it('ISO-011 a retain set is the bounding set exactly, even beyond the default; unknown names are dropped', () => {
    const p = plan([
      {
        name: 'os/linux/capabilities-retain-set',
        value: { set: ['CAP_NET_ADMIN', 'CAP_CHOWN', 'CAP_PONIES'] },
      },
    ]);
    expect(p.capabilities).toEqual(['CAP_NET_ADMIN', 'CAP_CHOWN']);
    expect(p.report[0]).toMatchObject({ status: 'changed', requirement: 'ISO-011' });
    expect(p.report[0]?.detail).toContain('CAP_PONIES');
  });

  it('ISO-011 retain and remove sets together are refused', () => {
    const err = errorOf(() =>
      plan([
        { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_CHOWN'] } },
        { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_KILL'] } },
      ]),
    );
    expect(hasCode(err, 'ERR_RUN_ISOLATOR')).toBe(true);
    expect(err).toMatchObject({ app: 'web', requirement: 'ISO-011' });
  });

  it('ISO-012 ISO-002 no-new-privileges: the last one wins, earlier ones are reported ignored', () => {
    const p = plan([
      { name: 'os/linux/no-new-privileges', value: false },
      { name: 'os/linux/no-new-privileges', value: true },
    ]);
    expect(p.noNewPrivileges).toBe(true);
    expect(p.report.map((r) => r.status)).toEqual(['ignored', 'enforced']);
  });

  it('ISO-015 ISO-014 memory and cpu become cgroup limits in whole units', () => {
    const p = plan([
      { name: 'resource/memory', value: { request: '64Mi', limit: '128Mi' } },
      { name: 'resource/cpu', value: { request: '250m', limit: '1.5' } },
    ]);
    expect(p.resources.memory).toEqual({ limit: 134217728, reservation: 67108864 });
    expect(p.resources.cpu).toEqual({ quota: 150000, period: 100000, shares: 256 });
    expect(p.report.map((r) => r.status)).toEqual(['enforced', 'enforced']);
  });

  it('ISO-014 a cpu limit below the kernel minimum quota is raised and reported changed', () => {
    const p = plan([{ name: 'resource/cpu', value: { limit: '5m' } }]);
    expect(p.resources.cpu?.quota).toBe(1000);
    expect(p.report[0]?.status).toBe('changed');
  });

  it('ISO-001 a pod limit bounds the app limit (the smaller wins, reported changed)', () => {
    const p = plan(
      [{ name: 'resource/memory', value: { limit: '1Gi' } }],
      [{ name: 'resource/memory', value: { limit: '256Mi' } }],
    );
    expect(p.resources.memory?.limit).toBe(268435456);
    expect(p.report[0]?.status).toBe('changed');
    expect(p.report[0]?.detail).toMatch(/lowered .* to the pod's 268435456/);
    const under = plan(
      [{ name: 'resource/memory', value: { limit: '64Mi' } }],
      [{ name: 'resource/memory', value: { limit: '256Mi' } }],
    );
    expect(under.resources.memory?.limit).toBe(67108864);
    expect(under.report[0]?.status).toBe('enforced');
  });

  it("ISO-015 a memory limit of 0 bytes is refused (runc would take it for no limit), the app's or the pod's", () => {
    const err = errorOf(() => plan([{ name: 'resource/memory', value: { limit: '0' } }]));
    expect(hasCode(err, 'ERR_RUN_ISOLATOR')).toBe(true);
    expect(err).toMatchObject({ requirement: 'ISO-015' });
    expect((err as Error).message).toMatch(
      /^app "web": isolator resource\/memory has a limit of 0 bytes.*e\.g\. 64Mi/,
    );
    // bounded to 0 by the pod's limit likewise
    const bounded = errorOf(() =>
      plan(
        [{ name: 'resource/memory', value: { limit: '1Gi' } }],
        [{ name: 'resource/memory', value: { limit: '0' } }],
      ),
    );
    expect(hasCode(bounded, 'ERR_RUN_ISOLATOR')).toBe(true);
    const pod = errorOf(() =>
      planPodIsolators([{ name: 'resource/memory', value: { limit: '0' } }], host, { ownNetwork: true }),
    );
    expect((pod as Error).message).toMatch(/^pod: isolator resource\/memory has a limit of 0 bytes/);
  });

  it('ISO-016 ISO-017 block bandwidth and IOPS throttle every block device of the host, or are ignored without any', () => {
    const p = plan([
      { name: 'resource/block-bandwidth', value: { default: true, limit: '10M' } },
      { name: 'resource/block-iops', value: { default: true, limit: 500 } },
    ]);
    expect(p.resources.blockIO?.throttleReadBpsDevice).toEqual([
      { major: 254, minor: 0, rate: 10000000 },
      { major: 254, minor: 16, rate: 10000000 },
    ]);
    expect(p.resources.blockIO?.throttleWriteIOPSDevice?.map((d) => d.rate)).toEqual([500, 500]);
    const none = plan([{ name: 'resource/block-iops', value: { default: true, limit: 500 } }], [], {
      ...host,
      blockDevices: [],
    });
    expect(none.resources.blockIO).toBeUndefined();
    expect(none.report[0]?.status).toBe('ignored');
  });

  it('ISO-014 ISO-015 ISO-017 ISO-020 ACE-017 a limit whose cgroup controller the host lacks is ignored, not given to runc', () => {
    const limits: Isolator[] = [
      { name: 'resource/memory', value: { limit: '64M' } },
      { name: 'resource/cpu', value: { limit: '500m' } },
      { name: 'resource/block-iops', value: { default: true, limit: 500 } },
      { name: 'os/linux/cpu-shares', value: 512 },
    ];
    // cgroup v2 with only hugetlb (a hybrid host's unified hierarchy, or a container without delegation)
    const v2 = { ...host, cgroupV2: true, cgroupControllers: new Set(['hugetlb']) };
    const p = plan(limits, [], v2);
    expect(p.resources).toEqual({});
    expect(p.report.map((r) => [r.name, r.status])).toEqual([
      ['resource/memory', 'ignored'],
      ['resource/cpu', 'ignored'],
      ['resource/block-iops', 'ignored'],
      ['os/linux/cpu-shares', 'ignored'],
    ]);
    expect(p.report[0]?.detail).toBe(
      "this host's cgroups have no memory controller, so nothing limits it: /sys/fs/cgroup/cgroup.controllers does not list it",
    );
    // block limits need io with v2 and blkio with v1; what the host has is enforced
    expect(p.report[2]?.detail).toContain('no io controller');
    const v1 = plan(limits, [], { ...host, cgroupControllers: new Set(['memory', 'io']) });
    expect(v1.resources.memory?.limit).toBe(64000000);
    expect(v1.resources.cpu).toBeUndefined();
    expect(v1.resources.blockIO).toBeUndefined();
    expect(v1.report.map((r) => r.status)).toEqual(['enforced', 'ignored', 'ignored', 'ignored']);
    expect(v1.report[2]?.detail).toMatch(/no blkio controller.*no cgroup hierarchy is mounted/);
    // the pod's limits likewise
    const pod = planPodIsolators([{ name: 'resource/memory', value: { limit: '64M' } }], v2, {
      ownNetwork: true,
    });
    expect(pod.resources).toEqual({});
    expect(pod.report[0]).toMatchObject({ status: 'ignored', requirement: 'ISO-015' });
    // unknown controllers (a caller's own HostFeatures without the field): every one is taken as there
    expect(plan(limits).report.every((r) => r.status === 'enforced')).toBe(true);
  });

  it('ISO-018 ISO-003 network bandwidth is reported as the pod plan says; without a plan, and unknown isolators, ignored', () => {
    const bandwidth = { name: 'resource/network-bandwidth', value: { default: true, limit: '1M' } };
    const p = plan([bandwidth, { name: 'example.com/frobnicate', value: 1 }]);
    expect(p.report.map((r) => [r.name, r.status, r.requirement])).toEqual([
      ['resource/network-bandwidth', 'ignored', 'ISO-018'],
      ['example.com/frobnicate', 'ignored', 'ISO-003'],
    ]);
    expect(p.report[0]?.detail).toMatch(/not planned/);
    // with the pod's plan (the default network): its outcome for this app, nothing in the OCI resources
    const pod = {
      apps: [
        {
          name: 'web',
          image: { name: 'example.com/web' },
          app: { exec: ['/x'], user: '0', group: '0', isolators: [bandwidth] },
        },
      ],
    };
    const planned = planAppIsolators('web', [bandwidth], [], host, {
      ownNetwork: true,
      networkBandwidth: planNetworkBandwidth(pod, 'default'),
    });
    expect(planned.report).toEqual([
      expect.objectContaining({
        app: 'web',
        name: 'resource/network-bandwidth',
        status: 'enforced',
        requirement: 'ISO-018',
      }),
    ]);
    expect(planned.report[0]?.detail).toMatch(/shaped to 1000000 bytes\/s/);
    expect(planned.resources).toEqual({});
    // the pod's own isolator takes the plan's pod outcome; --net=host is ignored with or without a plan
    const podPlan = planPodIsolators([bandwidth], host, {
      ownNetwork: true,
      networkBandwidth: planNetworkBandwidth({ isolators: [bandwidth], apps: [] }, 'default'),
    });
    expect(podPlan.report[0]).toMatchObject({ status: 'enforced' });
    expect(podPlan.report[0]?.detail).not.toMatch(/for the whole pod$/);
    const onHost = planAppIsolators('web', [bandwidth], [], host, { ownNetwork: false });
    expect(onHost.report[0]).toMatchObject({ status: 'ignored' });
    expect(onHost.report[0]?.detail).toMatch(/host network namespace/);
  });

  it('ISO-004 seccomp: the filter and report; a remove set of @appc.io/all and two sets are refused', () => {
    const p = plan([{ name: 'os/linux/seccomp-remove-set', value: { set: ['mkdir'], errno: 'EXDEV' } }]);
    expect(p.seccomp?.syscalls[0]).toEqual({ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 18 });
    expect(p.report[0]).toMatchObject({ status: 'enforced', requirement: 'ISO-004' });
    const all = errorOf(() =>
      plan([{ name: 'os/linux/seccomp-remove-set', value: { set: ['@appc.io/all'] } }]),
    );
    expect(hasCode(all, 'ERR_RUN_ISOLATOR')).toBe(true);
    const noArch = errorOf(() =>
      plan([{ name: 'os/linux/seccomp-remove-set', value: { set: ['mkdir'] } }], [], {
        ...host,
        arch: undefined,
      }),
    );
    expect(hasCode(noArch, 'ERR_RUN_UNSUPPORTED_ARCH')).toBe(true);
  });

  it('ISO-008 ISO-009 SELinux and AppArmor: ignored when the host lacks them, a missing profile refuses to run', () => {
    const selinux = {
      name: 'os/linux/selinux-context',
      value: { user: 'u', role: 'r', type: 't', level: 's0:c1' },
    };
    const apparmor = { name: 'os/linux/apparmor-profile', value: { profile: 'appc-web' } };
    const off = plan([selinux, apparmor]);
    expect(off.report.map((r) => r.status)).toEqual(['ignored', 'ignored']);
    const on = plan([selinux, apparmor], [], {
      ...host,
      selinux: true,
      apparmorProfiles: new Set(['appc-web']),
    });
    expect(on.process).toEqual({ selinuxLabel: 'u:r:t:s0:c1', apparmorProfile: 'appc-web' });
    const missing = errorOf(() => plan([apparmor], [], { ...host, apparmorProfiles: new Set(['other']) }));
    expect(hasCode(missing, 'ERR_RUN_APPARMOR_PROFILE')).toBe(true);
    // A pod value covers an app that sets none.
    const fromPod = plan([], [selinux], { ...host, selinux: true });
    expect(fromPod.process.selinuxLabel).toBe('u:r:t:s0:c1');
  });

  it('ISO-020 cpu-shares and oom-score-adj', () => {
    const p = plan([
      { name: 'os/linux/cpu-shares', value: 512 },
      { name: 'os/linux/oom-score-adj', value: -100 },
    ]);
    expect(p.resources.cpu?.shares).toBe(512);
    expect(p.process.oomScoreAdj).toBe(-100);
  });

  it('an invalid isolator value is refused naming the app', () => {
    const err = errorOf(() => plan([{ name: 'resource/memory', value: { limit: 'lots' } }]));
    expect(hasCode(err, 'ERR_RUN_ISOLATOR')).toBe(true);
    expect((err as Error).message).toMatch(/^app "web": isolator "resource\/memory"/);
  });
});

describe('planPodIsolators', () => {
  it('ISO-019 namespaced sysctls are set in the pod; others refuse the pod', () => {
    const p = planPodIsolators(
      [{ name: 'os/unix/sysctl', value: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000000' } }],
      host,
      { ownNetwork: true },
    );
    expect(p.sysctl).toEqual({ 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000000' });
    expect(p.report[0]).toMatchObject({ status: 'enforced', requirement: 'ISO-019' });
    for (const [key, own] of [
      ['vm.swappiness', true],
      ['kernel.panic', true],
      ['net.core.somaxconn', false],
    ] as const) {
      const err = errorOf(() =>
        planPodIsolators([{ name: 'os/unix/sysctl', value: { [key]: '1' } }], host, { ownNetwork: own }),
      );
      expect(hasCode(err, 'ERR_RUN_SYSCTL_FORBIDDEN')).toBe(true);
      expect((err as Error).message).toContain(key);
    }
    expect(isNamespacedSysctl('fs.mqueue.msg_max', false)).toBe(true);
  });

  it('ISO-001 pod resources go on the sandbox cgroup; app-only isolators are ignored at pod level', () => {
    const p = planPodIsolators(
      [
        { name: 'resource/memory', value: { limit: '512Mi' } },
        { name: 'resource/cpu', value: { limit: '2' } },
        { name: 'os/linux/no-new-privileges', value: true },
      ],
      host,
      { ownNetwork: true },
    );
    expect(p.resources.memory?.limit).toBe(536870912);
    expect(p.resources.cpu).toEqual({ quota: 200000, period: 100000 });
    expect(p.report.map((r) => [r.name, r.status, r.app])).toEqual([
      ['resource/memory', 'enforced', undefined],
      ['resource/cpu', 'enforced', undefined],
      ['os/linux/no-new-privileges', 'ignored', undefined],
    ]);
  });
});

describe('capabilitiesOfMask', () => {
  it('reads a CapBnd mask in bit order (CAP_CHOWN is bit 0, CAP_SYS_RESOURCE bit 24)', () => {
    expect(capabilitiesOfMask('0000000000000001')).toEqual(['CAP_CHOWN']);
    const all = capabilitiesOfMask('000001ffffffffff');
    expect(all).toEqual([...LINUX_CAPABILITIES]);
    expect(capabilitiesOfMask('000001fffeffffff')).toEqual(all.filter((c) => c !== 'CAP_SYS_RESOURCE'));
  });
});
