// resource/network-bandwidth (ISO-018): every app of a pod shares the pod's one interface, so the smallest of the
// pod's and the apps' limits shapes that interface, both ways, with the CNI `bandwidth` plugin (a token bucket on
// the host side of the pod's veth, and on an ifb device for the traffic the pod sends). Loopback is never shaped.
import type { Isolator, PodManifest, ResourceIsolatorValue } from '@appc/schema';
import { type IsolatorReportEntry, isolatorValue } from './isolators.ts';

/** The isolator this module plans. */
const NETWORK_BANDWIDTH = 'resource/network-bandwidth';

/** The smallest rate the pod's interface is shaped to, bytes per second: the token bucket must hold a full
 * Ethernet frame and the kernel keeps its size as a time of at most a few seconds at the rate. A smaller limit
 * (0 included: tbf cannot stop all traffic) is raised to it and reported `changed`. */
export const MIN_SHAPED_RATE_BYTES_PER_SECOND = 1024;

/** The largest rate shaped, bytes per second (16 GiB/s, far above what a veth carries): above it the bucket and
 * the queue would not fit the plugin's 32-bit fields. A larger limit is lowered to it and reported `changed`. */
export const MAX_SHAPED_RATE_BYTES_PER_SECOND = 2 ** 34;

/** The smallest token bucket, bytes: two full-size frames and more (a bucket smaller than a frame drops it). */
export const MIN_SHAPING_BURST_BYTES = 4096;

/** The network of a pod: the host's, loopback only, or the CNI `default` network (ACE-008). */
export type PodNetworkMode = 'host' | 'none' | 'default';

/** How the pod's interface is shaped: each direction (to the pod and from it) at the same rate (ISO-018's limit
 * is for reads and writes alike). */
export interface NetworkShaping {
  /** Bytes per second. */
  rateBytesPerSecond: number;
  /** Size of the token bucket, bytes: what may pass at once above the rate after a quiet time. */
  burstBytes: number;
}

/** What became of one network-bandwidth isolator. */
export interface NetworkBandwidthOutcome {
  status: IsolatorReportEntry['status'];
  detail: string;
}

/** The network-bandwidth isolators of a pod on its network ({@link planNetworkBandwidth}). */
export interface NetworkBandwidthPlan {
  net: PodNetworkMode;
  /** How the pod's interface is to be shaped (the `default` network with a limit); undefined: not at all. */
  shaping: NetworkShaping | undefined;
  /** The outcome of the pod's last network-bandwidth isolator; undefined when the pod has none. */
  pod: NetworkBandwidthOutcome | undefined;
  /** The outcome of each app's last network-bandwidth isolator, by app name (apps without one are absent). */
  apps: ReadonlyMap<string, NetworkBandwidthOutcome>;
}

/** The token bucket for a rate: 100 ms of traffic at the rate, at least {@link MIN_SHAPING_BURST_BYTES}. So, over
 * any second, at most 10 % more than the limit passes (a bit more for limits under 40 KB/s, whose bucket is the
 * minimum). */
export function shapingBurstBytes(rateBytesPerSecond: number): number {
  return Math.max(MIN_SHAPING_BURST_BYTES, Math.ceil(rateBytesPerSecond / 10));
}

/** The last network-bandwidth isolator of a list (ISO-002: the last one wins). */
function lastOf(
  isolators: readonly Isolator[] | undefined,
  app: string | undefined,
): ResourceIsolatorValue | undefined {
  let last: ResourceIsolatorValue | undefined;
  for (const i of isolators ?? []) {
    if (i.name !== NETWORK_BANDWIDTH) continue;
    const v = isolatorValue(i, app);
    if (v.kind === 'resource') last = v;
  }
  return last;
}

const LOOPBACK = 'loopback, where the apps of the pod talk to each other, is not shaped (ISO-018)';

/** Plans the pod's network-bandwidth isolators (ISO-018) on its network, and what to report of each (ISO-003).
 * - `default` network: the pod's interface is shaped, both ways, to the smallest limit of the pod's and the apps'
 *   (ISO-001: the pod's bounds the apps'; every app shares the one interface), kept within
 *   {@link MIN_SHAPED_RATE_BYTES_PER_SECOND}..{@link MAX_SHAPED_RATE_BYTES_PER_SECOND}, with a bucket of
 *   {@link shapingBurstBytes}. The pod's isolator is `enforced` when its limit is the rate, else `changed`. An
 *   app's is `enforced` only when it is the pod's only app and its limit is the rate: with other apps the limit
 *   bounds their traffic together, not the app's alone (`changed`, and said so).
 * - `none`: the pod has no interface but loopback, so nothing leaves it: every limit holds (`enforced`).
 * - `host`: the host's interfaces are not the pod's to shape (`ignored`).
 * An isolator without a limit shapes nothing (`ignored`).
 * @throws {@link RuntimeError} `ERR_RUN_ISOLATOR` for an invalid value. */
