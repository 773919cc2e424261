#!/usr/bin/env node
// Distribution benchmarks, in one run on this machine:
//  1. fetch over loopback: `appc fetch NAME:VERSION` (discovery page, image + signature download, gunzip +
//     SHA-512 image ID + validation in one pass, OpenPGP signature check, store commit) against
//     `curl -s URL | sha512sum` of the same image from the same server. ratio = curl's seconds / ours.
//     Also against the same work done by the standard tools: `curl | tee FILE | gzip -dc | sha512sum`, then
//     `gpg --verify` of the file and `sync FILE` (what fetch does, less the per-entry checks and the index).
//  2. a re-fetch of the unchanged image (ETag -> 304), absolute.
//  3. `appc image list` with 1,000 stored images, against Node's own start-up (`node -e 0`).
//
//   node bench/make-corpus.mjs bench/corpus && node bench/fetch.mjs bench/corpus [--runs 3] [--work DIR]
//
// Real parts only: the image built by `appc build`, a key and signature by GnuPG, a certificate by openssl,
// the site written by `appc publish` and served by scripts/serve-static.mjs over HTTPS on 127.0.0.1.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { median, q } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '3' },
    work: { type: 'string', default: join(here, 'out-fetch') },
  },
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/fetch.mjs CORPUS_LAYOUT_DIR [--runs 3] [--work DIR]\n');
  process.exit(2);
}
const layout = resolve(positionals[0]);
const runs = Number(values.runs);
const cli = join(here, '..', 'packages', 'cli', 'dist', 'appc.cjs');
if (!existsSync(cli)) {
  process.stderr.write(`${cli}: missing; run "pnpm build" first\n`);
  process.exit(2);
}
const work = resolve(values.work);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const w = (name) => join(work, name);

function sh(command) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    process.stderr.write(`failed (exit ${r.status}): ${command}\n${r.stderr}\n`);
    process.exit(1);
  }
  return { seconds, stdout: r.stdout.toString().trim() };
}

