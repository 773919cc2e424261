import {
  DEFAULT_CAPABILITIES,
  ISOLATORS,
  type Isolator,
  type IsolatorValue,
  LINUX_CAPABILITIES,
  parseIsolatorValue,
  type ResourceIsolatorValue,
} from '@appc/schema';
import { RuntimeError } from './errors.ts';
import type { HostFeatures } from './host-features.ts';
import type { NetworkBandwidthOutcome, NetworkBandwidthPlan } from './network-bandwidth.ts';
import type { OciProcess, OciResources, OciSeccomp } from './oci.ts';
import { buildSeccompFilter, SECCOMP_ALL } from './seccomp.ts';

/** What became of one isolator (ACE-017, ISO-003). */
export interface IsolatorReportEntry {
  /** The pod app it belongs to; undefined for a pod-level isolator. */
  app?: string;
  name: string;
  status: 'enforced' | 'ignored' | 'changed';
  /** What was done, or why not, for a person. */
  detail: string;
  /** Requirement that defines the isolator (ISO-*). */
  requirement: string;
}

/** How the app isolators translate into an OCI config, and the report of each. */
export interface AppIsolatorPlan {
  capabilities: string[];
  noNewPrivileges: boolean;
  seccomp: OciSeccomp | undefined;
  resources: OciResources;
  process: Pick<OciProcess, 'apparmorProfile' | 'selinuxLabel' | 'oomScoreAdj'>;
  report: IsolatorReportEntry[];
}

/** How the pod isolators translate into the sandbox's OCI config (its cgroup bounds every app's, ISO-001). */
export interface PodIsolatorPlan {
  resources: OciResources;
  sysctl: Record<string, string>;
  selinuxLabel?: string;
  apparmorProfile?: string;
  report: IsolatorReportEntry[];
}

const CPU_PERIOD_US = 100_000;
const MIN_CPU_QUOTA_US = 1_000;

/** Sysctl keys that belong to a namespace the pod owns (ISO-019): the network tree (own network namespace only)
 * and the IPC keys of the IPC namespace. Everything else would change the host and is refused. */
export function isNamespacedSysctl(key: string, ownNetwork: boolean): boolean {
  if (key.startsWith('net.')) return ownNetwork;
  if (key.startsWith('fs.mqueue.')) return true;
  return [
    'kernel.msgmax',
    'kernel.msgmnb',
    'kernel.msgmni',
    'kernel.sem',
    'kernel.shmall',
    'kernel.shmmax',
    'kernel.shmmni',
    'kernel.shm_rmid_forced',
  ].includes(key);
}

/** Protections of the apps turned off on request, as rkt's run-time `--insecure-options` names do (VERIFY-007):
 * `capabilities` gives every app every capability, `seccomp` no system call filter, `paths` leaves no `/proc` file
 * masked and `/proc/sys` and the like writable (`/sys` stays read-only). The isolators they override are reported
 * `ignored`. */
export interface RuntimeInsecureOptions {
  capabilities?: boolean;
  paths?: boolean;
  seccomp?: boolean;
}

/** Options of {@link planAppIsolators} and {@link planPodIsolators}. */
export interface IsolatorPlanOptions {
  /** The pod has a network namespace of its own (not `--net=host`). */
  ownNetwork: boolean;
  /** Protections turned off ({@link RuntimeInsecureOptions}; `paths` is not an isolator's). */
  insecure?: RuntimeInsecureOptions | undefined;
  /** The pod's network-bandwidth isolators planned on its network ({@link planNetworkBandwidth}), whose outcomes
   * are reported (ISO-018); without it they are reported `ignored` (nothing shapes the interface). */
  networkBandwidth?: NetworkBandwidthPlan | undefined;
}

/** The typed value of an isolator, for this package's planners.
 * @throws {@link RuntimeError} `ERR_RUN_ISOLATOR` for an invalid value. */
export function isolatorValue(isolator: Isolator, app: string | undefined): IsolatorValue {
  return typed(isolator, app);
}