export function planNetworkBandwidth(
  pod: Pick<PodManifest, 'isolators' | 'apps'>,
  net: PodNetworkMode,
): NetworkBandwidthPlan {
  const podValue = lastOf(pod.isolators, undefined);
  const appValues = pod.apps.map((a) => ({ name: a.name, value: lastOf(a.app?.isolators, a.name) }));
  const limits = [podValue?.limit, ...appValues.map((a) => a.value?.limit)].filter(
    (l): l is bigint => l !== undefined,
  );
  const smallest = limits.reduce<bigint | undefined>((m, l) => (m === undefined || l < m ? l : m), undefined);
  let shaping: NetworkShaping | undefined;
  if (net === 'default' && smallest !== undefined) {
    const clamped =
      smallest < BigInt(MIN_SHAPED_RATE_BYTES_PER_SECOND)
        ? MIN_SHAPED_RATE_BYTES_PER_SECOND
        : smallest > BigInt(MAX_SHAPED_RATE_BYTES_PER_SECOND)
          ? MAX_SHAPED_RATE_BYTES_PER_SECOND
          : Number(smallest);
    shaping = { rateBytesPerSecond: clamped, burstBytes: shapingBurstBytes(clamped) };
  }
  // who set the rate, for the reports of the others
  const setBy =
    podValue?.limit === smallest ? undefined : appValues.find((a) => a.value?.limit === smallest)?.name;

  const outcome = (value: ResourceIsolatorValue, app: string | undefined): NetworkBandwidthOutcome => {
    const limit = value.limit;
    if (limit === undefined) return { status: 'ignored', detail: 'no limit given: nothing to shape' };
    if (net === 'host')
      return {
        status: 'ignored',
        detail:
          "network bandwidth cannot be shaped with --net=host: the pod has no interface of its own, and the host's are not the pod's to shape",
      };
    if (net === 'none')
      return {
        status: 'enforced',
        detail: `the pod has no interface but loopback (--net=none): nothing leaves it, so no more than ${limit} bytes/s can; ${LOOPBACK}`,
      };
    const s = shaping as NetworkShaping;
    const rate = BigInt(s.rateBytesPerSecond);
    const notes: string[] = [];
    if (rate > limit)
      notes.push(
        `limit raised from ${limit} to ${rate} bytes/s, the smallest rate shaped (the bucket must hold a full frame)`,
      );
    else if (rate < limit && smallest !== undefined && smallest > rate)
      notes.push(`limit lowered from ${limit} to ${rate} bytes/s, the largest rate shaped`);
    else if (rate < limit) {
      const source =
        setBy === undefined
          ? `the pod's limit of ${smallest} (ISO-001)`
          : `app "${setBy}"'s limit of ${smallest}: an app's limit can only be applied to the pod's one interface`;
      const raised = smallest !== undefined && smallest < rate ? ', raised to the smallest rate shaped' : '';
      notes.push(`limit lowered from ${limit} to ${rate} bytes/s by ${source}${raised}`);
    }
    const others = pod.apps.map((a) => a.name).filter((n) => n !== app);
    if (app !== undefined && others.length > 0)
      notes.push(
        `the interface is shared with ${others.map((n) => `app "${n}"`).join(', ')}: the limit bounds their traffic together, not this app's alone`,
      );
    return {
      status: notes.length === 0 ? 'enforced' : 'changed',
      detail: [
        `the pod's interface shaped to ${rate} bytes/s each way (tbf on the host side of its veth and on an ifb device; burst ${s.burstBytes} bytes)`,
        ...notes,
        LOOPBACK,
      ].join('; '),
    };
  };

  const apps = new Map<string, NetworkBandwidthOutcome>();
  for (const a of appValues) if (a.value) apps.set(a.name, outcome(a.value, a.name));
  return { net, shaping, pod: podValue ? outcome(podValue, undefined) : undefined, apps };
}
