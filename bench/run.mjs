#!/usr/bin/env node
// End-to-end benchmarks: the built `appc` CLI against the standard tools on the same data, in one run.
//
//   node bench/make-corpus.mjs bench/corpus && node bench/run.mjs bench/corpus [--runs 3] [--work DIR]
//
// Each scenario runs our command and the standard pipeline alternately (which goes first alternates too),
// RUNS times, on a warm page cache. One JSON line per run on stdout, then a summary table and one summary
// JSON line. `ratio` is a throughput ratio: the standard tool's seconds divided by ours (above 1: we are
// faster). `sizeRatio` (build only) is our archive's size divided by gzip -6's (below 1: ours is smaller).
// `cpuSeconds` is user + system time of the command and everything it started.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, q } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '3' },
    work: { type: 'string', default: join(here, 'out') },
    keep: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) {
  process.stderr.write(
    'usage: node bench/run.mjs CORPUS_LAYOUT_DIR [--runs 3] [--work DIR] [--keep]\n' +
      '       (make a corpus with: node bench/make-corpus.mjs bench/corpus)\n',
  );
  process.exit(2);
}
const layout = resolve(positionals[0]);
const runs = Number(values.runs);
const cli = join(here, '..', 'packages', 'cli', 'dist', 'appc.cjs');
for (const [path, what] of [
  [join(layout, 'manifest'), 'a layout (CORPUS/manifest); make one with bench/make-corpus.mjs'],
  [join(layout, 'rootfs'), 'a layout (CORPUS/rootfs/); make one with bench/make-corpus.mjs'],
  [cli, 'the built CLI; run "pnpm build" first'],
]) {
  if (!existsSync(path)) {
    process.stderr.write(`${path}: missing; this needs ${what}\n`);
    process.exit(2);
  }
}
const work = resolve(values.work);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const ourAci = join(work, 'ours.aci');
const theirTgz = join(work, 'theirs.tar.gz');
const tarTree = `tar -C ${q(layout)} -cf - manifest rootfs`;

// CPU time of waited-for children, from /proc/self/stat (cutime + cstime, in clock ticks).
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
function childCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}

function timed(command) {
  const cpu0 = childCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/bin/sh', ['-c', command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuSeconds = childCpuSeconds() - cpu0;
  if (r.status !== 0) {
    process.stderr.write(`failed (exit ${r.status}): ${command}\n${r.stderr}\n`);
    process.exit(1);
  }
  return { seconds, cpuSeconds, stdout: r.stdout.toString().trim() };
}

const appc = (args) => `${q(process.execPath)} ${q(cli)} ${args}`;
const round = (x, d = 3) => Number(x.toFixed(d));

// Warm the page cache so that neither side pays for the first read of the corpus.
timed(`${tarTree} > /dev/null`);
const tarBytes = Number(timed(`${tarTree} | wc -c`).stdout);
// The archive the read-side scenarios use: ours, gzip (parallel members; gzip -dc reads them all).
timed(appc(`build --overwrite ${q(layout)} ${q(ourAci)}`));

const xOurs = join(work, 'x-ours');
const xTheirs = join(work, 'x-theirs');
const scenarios = [
  {
    scenario: 'build',
    ours: appc(`build --overwrite ${q(layout)} ${q(ourAci)}`),
    standard: `${tarTree} | gzip -6 > ${q(theirTgz)}`,
    sizes: () => [statSync(ourAci).size, statSync(theirTgz).size],
  },
  {
    scenario: 'id-layout',
    ours: appc(`id ${q(layout)}`),
    standard: `${tarTree} | sha512sum`,
  },
  {
    scenario: 'id-aci',
    ours: appc(`id ${q(ourAci)}`),
    standard: `gzip -dc ${q(ourAci)} | sha512sum`,
    // the image ID is the SHA-512 of the uncompressed tar (ACI-010): both sides must agree
    check: (ours, standard) => ours === `sha512-${standard.split(' ')[0]}`,
  },
  {
    scenario: 'validate',
    ours: appc(`validate ${q(ourAci)}`),
    standard: `gzip -dc ${q(ourAci)} | tar -t > /dev/null`,
  },
  {
    scenario: 'extract',
    // Each run extracts into a directory of its own, and the trees are removed only after the last run. On ext4
    // without a journal (as here), creating a file skips every inode freed in the last one to six minutes, one
    // by one: a tree extracted right after another was deleted pays for that deletion, and which side paid
    // would depend on the order of the runs rather than on the tool.
    ours: (run) => appc(`extract ${q(ourAci)} ${q(`${xOurs}-${run}`)}`),
    standard: (run) =>
      `mkdir ${q(`${xTheirs}-${run}`)} && gzip -dc ${q(ourAci)} | tar -x -C ${q(`${xTheirs}-${run}`)}`,
    after: () => {
      for (let run = 0; run < runs; run++) {
        rmSync(`${xOurs}-${run}`, { recursive: true, force: true });
        rmSync(`${xTheirs}-${run}`, { recursive: true, force: true });
      }
    },
  },
];

