import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { RuntimeError } from './errors.ts';
import type { NetworkShaping } from './network-bandwidth.ts';

const run = promisify(execFile);

/** Where Debian's `containernetworking-plugins` puts the plugins. */
export const DEFAULT_CNI_PATH = '/usr/lib/cni';

/** A port of the pod forwarded from the host (the `portmap` plugin; POD-010). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** Host address to bind; default every address. */
  hostIP?: string | undefined;
}

/** Options of {@link addPodNetwork} and {@link removePodNetwork}. */
export interface PodNetworkOptions {
  /** The pod's UUID (the CNI container ID). */
  containerId: string;
  /** Path of the pod's network namespace, e.g. `/proc/<sandbox pid>/ns/net`. */
  netns: string;
  /** Interface inside the pod; default `eth0`. */
  ifName?: string | undefined;
  /** Directory of the plugins; default {@link DEFAULT_CNI_PATH}. */
  cniPath?: string | undefined;
  /** Where host-local keeps its leases (under the state dir, so `gc` can find them). */
  ipamDataDir: string;
  /** The pods' subnet; default `172.16.28.0/24` (rkt's default network). */
  subnet?: string | undefined;
  /** Masquerade the pod's traffic to the outside (default true), as rkt's `default` network does. */
  ipMasq?: boolean | undefined;
  ports?: readonly PortMapping[] | undefined;
  /** Shape the pod's interface both ways (the `bandwidth` plugin, chained last: a tbf qdisc on the host side of the
   * veth for the traffic to the pod, an ifb device with its own for the traffic from it; ISO-018). Give the same
   * to {@link removePodNetwork}, which removes the ifb device. Loopback is never shaped. */
  bandwidth?: NetworkShaping | undefined;
}

/** The pod's address and the host side of its link (where the metadata service listens, META-001). */
export interface PodNetworkResult {
  /** The pod's address, without prefix length. */
  address: string;
  /** The host side of the pod's point-to-point link. */
  gateway: string;
  /** The raw CNI result of the main plugin. */
  result: unknown;
}

const NETWORK_NAME = 'appc-default';
const CNI_VERSION = '1.0.0';

function mainConfig(o: PodNetworkOptions): Record<string, unknown> {
  return {
    cniVersion: CNI_VERSION,
    name: NETWORK_NAME,
    type: 'ptp',
    ipMasq: o.ipMasq ?? true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: o.subnet ?? '172.16.28.0/24' }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir: o.ipamDataDir,
    },
  };
}

function portmapConfig(o: PodNetworkOptions, prevResult: unknown): Record<string, unknown> {
  return {
    cniVersion: CNI_VERSION,
    name: NETWORK_NAME,
    type: 'portmap',
    capabilities: { portMappings: true },
    snat: true,
    runtimeConfig: { portMappings: o.ports ?? [] },
    ...(prevResult === undefined ? {} : { prevResult }),
  };
}

/** The plugin takes bits per second and a bucket in bits, and refuses a bucket of 4 GiB or more. */
function bandwidthConfig(o: PodNetworkOptions, prevResult: unknown): Record<string, unknown> {
  const s = o.bandwidth as NetworkShaping;
  const rate = s.rateBytesPerSecond * 8;
  const burst = s.burstBytes * 8;
  return {
    cniVersion: CNI_VERSION,
    name: NETWORK_NAME,
    type: 'bandwidth',
    capabilities: { bandwidth: true },
    runtimeConfig: {
      bandwidth: { ingressRate: rate, ingressBurst: burst, egressRate: rate, egressBurst: burst },
    },
    ...(prevResult === undefined ? {} : { prevResult }),
  };
}

function checkShaping(s: NetworkShaping | undefined): void {
  if (s === undefined) return;
  const whole = (n: number) => Number.isSafeInteger(n) && Number.isSafeInteger(n * 8) && n > 0;
  if (!whole(s.rateBytesPerSecond) || !whole(s.burstBytes) || s.burstBytes >= 2 ** 32)
    throw new RuntimeError(
      `bandwidth: rate ${s.rateBytesPerSecond} bytes/s and burst ${s.burstBytes} bytes must be positive whole numbers, ` +
        'the burst below 4 GiB; plan them with planNetworkBandwidth.',
      { code: 'ERR_RUN_NETWORK', requirement: 'ISO-018' },
    );
}

/** Runs one CNI plugin as the CNI spec says: the command in the environment, the config on stdin, the result
 * (or an error object) on stdout. */
