#!/usr/bin/env node
// Writes a deterministic benchmark corpus: an image layout (manifest + rootfs/) of about 150 MB in about
// 5,000 files, shaped like a real application image: many small text files (source, configuration, logs),
// JSON documents, some structured binary data and a share of incompressible bytes (already-compressed
// assets), nested directories and relative symlinks. gzip -6 shrinks it about 3x, as it does real images.
//
//   node bench/make-corpus.mjs DIR [--mb 150] [--files 5000] [--seed 1]
//
// The same arguments give the same bytes on every machine (no Math.random, no clock, no locale).
import { createCipheriv, createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    mb: { type: 'string', default: '150' },
    files: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '1' },
  },
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/make-corpus.mjs DIR [--mb 150] [--files 5000] [--seed 1]\n');
  process.exit(2);
}
const dir = positionals[0];
const totalBytes = Math.round(Number(values.mb) * 1_000_000);
const fileCount = Number(values.files);
if (!(totalBytes > 0) || !(fileCount > 0)) {
  process.stderr.write('--mb and --files must be positive numbers\n');
  process.exit(2);
}
if (existsSync(dir) && readdirSync(dir).length > 0) {
  process.stderr.write(`${dir}: exists and is not empty; remove it or name a new directory\n`);
  process.exit(2);
}

// mulberry32: small, fast, and the same everywhere.
let state = Number(values.seed) >>> 0 || 1;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (list) => list[Math.floor(rand() * list.length)];

// Incompressible bytes: AES-128-CTR keystream from a key derived from the seed.
const key = createHash('sha256').update(`appc-bench-${values.seed}`).digest();
const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
const randomBytes = (n) => cipher.update(Buffer.alloc(n));

// A vocabulary with a Zipf-like use: a few words very often, most words rarely, as in prose and code.
const syllables = 'ka lo mi ne tra ser ion ent al ic de re co pro con ing ter at ver ex st ab un or'.split(
  ' ',
);
const vocabulary = Array.from({ length: 3000 }, () => {
  let w = '';
  for (let i = int(1, 4); i > 0; i--) w += pick(syllables);
  return w;
});
function word() {
  // rank ~ 1/x: squaring a uniform number favours small indexes.
  const r = rand();
  return vocabulary[Math.floor(r * r * r * r * vocabulary.length)];
}
const identifiers = vocabulary.slice(0, 400).map((w, i) => (i % 3 ? w : `${w}_${pick(syllables)}`));
function ident() {
  const r = rand();
  return identifiers[Math.floor(r * r * r * identifiers.length)];
}