const gzipVersion = execFileSync('gzip', ['--version']).toString().split('\n')[0];
process.stdout.write(
  `${JSON.stringify({ corpus: layout, tarBytes, runs, node: process.versions.node, cpus: availableParallelism(), gzip: gzipVersion })}\n`,
);

// a scenario's command is a string, or a function of the run number
const commandOf = (c, run) => (typeof c === 'function' ? c(run) : c);
const summary = [];
for (const s of scenarios) {
  const ours = [];
  const standard = [];
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? ['appc', 'standard'] : ['standard', 'appc'];
    const result = {};
    for (const tool of order) {
      s.before?.();
      result[tool] = timed(commandOf(tool === 'appc' ? s.ours : s.standard, run));
    }
    if (s.check && !s.check(result.appc.stdout, result.standard.stdout)) {
      process.stderr.write(
        `${s.scenario}: results differ: ${result.appc.stdout} vs ${result.standard.stdout}\n`,
      );
      process.exit(1);
    }
    const sizes = s.sizes?.();
    ours.push(result.appc);
    standard.push(result.standard);
    for (const tool of ['appc', 'standard']) {
      const line = {
        scenario: s.scenario,
        tool,
        command: commandOf(tool === 'appc' ? s.ours : s.standard, run),
        run,
        bytes: tarBytes,
        seconds: round(result[tool].seconds),
        cpuSeconds: round(result[tool].cpuSeconds, 2),
      };
      if (tool === 'appc') line.ratio = round(result.standard.seconds / result.appc.seconds);
      if (sizes) line.sizeBytes = tool === 'appc' ? sizes[0] : sizes[1];
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  }
  s.after?.();
  const row = {
    scenario: s.scenario,
    standard: commandOf(s.standard, 0).replaceAll(layout, 'CORPUS').replaceAll(work, 'WORK'),
    bytes: tarBytes,
    seconds: round(median(ours.map((r) => r.seconds))),
    standardSeconds: round(median(standard.map((r) => r.seconds))),
    cpuSeconds: round(median(ours.map((r) => r.cpuSeconds)), 2),
    standardCpuSeconds: round(median(standard.map((r) => r.cpuSeconds)), 2),
  };
  row.ratio = round(row.standardSeconds / row.seconds, 2);
  row.mbPerSecond = round(tarBytes / 1e6 / row.seconds, 1);
  row.standardMbPerSecond = round(tarBytes / 1e6 / row.standardSeconds, 1);
  if (s.sizes) {
    const [a, b] = s.sizes();
    Object.assign(row, { sizeBytes: a, standardSizeBytes: b, sizeRatio: round(a / b, 4) });
  }
  summary.push(row);
}

const pad = (v, n) => String(v).padStart(n);
process.stdout.write(
  `\n${'scenario'.padEnd(10)} ${'ours s'.padStart(7)} ${'std s'.padStart(7)} ${'ours MB/s'.padStart(9)} ${'std MB/s'.padStart(9)} ${'ratio'.padStart(6)} ${'cpu ours/std'.padStart(13)} ${'size ratio'.padStart(10)}  standard tool\n`,
);
for (const r of summary) {
  process.stdout.write(
    `${r.scenario.padEnd(10)} ${pad(r.seconds.toFixed(2), 7)} ${pad(r.standardSeconds.toFixed(2), 7)} ${pad(r.mbPerSecond, 9)} ${pad(r.standardMbPerSecond, 9)} ${pad(r.ratio.toFixed(2), 6)} ${pad(`${r.cpuSeconds.toFixed(1)}/${r.standardCpuSeconds.toFixed(1)}`, 13)} ${pad(r.sizeRatio === undefined ? '' : r.sizeRatio.toFixed(3), 10)}  ${r.standard}\n`,
  );
}
process.stdout.write(`${JSON.stringify({ summary })}\n`);
if (!values.keep) rmSync(work, { recursive: true, force: true });