async function invoke(
  command: 'ADD' | 'DEL' | 'CHECK',
  config: Record<string, unknown>,
  o: PodNetworkOptions,
): Promise<unknown> {
  const cniPath = o.cniPath ?? DEFAULT_CNI_PATH;
  const plugin = `${cniPath}/${config.type as string}`;
  const child = spawn(plugin, [], {
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: o.containerId,
      CNI_NETNS: o.netns,
      CNI_IFNAME: o.ifName ?? 'eth0',
      CNI_PATH: cniPath,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  child.stdin.end(JSON.stringify(config));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).catch((e: NodeJS.ErrnoException) => {
    throw new RuntimeError(
      `the CNI plugin ${plugin} could not be started (${e.code ?? e.message}); install containernetworking-plugins or pass cniPath.`,
      { code: 'ERR_RUN_NETWORK', requirement: 'ACE-008', cause: e },
    );
  });
  if (code !== 0) {
    let detail = err.trim() || out.trim();
    try {
      const parsed = JSON.parse(out) as { msg?: string; details?: string };
      detail = [parsed.msg, parsed.details].filter(Boolean).join(': ') || detail;
    } catch {
      // not JSON: keep the raw text
    }
    throw new RuntimeError(`CNI ${command} with ${config.type as string} failed (exit ${code}): ${detail}`, {
      code: 'ERR_RUN_NETWORK',
      requirement: 'ACE-008',
    });
  }
  return out.trim() === '' ? undefined : JSON.parse(out);
}

/** Gives a pod's network namespace the `default` network (ACE-008): a point-to-point veth link to the host with
 * an address from host-local, a default route through the host, masquerading out, the pod's ports forwarded
 * from the host (portmap) and its interface shaped (bandwidth, ISO-018). Undo with {@link removePodNetwork}, with
 * the same options; a failure undoes what was made.
 * @throws {@link RuntimeError} `ERR_RUN_NETWORK` naming the plugin and its message, or for a bad `bandwidth`. */
export async function addPodNetwork(options: PodNetworkOptions): Promise<PodNetworkResult> {
  checkShaping(options.bandwidth);
  const result = (await invoke('ADD', mainConfig(options), options)) as {
    ips?: { address: string; gateway?: string }[];
  };
  const ip = result?.ips?.[0];
  if (!ip?.gateway) {
    await invoke('DEL', mainConfig(options), options).catch(() => {});
    throw new RuntimeError('the ptp plugin returned no address and gateway for the pod.', {
      code: 'ERR_RUN_NETWORK',
      requirement: 'ACE-008',
    });
  }
  const mapped = options.ports !== undefined && options.ports.length > 0;
  try {
    // each chained plugin gets the result of the one before (portmap and bandwidth pass it on)
    const prev = mapped ? await invoke('ADD', portmapConfig(options, result), options) : result;
    if (options.bandwidth) await invoke('ADD', bandwidthConfig(options, prev ?? result), options);
  } catch (e) {
    await removePodNetwork(options).catch(() => {});
    throw e;
  }
  return { address: ip.address.split('/')[0] as string, gateway: ip.gateway, result };
}

/** Removes what {@link addPodNetwork} made, the chain in reverse: the shaping's ifb device (the qdiscs go with the
 * devices), port forwards, the veth pair, the masquerading rule and the lease. Safe to call again, or when the
 * namespace is already gone (the plugins then clean up the host side). */
export async function removePodNetwork(options: PodNetworkOptions): Promise<void> {
  const errors: unknown[] = [];
  if (options.bandwidth)
    await invoke('DEL', bandwidthConfig(options, undefined), options).catch((e) => errors.push(e));
  if (options.ports && options.ports.length > 0)
    await invoke('DEL', portmapConfig(options, undefined), options).catch((e) => errors.push(e));
  await invoke('DEL', mainConfig(options), options).catch((e) => errors.push(e));
  // ptp removes its masquerading rule only when it still finds the pod's interface in the namespace; once the
  // namespace is gone (the sandbox ended first, or died with a killed runner) the rule would stay: it is found
  // here by the pod's ID in its comment, with the chain it jumps to
  await removeMasquerade(options.containerId).catch((e) => errors.push(e));
  if (errors.length > 0) throw errors[0];
}

async function iptables(args: string[]): Promise<string> {
  try {
    return (await run('iptables', ['-w', ...args])).stdout;
  } catch (e) {
    const detail = (e as { stderr?: string }).stderr?.trim() || (e as Error).message;
    throw new RuntimeError(`iptables ${args.join(' ')} failed: ${detail}`, {
      code: 'ERR_RUN_NETWORK',
      requirement: 'ACE-008',
    });
  }
}

/** Deletes the NAT POSTROUTING rules the ptp plugin made for one pod (their comment names the network and the
 * pod's ID) and the chains they jump to. Nothing to do is not an error. */
export async function removeMasquerade(containerId: string): Promise<void> {
  const tag = `id: \\"${containerId}\\"`;
  const rules = (await iptables(['-t', 'nat', '-S', 'POSTROUTING']))
    .split('\n')
    .filter(
      (l) => l.startsWith('-A POSTROUTING ') && l.includes(`name: \\"${NETWORK_NAME}\\"`) && l.includes(tag),
    );
  for (const rule of rules) {
    const chain = / -j (CNI-[0-9a-f]+)$/.exec(rule)?.[1];
    // the rule as iptables printed it, deleted by its own words (the comment is one quoted argument)
    const words = rule.replace(/^-A /, '').match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    await iptables(['-t', 'nat', '-D', ...words.map((w) => (w.startsWith('"') ? JSON.parse(w) : w))]);
    if (chain) {
      await iptables(['-t', 'nat', '-F', chain]).catch(() => undefined);
      await iptables(['-t', 'nat', '-X', chain]).catch(() => undefined);
    }
  }
}