// the image, its key and signature
const appc = `node ${q(cli)}`;
const manifest = JSON.parse(readFileSync(join(layout, 'manifest'), 'utf8'));
const { os, arch } = Object.fromEntries(manifest.labels.map((l) => [l.name, l.value]));
const name = manifest.name;
const version = manifest.labels.find((l) => l.name === 'version')?.value;
if (!os || !arch || !version) {
  process.stderr.write('the corpus manifest needs version, os and arch labels\n');
  process.exit(2);
}
const id = sh(`${appc} build --deterministic ${q(layout)} ${q(w('image.aci'))}`).stdout;
const gnupg = w('gnupg');
mkdirSync(gnupg, { mode: 0o700 });
const gpg = (args) =>
  execFileSync(
    'gpg',
    ['--batch', '--homedir', gnupg, '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
gpg(['--quick-gen-key', 'Bench <bench@example.com>', 'ed25519', 'sign', 'never']);
const fpr = gpg(['--with-colons', '--list-keys'])
  .toString()
  .split('\n')
  .find((l) => l.startsWith('fpr:'))
  .split(':')[9];
writeFileSync(w('pub.asc'), gpg(['--armor', '--export', fpr]));
gpg(['--armor', '--detach-sign', '--output', w('image.aci.asc'), w('image.aci')]);

// certificate, server, site
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const host = name.split('/')[0];
const ssl = (args) => execFileSync('openssl', args, { cwd: work, stdio: 'ignore' });
ssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bench CA']);
ssl(['req', ...ec, '-keyout', 'site.key', '-out', 'site.csr', '-subj', `/CN=${host}`]);
writeFileSync(w('ext.cnf'), `subjectAltName=DNS:${host}\nbasicConstraints=CA:FALSE\n`);
ssl([
  'x509',
  '-req',
  '-in',
  'site.csr',
  '-CA',
  'ca.crt',
  '-CAkey',
  'ca.key',
  '-CAcreateserial',
  '-out',
  'site.crt',
  '-days',
  '2',
  '-extfile',
  'ext.cnf',
]);
mkdirSync(w('site'));
const server = spawn(
  process.execPath,
  [
    join(here, '..', 'scripts', 'serve-static.mjs'),
    '--dir',
    w('site'),
    '--cert',
    w('site.crt'),
    '--key',
    w('site.key'),
    '--port-file',
    w('port'),
  ],
  { stdio: 'ignore' },
);
process.on('exit', () => server.kill());
let port = 0;
for (let i = 0; i < 100 && !port; i++) {
  if (existsSync(w('port'))) port = Number(readFileSync(w('port'), 'utf8'));
  if (!port) spawnSync('sleep', ['0.05']);
}
sh(
  `${appc} publish --out ${q(w('site'))} --base-url https://${host}:${port} --key ${q(w('pub.asc'))} ${q(w('image.aci'))}`,
);
const g = `--dir ${q(w('state'))} --local-config ${q(w('etc'))} --system-config ${q(w('none'))}`;
const net = `--port ${port} --resolve ${host}=127.0.0.1 --ca ${q(w('ca.crt'))}`;
sh(`${appc} ${g} trust add --prefix ${name} --fingerprint ${fpr} ${q(w('pub.asc'))}`);
const url = `https://${host}:${port}/images/${name}-${version}-${os}-${arch}.aci`;
const curl = `curl -sf --cacert ${q(w('ca.crt'))} --resolve ${host}:${port}:127.0.0.1 ${q(url)} | sha512sum`;
const ours = `${appc} ${g} fetch ${net} ${name}:${version}`;
// the work fetch must do, done by the standard tools: keep the file, inflate and hash it (the image ID), check
// the signature with gpg, make the file durable (no per-entry checks, no discovery, no index)
const gpgVerify = `gpg --batch --quiet --homedir ${q(gnupg)} --verify ${q(w('image.aci.asc'))} ${q(w('same.aci'))}`;
const same = `${curl.replace(' | sha512sum', '')} | tee ${q(w('same.aci'))} | gzip -dc | sha512sum >/dev/null && ${gpgVerify} 2>/dev/null && sync ${q(w('same.aci'))}`;
const size = Number(sh(`stat -c %s ${q(w('image.aci'))}`).stdout);

const rows = [];
const oursT = [];
const theirsT = [];
const sameT = [];
const refetchT = [];
for (let i = 0; i < runs; i++) {
  rmSync(w('state'), { recursive: true, force: true });
  rmSync(w('same.aci'), { force: true });
  const order = i % 2 === 0 ? ['ours', 'theirs', 'same'] : ['same', 'theirs', 'ours'];
  for (const who of order) {
    if (who === 'ours') {
      const r = sh(ours);
      if (r.stdout !== id) {
        process.stderr.write(`fetch printed ${r.stdout}, expected ${id}\n`);
        process.exit(1);
      }
      oursT.push(r.seconds);
    } else if (who === 'theirs') theirsT.push(sh(curl).seconds);
    else sameT.push(sh(`bash -o pipefail -c ${q(same)}`).seconds);
  }
  refetchT.push(sh(ours).seconds);
  const line = {
    scenario: 'fetch',
    run: i + 1,
    oursSeconds: oursT.at(-1),
    theirsSeconds: theirsT.at(-1),
    sameWorkSeconds: sameT.at(-1),
    refetchSeconds: refetchT.at(-1),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
rows.push({
  scenario: 'fetch (loopback https)',
  standard: 'curl -s URL | sha512sum',
  oursSeconds: median(oursT),
  theirsSeconds: median(theirsT),
  ratio: median(theirsT) / median(oursT),
  bytes: size,
});
rows.push({
  scenario: 'fetch, same work',
  standard: 'curl|tee|gunzip|sha512sum; gpg',
  oursSeconds: median(oursT),
  theirsSeconds: median(sameT),
  ratio: median(sameT) / median(oursT),
  bytes: size,
});
rows.push({
  scenario: 're-fetch unchanged (304)',
  standard: '-',
  oursSeconds: median(refetchT),
  theirsSeconds: null,
  ratio: null,
  bytes: 0,
});

// image list with 1,000 stored images
const { openStore } = await import(
  pathToFileURL(join(here, '..', 'packages', 'store', 'dist', 'index.js')).href
);
const { writeTar, compress } = await import(
  pathToFileURL(join(here, '..', 'conformance', 'vectors', 'dist', 'index.js')).href
);
const store = await openStore(w('list-state/images'));
for (let i = 0; i < 1000; i++) {
  const m = {
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name: `example.com/app-${i % 50}`,
    labels: [
      { name: 'version', value: `1.${i}.0` },
      { name: 'os', value: os },
      { name: 'arch', value: arch },
    ],
  };
  const tar = writeTar({
    entries: [
      { name: 'manifest', contents: JSON.stringify(m) },
      { name: 'rootfs/', type: 'dir' },
      { name: 'rootfs/file', contents: `image ${i}\n` },
    ],
  });
  await store.put(
    (async function* () {
      yield compress(tar, 'gzip');
    })(),
    { file: `image-${i}` },
  );
}
store.close();
const listT = [];
const nodeT = [];
const list = `${appc} --dir ${q(w('list-state'))} image list --no-legend`;
for (let i = 0; i < Math.max(5, runs); i++) {
  const r = sh(list);
  if (r.stdout.split('\n').length !== 1000) {
    process.stderr.write('image list did not print 1,000 lines\n');
    process.exit(1);
  }
  listT.push(r.seconds);
  nodeT.push(sh(`node -e 0`).seconds);
}
rows.push({
  scenario: 'image list, 1,000 images',
  standard: 'node -e 0 (start-up)',
  oursSeconds: median(listT),
  theirsSeconds: median(nodeT),
  ratio: median(nodeT) / median(listT),
  bytes: 0,
});

process.stdout.write(
  '\nscenario                    standard                          ours s   theirs s  ratio\n',
);
for (const r of rows)
  process.stdout.write(
    `${r.scenario.padEnd(27)} ${r.standard.padEnd(33)} ${r.oursSeconds.toFixed(3).padStart(6)}  ${r.theirsSeconds === null ? '     -' : r.theirsSeconds.toFixed(3).padStart(8)}  ${r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`}\n`,
  );
process.stdout.write(`${JSON.stringify({ summary: rows, imageBytes: size, runs })}\n`);
server.kill();
