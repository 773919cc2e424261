#!/usr/bin/env node
// Executor benchmark (issue 4), in one run on this machine, as root: start-to-exit of a one-app pod from a cached
// image, `appc run --net=none IMAGE_ID --exec /bin/true` (a whole CLI process: Node's start-up, the store, the
// overlay over the cached tree, the record, the metadata service and its forwarder, the catatonit sandbox, the
// app, the cleanup), against bare `runc run` of a prepared bundle running the same program in the same busybox
// rootfs. Target: appc <= 2 x runc + Node's own start-up (`node -e 0`). Medians of RUNS interleaved runs.
//
//   pnpm build && node bench/run-pod.mjs [--runs 15] [--baseline OTHER/packages/cli/dist/appc.cjs]
//
// --baseline adds another build of the CLI (e.g. a copy of the tree before a change) to the same interleaved rounds,
// on its own state root with the same image, so that old and new are compared on the same machine and hour.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    work: { type: 'string', default: join(here, 'out-pod') },
    baseline: { type: 'string' },
  },
});
if (process.getuid?.() !== 0) {
  process.stderr.write('bench/run-pod.mjs needs root (runc, mounts, namespaces)\n');
  process.exit(2);
}
const runs = Number(values.runs);
const work = values.work;
const cli = join(here, '..', 'packages', 'cli', 'dist', 'appc.cjs');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const w = (p) => join(work, p);

// the image: busybox as the whole rootfs
const rootfs = w('layout/rootfs');
mkdirSync(join(rootfs, 'bin'), { recursive: true });
copyFileSync(
  execFileSync('sh', ['-c', 'command -v busybox']).toString().trim(),
  join(rootfs, 'bin', 'busybox'),
);
for (const a of ['sh', 'true']) symlinkSync('busybox', join(rootfs, 'bin', a));
const arch = { x64: 'amd64', arm64: 'aarch64' }[process.arch] ?? process.arch;
writeFileSync(
  w('layout/manifest'),
  JSON.stringify({
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name: 'example.com/true',
    labels: [
      { name: 'version', value: '1' },
      { name: 'os', value: 'linux' },
      { name: 'arch', value: arch },
    ],
    app: { exec: ['/bin/true'], user: '0', group: '0' },
  }),
);
const appc = (...args) => ['node', cli, '--dir', w('state'), '--local-config', w('etc'), ...args];
const base = (...args) => [
  'node',
  values.baseline,
  '--dir',
  w('state-base'),
  '--local-config',
  w('etc'),
  ...args,
];
const sh = (argv) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    process.stderr.write(`failed (${r.status}): ${argv.join(' ')}\n${r.stderr}\n`);
    process.exit(1);
  }
  return { s, out: r.stdout.toString().trim() };
};
sh(appc('build', w('layout'), w('true.aci')));
const id = sh(appc('--insecure-options=image', 'fetch', w('true.aci'))).out;
sh(appc('run', '--net=none', id)); // renders the tree once: later runs start from the cache
if (values.baseline) {
  sh(base('--insecure-options=image', 'fetch', w('true.aci')));
  sh(base('run', '--net=none', id));
}

// the bare runc bundle: runc's default spec, the same rootfs, the same program
mkdirSync(w('bundle'));
execFileSync('cp', ['-a', rootfs, w('bundle/rootfs')]);
execFileSync('runc', ['spec'], { cwd: w('bundle') });
const spec = JSON.parse(execFileSync('cat', [w('bundle/config.json')]).toString());
spec.process.args = ['/bin/true'];
spec.process.terminal = false;
writeFileSync(w('bundle/config.json'), JSON.stringify(spec));

const ours = [];
const runcT = [];
const nodeT = [];
const baseT = [];
for (let i = 0; i < runs; i++) {
  const jobs = [
    () => ours.push(sh(appc('run', '--net=none', id)).s),
    ...(values.baseline ? [() => baseT.push(sh(base('run', '--net=none', id)).s)] : []),
    () => runcT.push(sh(['runc', '--root', w('runc-root'), 'run', '--bundle', w('bundle'), `bench-${i}`]).s),
    () => nodeT.push(sh(['node', '-e', '0']).s),
  ];
  for (const j of i % 2 === 0 ? jobs : jobs.reverse()) j();
}
sh(appc('gc', '--grace-period', '0s'));
if (values.baseline) sh(base('gc', '--grace-period', '0s'));
const o = median(ours);
const r = median(runcT);
const n = median(nodeT);
const budget = 2 * r + n;
process.stdout.write(
  `appc run (one app, cached image)  ${o.toFixed(3)} s\nrunc run (prepared bundle)        ${r.toFixed(3)} s\nnode -e 0                         ${n.toFixed(3)} s\n` +
    `target 2 x runc + node = ${budget.toFixed(3)} s: ${o <= budget ? 'met' : 'not met'} (appc / (runc + node) = ${(o / (r + n)).toFixed(2)}x)\n`,
);
if (values.baseline)
  process.stdout.write(`baseline appc run                 ${median(baseT).toFixed(3)} s\n`);
process.stdout.write(
  `${JSON.stringify({ appcSeconds: o, runcSeconds: r, nodeSeconds: n, budgetSeconds: budget, runs, ...(values.baseline ? { baselineSeconds: median(baseT) } : {}) })}\n`,
);