function prose(n) {
  const parts = [];
  let len = 0;
  while (len < n) {
    let line = '';
    for (let i = int(6, 16); i > 0; i--) line += `${word()} `;
    line = `${line.trimEnd()}.\n`;
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

function source(n) {
  const parts = [];
  let len = 0;
  let depth = 0;
  while (len < n) {
    const indent = '  '.repeat(depth);
    let line;
    const k = rand();
    if (k < 0.15 && depth < 5) {
      line = `${indent}function ${ident()}(${ident()}, ${ident()}) {\n`;
      depth++;
    } else if (k < 0.27 && depth > 0) {
      depth--;
      line = `${'  '.repeat(depth)}}\n`;
    } else if (k < 0.5) {
      line = `${indent}const ${ident()} = ${ident()}.${ident()}(${int(0, 4096)});\n`;
    } else if (k < 0.62) {
      line = `${indent}// ${word()} ${word()} ${word()} ${word()} ${word()}\n`;
    } else if (k < 0.8) {
      line = `${indent}if (${ident()} > ${int(0, 99)}) return ${ident()};\n`;
    } else {
      line = `${indent}${ident()}.${ident()} = "${word()} ${word()}";\n`;
    }
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

function jsonDocument(n) {
  const parts = ['[\n'];
  let len = 2;
  let id = int(1, 1e6);
  while (len < n) {
    const rec = `  {"id": ${id++}, "name": "${word()} ${word()}", "kind": "${ident()}", "score": ${(rand() * 1000).toFixed(3)}, "tags": ["${word()}", "${word()}"], "ref": "${randomBytes(3).toString('hex')}", "active": ${rand() < 0.5}},\n`;
    parts.push(rec);
    len += rec.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

function logFile(n) {
  const parts = [];
  let len = 0;
  let t = 1_700_000_000 + int(0, 1e7);
  const levels = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
  const messages = Array.from({ length: 40 }, () => `${word()} ${word()} ${word()}`);
  while (len < n) {
    t += int(0, 30);
    const line = `${new Date(t * 1000).toISOString()} ${pick(levels)} [${pick(identifiers.slice(0, 30))}] ${pick(messages)} id=${int(0, 99999)} took=${int(0, 999)}ms\n`;
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

// Structured binary (tables of small numbers, like object files or databases): about 2x with gzip.
function structuredBinary(n) {
  const buf = Buffer.alloc(n);
  const noise = randomBytes(n);
  for (let i = 0; i < n; i += 4) {
    buf[i] = (i >> 2) & 0xff;
    buf[i + 1] = 0;
    if (i + 2 < n) buf[i + 2] = noise[i] & 0x07;
    if (i + 3 < n) buf[i + 3] = noise[i + 1] < 24 ? noise[i + 2] : 0;
  }
  return buf;
}

// Kinds, with their share of the bytes: text-like data dominates; about a fifth is incompressible.
const kinds = [
  { name: 'source', ext: ['js', 'py', 'go', 'c', 'h', 'ts'], share: 0.3, make: source },
  { name: 'prose', ext: ['md', 'txt', 'html', '1'], share: 0.1, make: prose },
  { name: 'json', ext: ['json'], share: 0.18, make: jsonDocument },
  { name: 'log', ext: ['log'], share: 0.1, make: logFile },
  { name: 'binary', ext: ['so', 'bin', 'db', 'o'], share: 0.2, make: structuredBinary },
  { name: 'compressed', ext: ['png', 'jpg', 'gz', 'woff2', 'zip'], share: 0.12, make: randomBytes },
];

// File sizes: log-normal (median about 6 KB, a long tail up to a few MB), then scaled to the byte budget.
function logNormal() {
  const u = Math.max(rand(), 1e-12);
  const v = rand();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.exp(8.7 + 1.6 * z);
}

// Directory tree: a few top-level trees, nested up to 6 levels.
const tops = ['usr/lib', 'usr/share', 'usr/bin', 'etc', 'opt/app', 'var/lib/data', 'srv/www'];
const dirs = [];
for (let i = 0; i < Math.max(20, Math.round(fileCount / 16)); i++) {
  let d = pick(tops);
  for (let depth = int(0, 5); depth > 0; depth--) d = `${d}/${word().slice(0, 12)}`;
  dirs.push(d);
}

// Assign a kind to each file so that each kind gets about its share of the bytes.
const plan = [];
const raw = Array.from({ length: fileCount }, logNormal);
const rawTotal = raw.reduce((a, b) => a + b, 0);
const budget = kinds.map((k) => k.share * totalBytes);
for (let i = 0; i < fileCount; i++) {
  const size = Math.max(0, Math.round((raw[i] * totalBytes) / rawTotal));
  // the kind with the most budget left, with some chance of a random kind, so sizes mix across kinds
  let k = rand() < 0.3 ? int(0, kinds.length - 1) : budget.indexOf(Math.max(...budget));
  if (budget[k] < size) k = budget.indexOf(Math.max(...budget));
  budget[k] -= size;
  plan.push({ size, kind: kinds[k] });
}

const rootfs = join(dir, 'rootfs');
mkdirSync(rootfs, { recursive: true });
writeFileSync(
  join(dir, 'manifest'),
  `${JSON.stringify(
    {
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      name: 'example.com/bench-corpus',
      labels: [
        { name: 'version', value: `${values.mb}mb-${values.files}f-s${values.seed}` },
        { name: 'os', value: 'linux' },
        { name: 'arch', value: 'amd64' },
      ],
      app: { exec: ['/usr/bin/app'], user: '0', group: '0' },
    },
    null,
    2,
  )}\n`,
);

const used = new Set();
const files = [];
let written = 0;
for (const [i, { size, kind }] of plan.entries()) {
  const d = pick(dirs);
  let name = `${word().slice(0, 16)}-${i}.${pick(kind.ext)}`;
  if (used.has(`${d}/${name}`)) name = `x${i}-${name}`;
  used.add(`${d}/${name}`);
  mkdirSync(join(rootfs, d), { recursive: true });
  const path = join(rootfs, d, name);
  writeFileSync(path, kind.make(size));
  if (kind.name === 'binary' || d === 'usr/bin') chmodSync(path, 0o755);
  files.push(`${d}/${name}`);
  written += size;
}
mkdirSync(join(rootfs, 'usr/bin'), { recursive: true });
writeFileSync(join(rootfs, 'usr/bin/app'), '#!/bin/sh\necho corpus\n', { mode: 0o755 });

// Relative symlinks inside the tree (one file in a hundred), as shared libraries and alternatives have.
let links = 0;
for (let i = 0; i < Math.round(fileCount / 100); i++) {
  const target = pick(files);
  const from = `${pick(dirs)}/link-${i}`;
  if (used.has(from)) continue;
  used.add(from);
  mkdirSync(join(rootfs, posix.dirname(from)), { recursive: true });
  symlinkSync(posix.relative(posix.dirname(from), target), join(rootfs, from));
  links++;
}
process.stdout.write(
  `${JSON.stringify({ dir, files: files.length + 1, symlinks: links, directories: new Set(dirs).size, bytes: written })}\n`,
);