/** What is reported of a network-bandwidth isolator: the plan's outcome, or why nothing was shaped. */
function networkBandwidthOutcome(
  options: IsolatorPlanOptions,
  app: string | undefined,
): NetworkBandwidthOutcome {
  const plan = options.networkBandwidth;
  const planned = plan === undefined ? undefined : app === undefined ? plan.pod : plan.apps.get(app);
  if (planned) return planned;
  return {
    status: 'ignored',
    detail: options.ownNetwork
      ? "not planned for the pod's network (planNetworkBandwidth): nothing shapes its interface"
      : 'network bandwidth cannot be shaped in the host network namespace',
  };
}

function typed(isolator: Isolator, app: string | undefined): IsolatorValue {
  try {
    return parseIsolatorValue(isolator);
  } catch (cause) {
    throw new RuntimeError(
      `${app === undefined ? 'pod' : `app "${app}"`}: isolator "${isolator.name}" has an invalid value; ${String((cause as Error).message)}`,
      {
        code: 'ERR_RUN_ISOLATOR',
        requirement: ISOLATORS[isolator.name]?.requirement ?? 'TYPES-007',
        app,
        cause,
      },
    );
  }
}

function toNumber(v: bigint | undefined): number | undefined {
  if (v === undefined) return undefined;
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** The last resource isolator of each name (ISO-002: resource isolators may repeat; the last one wins). */
function lastResources(values: IsolatorValue[]): Map<string, ResourceIsolatorValue> {
  const out = new Map<string, ResourceIsolatorValue>();
  for (const v of values) if (v.kind === 'resource') out.set(v.name, v);
  return out;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

interface ResourceOutcome {
  status: IsolatorReportEntry['status'];
  detail: string;
}

/** The cgroup controller an isolator's settings need, when this host's cgroups do not offer it: runc would fail
 * to write them (`memory.max: no such file or directory`), so the isolator is reported instead. */
function missingController(host: HostFeatures, name: string): string | undefined {
  const needed =
    name === 'resource/memory'
      ? 'memory'
      : name === 'resource/cpu' || name === 'os/linux/cpu-shares'
        ? 'cpu'
        : name === 'resource/block-bandwidth' || name === 'resource/block-iops'
          ? host.cgroupV2
            ? 'io'
            : 'blkio'
          : undefined;
  if (needed === undefined || host.cgroupControllers === undefined || host.cgroupControllers.has(needed))
    return undefined;
  return needed;
}

/** Why an isolator is not enforced when its controller is missing ({@link missingController}). */
function noControllerDetail(host: HostFeatures, controller: string): string {
  const why = host.cgroupV2
    ? '/sys/fs/cgroup/cgroup.controllers does not list it'
    : 'no cgroup hierarchy is mounted for it';
  return `this host's cgroups have no ${controller} controller, so nothing limits it: ${why}`;
}

/** Applies one resource isolator (already bounded by the pod's) to `resources`. */
function applyResource(
  resources: OciResources,
  v: ResourceIsolatorValue,
  pod: ResourceIsolatorValue | undefined,
  host: HostFeatures,
  ownNetwork: boolean,
  who: string,
): ResourceOutcome {
  const limit = toNumber(v.limit);
  const podLimit = toNumber(pod?.limit);
  const effective = minDefined(limit, podLimit);
  const bounded = limit !== undefined && podLimit !== undefined && podLimit < limit;
  const request = toNumber(v.request);
  const notes: string[] = [];
  if (bounded) notes.push(`limit lowered from ${limit} to the pod's ${podLimit} (ISO-001)`);
  const missing = missingController(host, v.name);
  if (missing !== undefined) return { status: 'ignored', detail: noControllerDetail(host, missing) };
  switch (v.name) {
    case 'resource/memory': {
      // runc reads a limit of 0 as "no limit": the app would run unbounded while the report said otherwise
      if (effective === 0)
        throw new RuntimeError(
          `${who}: isolator resource/memory has a limit of 0 bytes, which no process fits in; give the memory it may use (e.g. 64Mi, --memory 64Mi) or leave the isolator out.`,
          { code: 'ERR_RUN_ISOLATOR', requirement: 'ISO-015' },
        );
      resources.memory = {};
      if (effective !== undefined) resources.memory.limit = effective;
      if (request !== undefined) resources.memory.reservation = Math.min(request, effective ?? request);
      return {
        status: bounded ? 'changed' : 'enforced',
        detail: [
          effective === undefined ? 'no limit' : `memory limit ${effective} bytes`,
          request === undefined ? '' : `reservation ${resources.memory.reservation} bytes`,
          ...notes,
        ]
          .filter((s) => s !== '')
          .join('; '),
      };
    }
    case 'resource/cpu': {
      resources.cpu = {};
      let status: ResourceOutcome['status'] = bounded ? 'changed' : 'enforced';
      if (effective !== undefined) {
        let quota = Math.ceil((effective * CPU_PERIOD_US) / 1000);
        if (quota < MIN_CPU_QUOTA_US) {
          notes.push(
            `${effective}m is below the kernel's smallest quota; raised to ${MIN_CPU_QUOTA_US / 100}m`,
          );
          quota = MIN_CPU_QUOTA_US;
          status = 'changed';
        }
        resources.cpu.quota = quota;
        resources.cpu.period = CPU_PERIOD_US;
      }
      if (request !== undefined) resources.cpu.shares = Math.max(2, Math.floor((request * 1024) / 1000));
      return {
        status,
        detail: [
          effective === undefined
            ? ''
            : `CFS quota ${resources.cpu.quota}us per ${CPU_PERIOD_US}us (${effective}m)`,
          request === undefined ? '' : `cpu shares ${resources.cpu.shares} (${request}m requested)`,
          ...notes,
        ]
          .filter((s) => s !== '')
          .join('; '),
      };
    }
    case 'resource/block-bandwidth':
    case 'resource/block-iops': {
      if (effective === undefined) return { status: 'ignored', detail: 'no limit given' };
      if (host.blockDevices.length === 0)
        return { status: 'ignored', detail: 'the host shows no block device in /sys/block to throttle' };
      const devices = host.blockDevices.map((d) => ({ major: d.major, minor: d.minor, rate: effective }));
      resources.blockIO ??= {};
      if (v.name === 'resource/block-bandwidth') {
        resources.blockIO.throttleReadBpsDevice = devices;
        resources.blockIO.throttleWriteBpsDevice = devices.map((d) => ({ ...d }));
      } else {
        resources.blockIO.throttleReadIOPSDevice = devices;
        resources.blockIO.throttleWriteIOPSDevice = devices.map((d) => ({ ...d }));
      }
      const unit = v.name === 'resource/block-bandwidth' ? 'bytes/s' : 'IO/s';
      return {
        status: bounded ? 'changed' : 'enforced',
        detail: [
          `read and write throttled to ${effective} ${unit} on ${host.blockDevices.map((d) => d.name).join(', ')}`,
          ...notes,
        ].join('; '),
      };
    }
    default:
      // resource/network-bandwidth is planned for the whole pod (planNetworkBandwidth): the callers report that
      return networkBandwidthOutcome({ ownNetwork }, undefined);
  }
}

function requirementOf(name: string): string {
  return ISOLATORS[name]?.requirement ?? 'ISO-003';
}

/** Translates an app's isolators, bounded by the pod's, into OCI settings (ISO-001..ISO-020) and reports each one
 * as enforced, ignored or changed (ACE-017). Capabilities default to the spec's set of 14 (ISO-010); the seccomp
 * filter defaults to the executor's blacklist (ISO-007).
 * @throws {@link RuntimeError} `ERR_RUN_ISOLATOR` for an invalid value, both capability sets (ISO-011), both
 * seccomp sets, a remove set of `@appc.io/all` or no seccomp table for the host;
 * `ERR_RUN_APPARMOR_PROFILE` when the profile is not loaded (ISO-009). */
export function planAppIsolators(
  appName: string,
  isolators: readonly Isolator[],
  podIsolators: readonly Isolator[],
  host: HostFeatures,
  options: IsolatorPlanOptions,
): AppIsolatorPlan {
  const report: IsolatorReportEntry[] = [];
  const values = isolators.map((i) => typed(i, appName));
  const podValues = podIsolators.map((i) => typed(i, undefined));
  const add = (name: string, status: IsolatorReportEntry['status'], detail: string) =>
    report.push({ app: appName, name, status, detail, requirement: requirementOf(name) });
  const fail = (message: string, requirement: string): never => {
    throw new RuntimeError(`app "${appName}": ${message}`, {
      code: 'ERR_RUN_ISOLATOR',
      requirement,
      app: appName,
    });
  };

  // Capabilities (ISO-010, ISO-011): the last set wins; both kinds together are refused.
  const capSets = values.filter(
    (v) => v.kind === 'capabilities-remove-set' || v.kind === 'capabilities-retain-set',
  );
  const kinds = new Set(capSets.map((v) => v.kind));
  if (kinds.size > 1)
    fail('capabilities-retain-set and capabilities-remove-set exclude each other; keep one.', 'ISO-011');
  let capabilities = [...DEFAULT_CAPABILITIES];
  // every capability this process can hand on (root in a container may lack some, which runc would refuse)
  if (options.insecure?.capabilities)
    capabilities = LINUX_CAPABILITIES.filter((c) => host.boundingCapabilities?.includes(c) ?? true);
  capSets.forEach((v, i) => {
    if (v.kind !== 'capabilities-remove-set' && v.kind !== 'capabilities-retain-set') return;
    if (options.insecure?.capabilities) {
      add(v.name, 'ignored', 'every capability is kept (--insecure-options=capabilities)');
      return;
    }
    if (i < capSets.length - 1) {
      add(v.name, 'ignored', 'a later isolator of the same name replaces this one (ISO-002)');
      return;
    }
    const unknown = v.set.filter((c) => !LINUX_CAPABILITIES.includes(c));
    if (v.kind === 'capabilities-retain-set') {
      capabilities = v.set.filter((c) => LINUX_CAPABILITIES.includes(c));
      capabilities = [...new Set(capabilities)];
    } else {
      capabilities = DEFAULT_CAPABILITIES.filter((c) => !v.set.includes(c));
    }
    const detail = `bounding set: ${capabilities.length === 0 ? '(empty)' : capabilities.join(' ')}`;
    if (unknown.length > 0 && v.kind === 'capabilities-retain-set')
      add(v.name, 'changed', `${detail}; unknown capabilities dropped: ${unknown.join(' ')}`);
    else add(v.name, 'enforced', detail);
  });

  // no-new-privileges (ISO-012): the last one wins.
  let noNewPrivileges = false;
  const nnp = values.filter((v) => v.kind === 'no-new-privileges');
  nnp.forEach((v, i) => {
    if (v.kind !== 'no-new-privileges') return;
    if (i < nnp.length - 1)
      add(v.name, 'ignored', 'a later isolator of the same name replaces this one (ISO-002)');
    else {
      noNewPrivileges = v.enabled;
      add(v.name, 'enforced', v.enabled ? 'no_new_privs set' : 'no_new_privs left unset');
    }
  });

  // seccomp (ISO-004..ISO-007).
  const sec = values.filter((v) => v.kind === 'seccomp-remove-set' || v.kind === 'seccomp-retain-set');
  if (sec.length > 1)
    fail('give at most one seccomp isolator (retain-set or remove-set), not both.', 'ISO-002');
  let seccomp: OciSeccomp | undefined;
  const secValue = sec[0];
  if (options.insecure?.seccomp) {
    if (secValue) add(secValue.name, 'ignored', 'no system call filter (--insecure-options=seccomp)');
  } else if (!host.arch) {
    if (secValue)
      throw new RuntimeError(
        `app "${appName}": no system call table for this host's architecture (${process.arch}); seccomp cannot be applied.`,
        { code: 'ERR_RUN_UNSUPPORTED_ARCH', requirement: 'ISO-004', app: appName },
      );
  } else if (secValue && (secValue.kind === 'seccomp-remove-set' || secValue.kind === 'seccomp-retain-set')) {
    const mode = secValue.kind === 'seccomp-remove-set' ? 'remove' : 'retain';
    if (mode === 'remove' && secValue.set.includes(SECCOMP_ALL))
      fail(
        `seccomp-remove-set lists ${SECCOMP_ALL}: nothing could run; list the calls to block instead.`,
        'ISO-004',
      );
    const req =
      secValue.errno === undefined
        ? { mode, set: secValue.set }
        : { mode, set: secValue.set, errno: secValue.errno };
    const plan = buildSeccompFilter(req as Parameters<typeof buildSeccompFilter>[0], host.arch);
    seccomp = plan.seccomp;
    const how = secValue.errno ? `errno ${secValue.errno}` : 'SIGSYS';
    const what =
      plan.seccomp === undefined
        ? 'no filter (retain set of every call)'
        : mode === 'remove'
          ? `blocked with ${how}: ${plan.syscalls.length} calls (the set plus the default blacklist)`
          : `allowed: ${plan.syscalls.length} calls (the set plus the lifecycle whitelist); others fail with ${how}`;
    add(secValue.name, plan.status, [what, ...plan.notes].join('; '));
  } else {
    seccomp = buildSeccompFilter(undefined, host.arch).seccomp;
  }

  // Resources (ISO-013..ISO-018), bounded by the pod's (ISO-001); network bandwidth as the pod's plan says.
  const resources: OciResources = {};
  const podRes = lastResources(podValues);
  const appRes = lastResources(values);
  for (const v of values) {
    if (v.kind !== 'resource') continue;
    if (appRes.get(v.name) !== v) {
      add(v.name, 'ignored', 'a later isolator of the same name replaces this one (ISO-002)');
      continue;
    }
    const out =
      v.name === 'resource/network-bandwidth'
        ? networkBandwidthOutcome(options, appName)
        : applyResource(resources, v, podRes.get(v.name), host, options.ownNetwork, `app "${appName}"`);
    add(v.name, out.status, out.detail);
  }

  // Process attributes: SELinux and AppArmor (app overrides pod), cpu-shares, oom-score-adj.
  const proc: AppIsolatorPlan['process'] = {};
  for (const v of values) {
    switch (v.kind) {
      case 'selinux-context':
        if (!host.selinux) add(v.name, 'ignored', 'SELinux is not enabled on this host (ISO-008)');
        else {
          proc.selinuxLabel = `${v.user}:${v.role}:${v.type}:${v.level}`;
          add(v.name, 'enforced', `process label ${proc.selinuxLabel}`);
        }
        break;
      case 'apparmor-profile':
        if (!host.apparmorProfiles) add(v.name, 'ignored', 'AppArmor is not enabled on this host (ISO-009)');
        else if (!host.apparmorProfiles.has(v.profile))
          throw new RuntimeError(
            `app "${appName}": AppArmor profile "${v.profile}" is not loaded on this host; load it (apparmor_parser) or remove the isolator.`,
            { code: 'ERR_RUN_APPARMOR_PROFILE', requirement: 'ISO-009', app: appName },
          );
        else {
          proc.apparmorProfile = v.profile;
          add(v.name, 'enforced', `profile ${v.profile}`);
        }
        break;
      case 'cpu-shares': {
        const missing = missingController(host, v.name);
        if (missing !== undefined) {
          add(v.name, 'ignored', noControllerDetail(host, missing));
          break;
        }
        resources.cpu = { ...resources.cpu, shares: v.shares };
        add(v.name, 'enforced', `cpu shares ${v.shares}`);
        break;
      }
      case 'oom-score-adj':
        proc.oomScoreAdj = v.score;
        add(v.name, 'enforced', `oom_score_adj ${v.score}`);
        break;
      case 'sysctl':
        add(v.name, 'ignored', 'os/unix/sysctl applies to the pod only (ISO-019); give it as a pod isolator');
        break;
      case 'unknown':
        add(v.name, 'ignored', 'this executor does not know this isolator (ISO-003)');
        break;
      default:
        break;
    }
  }
  for (const pv of podValues) {
    if (pv.kind === 'selinux-context' && host.selinux && proc.selinuxLabel === undefined)
      proc.selinuxLabel = `${pv.user}:${pv.role}:${pv.type}:${pv.level}`;
    if (
      pv.kind === 'apparmor-profile' &&
      host.apparmorProfiles?.has(pv.profile) &&
      proc.apparmorProfile === undefined
    )
      proc.apparmorProfile = pv.profile;
  }
  return { capabilities, noNewPrivileges, seccomp, resources, process: proc, report };
}

/** Translates the pod's isolators into the sandbox's OCI settings: resource limits on the sandbox cgroup, which
 * holds every app's cgroup (ISO-001), sysctls in the pod's namespaces (ISO-019: namespaced keys only), SELinux and
 * AppArmor for every process (ISO-008, ISO-009); and reports each one (ACE-017).
 * @throws {@link RuntimeError} `ERR_RUN_SYSCTL_FORBIDDEN` for a key outside the pod's namespaces,
 * `ERR_RUN_APPARMOR_PROFILE` for a profile that is not loaded, `ERR_RUN_ISOLATOR` for an invalid value. */
export function planPodIsolators(
  isolators: readonly Isolator[],
  host: HostFeatures,
  options: IsolatorPlanOptions,
): PodIsolatorPlan {
  const report: IsolatorReportEntry[] = [];
  const add = (name: string, status: IsolatorReportEntry['status'], detail: string) =>
    report.push({ name, status, detail, requirement: requirementOf(name) });
  const values = isolators.map((i) => typed(i, undefined));
  const resources: OciResources = {};
  const sysctl: Record<string, string> = {};
  const plan: PodIsolatorPlan = { resources, sysctl, report };
  const last = lastResources(values);
  for (const v of values) {
    switch (v.kind) {
      case 'resource': {
        if (last.get(v.name) !== v) {
          add(v.name, 'ignored', 'a later isolator of the same name replaces this one (ISO-002)');
          break;
        }
        if (v.name === 'resource/network-bandwidth') {
          const out = networkBandwidthOutcome(options, undefined);
          add(v.name, out.status, out.detail);
          break;
        }
        const out = applyResource(resources, v, undefined, host, options.ownNetwork, 'pod');
        add(v.name, out.status, `${out.detail}${out.status === 'ignored' ? '' : ' for the whole pod'}`);
        break;
      }
      case 'sysctl': {
        const bad = Object.keys(v.sysctls).filter((k) => !isNamespacedSysctl(k, options.ownNetwork));
        if (bad.length > 0) {
          throw new RuntimeError(
            `pod isolator os/unix/sysctl: ${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} not confined to the pod's ` +
              `namespaces${options.ownNetwork ? '' : " (net.* needs the pod's own network namespace, not --net=host)"} ` +
              'and would change the host; remove them.',
            { code: 'ERR_RUN_SYSCTL_FORBIDDEN', requirement: 'ISO-019', pointer: '/isolators' },
          );
        }
        Object.assign(sysctl, v.sysctls);
        add(
          v.name,
          'enforced',
          `set in the pod's namespaces: ${Object.keys(v.sysctls).join(', ') || '(none)'}`,
        );
        break;
      }
      case 'selinux-context':
        if (!host.selinux) add(v.name, 'ignored', 'SELinux is not enabled on this host (ISO-008)');
        else {
          plan.selinuxLabel = `${v.user}:${v.role}:${v.type}:${v.level}`;
          add(v.name, 'enforced', `label ${plan.selinuxLabel} for every process of the pod`);
        }
        break;
      case 'apparmor-profile':
        if (!host.apparmorProfiles) add(v.name, 'ignored', 'AppArmor is not enabled on this host (ISO-009)');
        else if (!host.apparmorProfiles.has(v.profile))
          throw new RuntimeError(
            `pod: AppArmor profile "${v.profile}" is not loaded on this host; load it (apparmor_parser) or remove the isolator.`,
            { code: 'ERR_RUN_APPARMOR_PROFILE', requirement: 'ISO-009' },
          );
        else {
          plan.apparmorProfile = v.profile;
          add(v.name, 'enforced', `profile ${v.profile} for every process of the pod`);
        }
        break;
      default:
        add(
          v.name,
          'ignored',
          v.kind === 'unknown'
            ? 'this executor does not know this isolator (ISO-003)'
            : 'this isolator applies to apps, not to the pod',
        );
    }
  }
  return plan;
}
