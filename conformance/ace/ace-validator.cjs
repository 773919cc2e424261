#!/usr/bin/node
// The in-pod ACE validator (VAL-001..VAL-008): one program, run in four modes by two images of one pod. It runs
// inside the pod under the executor being judged, with Node copied into the image as its only runtime, so it
// uses nothing but Node's built-in modules. Every check prints one line on stdout,
//   ace-validator <mode>: ok|not ok <REQUIREMENT-ID> <what>
// then the mode prints "<mode> OK" and exits 0, or "<mode> FAIL" with one error per line on stderr and exits 1.
'use strict';
const fs = require('node:fs');
const http = require('node:http');

const mode = process.argv[2];
const errors = [];
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAIN = 'ace-validator-main';
/** How long one metadata request may take (the reference allowed 100 ms; a forwarder on a loaded host needs more). */
const REQUEST_MS = 2000;

function check(requirement, ok, what, detail) {
  process.stdout.write(`ace-validator ${mode}: ${ok ? 'ok' : 'not ok'} ${requirement} ${what}\n`);
  if (!ok) errors.push(`${requirement} ${what}${detail === undefined ? '' : `: ${detail}`}`);
  return ok;
}

const exists = (path) => fs.existsSync(path);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(path, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (exists(path)) return true;
  return exists(path);
}

/** Markers at the root of the main app's filesystem order the handlers and the main process (VAL-002). */
function order(want, create) {
  const seen = {};
  for (const m of ['/prestart', '/main', '/poststop']) seen[m] = exists(m);
  const wrong = Object.keys(want).filter((m) => seen[m] !== want[m]);
  check(
    'ACE-014',
    wrong.length === 0,
    `runs in order: ${Object.entries(want)
      .map(([m, w]) => `${m} ${w ? 'present' : 'absent'}`)
      .join(', ')}`,
    wrong.map((m) => `${m} is ${seen[m] ? 'present' : 'absent'}`).join(', '),
  );
  try {
    fs.writeFileSync(create, `${mode}\n`);
    check('VAL-002', true, `creates ${create} on the root filesystem it shares with the other stages`);
  } catch (e) {
    check(
      'VAL-002',
      false,
      `creates ${create} on the root filesystem it shares with the other stages`,
      e.message,
    );
  }
}

function request(method, path, form) {
  const base = process.env.AC_METADATA_URL;
  return new Promise((resolve, reject) => {
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    const req = http.request(
      `${base}${path}`,
      {
        method,
        timeout: REQUEST_MS,
        headers: body === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            type: res.headers['content-type'],
            text: Buffer.concat(parts).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** GET a metadata path; the answer's body, checked for status 200 and the exact Content-Type. */
async function get(requirement, path, type) {
  try {
    const r = await request('GET', path);
    const ok = r.status === 200 && r.type === type;
    check(requirement, ok, `GET ${path} is 200 ${type}`, `${r.status} ${r.type}`);
    return ok ? r.text : undefined;
  } catch (e) {
    check(requirement, false, `GET ${path} is 200 ${type}`, e.message);
    return undefined;
  }
}

function parse(requirement, what, text) {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text);
    check(requirement, true, `${what} is JSON`);
    return value;
  } catch (e) {
    check(requirement, false, `${what} is JSON`, e.message);
    return undefined;
  }
}

/** Annotations compare as lists of {name, value}; an empty list counts as absent (VAL-005). */
function sameAnnotations(a, b) {
  const norm = (x) => JSON.stringify((x ?? []).map((e) => [e.name, e.value]));
  return norm(a) === norm(b);
}

/** The META-006 merge: the image's annotations, then the pod app's, the later winning by name. */
function merged(image, app) {
  const out = new Map();
  for (const e of [...(image ?? []), ...(app ?? [])]) out.set(e.name, e.value);
  return [...out].map(([name, value]) => ({ name, value }));
}

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=us-ascii';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function metadata() {
  if (!check('META-001', typeof process.env.AC_METADATA_URL === 'string', 'AC_METADATA_URL is set')) return;
  const pod = parse(
    'META-004',
    'pod/manifest',
    await get('META-004', '/acMetadata/v1/pod/manifest', JSON_TYPE),
  );
  if (pod !== undefined)
    check(
      'META-004',
      pod.acKind === 'PodManifest' && Array.isArray(pod.apps),
      'pod/manifest is a pod manifest with its apps',
    );
  const uuid = await get('META-005', '/acMetadata/v1/pod/uuid', TEXT_TYPE);
  if (uuid !== undefined) check('META-005', UUID.test(uuid), 'pod/uuid is a canonical UUID', uuid);
  const annotations = parse(
    'META-003',
    'pod/annotations',
    await get('META-003', '/acMetadata/v1/pod/annotations', JSON_TYPE),
  );
  if (pod !== undefined && annotations !== undefined)
    check(
      'META-003',
      sameAnnotations(annotations, pod.annotations),
      "pod/annotations equals the pod manifest's annotations",
    );
  for (const app of pod?.apps ?? []) {
    const at = `/acMetadata/v1/apps/${app.name}`;
    const image = parse(
      'META-007',
      `${app.name}'s image manifest`,
      await get('META-007', `${at}/image/manifest`, JSON_TYPE),
    );
    const id = await get('META-008', `${at}/image/id`, TEXT_TYPE);
    if (id !== undefined)
      check('META-008', id === app.image.id, `${app.name}'s image/id is the pod's image id`, id);
    const appAnnotations = parse(
      'META-006',
      `${app.name}'s annotations`,
      await get('META-006', `${at}/annotations`, JSON_TYPE),
    );
    if (image !== undefined && appAnnotations !== undefined)
      check(
        'META-006',
        sameAnnotations(appAnnotations, merged(image.annotations, app.annotations)),
        `${app.name}'s annotations are the image's merged with the pod app's`,
      );
  }
  // VAL-006: the pod signs a text, then the signature verifies against the pod's own UUID
  if (uuid === undefined) return;
  const content = 'Old MacDonald Had A Farm';
  try {
    const signed = await request('POST', '/acMetadata/v1/pod/hmac/sign', { content });
    if (
      !check(
        'META-009',
        signed.status === 200 && signed.text.length > 0,
        'hmac/sign answers 200 with a signature',
        `${signed.status}`,
      )
    )
      return;
    const verified = await request('POST', '/acMetadata/v1/pod/hmac/verify', {
      content,
      uuid,
      signature: signed.text,
    });
    check(
      'META-010',
      verified.status === 200,
      "hmac/verify accepts the pod's own signature",
      `${verified.status}`,
    );
    const forged = await request('POST', '/acMetadata/v1/pod/hmac/verify', {
      content: `${content}!`,
      uuid,
      signature: signed.text,
    });
    check(
      'META-010',
      forged.status !== 200,
      'hmac/verify refuses the signature of another text',
      `${forged.status}`,
    );
  } catch (e) {
    check('META-009', false, 'hmac/sign and hmac/verify answer', e.message);
  }
}

/** VAL-004: `path` is a read-write mount point by /proc/self/mountinfo. */
function mountPoint(path) {
  let line;
  try {
    line = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[4] === path)
      .at(-1);
  } catch (e) {
    check('ACE-004', false, `${path} is a mount point`, e.message);
    return;
  }
  if (check('ACE-004', line !== undefined, `${path} is a mount point`))
    check('ACE-004', (line[5] ?? '').split(',').includes('rw'), `${path} is mounted read-write`, line[5]);
}

/** ISO-010: with no capability isolator, the bounding set is exactly the spec's default set of 14. */
const DEFAULT_CAPS = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31]; // CHOWN ... SETFCAP
function capabilities() {
  let bounding;
  try {
    bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch (e) {
    check('ISO-010', false, 'the bounding set is the default set of 14 capabilities', e.message);
    return;
  }
  const want = DEFAULT_CAPS.reduce((m, bit) => m | (1n << BigInt(bit)), 0n);
  check(
    'ISO-010',
    bounding !== undefined && BigInt(`0x${bounding}`) === want,
    'the bounding set is the default set of 14 capabilities',
    `CapBnd ${bounding} instead of ${want.toString(16).padStart(16, '0')}`,
  );
}

/** ISO-015: main's memory limit of 1G, where the app can see its cgroup (no spec line says it must). */
function memoryLimit() {
  const files = ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'];
  const file = files.find((f) => exists(f));
  if (file === undefined) {
    process.stdout.write(
      `ace-validator ${mode}: skip ISO-015 the memory limit (no cgroup visible in the app)\n`,
    );
    return;
  }
  const value = Number(fs.readFileSync(file, 'utf8').trim());
  // 1G is 10^9 bytes; the kernel keeps a whole number of pages
  check('ISO-015', value <= 1e9 && value > 1e9 - 65536, 'the memory limit is 1G', `${file}: ${value}`);
}

function hostname() {
  try {
    return fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function main() {
  order({ '/prestart': true, '/main': false, '/poststop': false }, '/main');
  check('ACE-010', process.env.PATH === PATH, 'PATH is the ACE default', process.env.PATH);
  check('ACE-010', process.env.AC_APP_NAME === MAIN, `AC_APP_NAME is ${MAIN}`, process.env.AC_APP_NAME);
  check('ACE-010', typeof process.env.container === 'string', 'container names the executor');
  check(
    'VAL-003',
    process.env.IN_ACE_VALIDATOR === 'correct',
    "the image's environment is set",
    process.env.IN_ACE_VALIDATOR,
  );
  check(
    'ACE-011',
    process.cwd() === '/opt/acvalidator',
    'the working directory is /opt/acvalidator',
    process.cwd(),
  );
  check('ACE-013', process.getuid() === 0 && process.getgid() === 0, 'runs as user and group 0');
  capabilities();
  memoryLimit();
  mountPoint('/db');
  await metadata();
  // VAL-007: the sidekick writes first; both see the other's file through the one empty volume
  if (
    check(
      'ACE-007',
      await waitFor('/db/sidekick', 5000),
      'sees the file the sidekick wrote to the shared volume',
    )
  ) {
    const theirs = fs.readFileSync('/db/sidekick', 'utf8').split('\n');
    // ACE-003: one UTS and one PID namespace for the pod: the same host name, and the sidekick's process seen
    check(
      'ACE-003',
      theirs[0] === hostname(),
      'shares the UTS namespace (one host name)',
      `${theirs[0]} vs ${hostname()}`,
    );
    const pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    const sidekick = pids.some((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('sidekick');
      } catch {
        return false;
      }
    });
    check('ACE-003', sidekick, "shares the PID namespace (the sidekick's process is visible)");
  }
  fs.writeFileSync('/db/main', 'main\n');
}

async function sidekick() {
  check('VAL-007', !exists('/db/sidekick'), 'the shared volume starts without /db/sidekick');
  capabilities();
  mountPoint('/db');
  fs.writeFileSync('/db/sidekick', `${hostname()}\n`);
  check('VAL-007', await waitFor('/db/main', 5000), 'sees the file main wrote to the shared volume');
}

async function run() {
  switch (mode) {
    case 'prestart':
      order({ '/prestart': false, '/main': false, '/poststop': false }, '/prestart');
      break;
    case 'main':
      await main();
      break;
    case 'sidekick':
      await sidekick();
      break;
    case 'poststop':
      order({ '/prestart': true, '/main': true, '/poststop': false }, '/poststop');
      break;
    default:
      process.stderr.write('usage: ace-validator prestart|main|sidekick|poststop\n');
      process.exitCode = 2;
      return;
  }
  if (errors.length === 0) {
    process.stdout.write(`${mode} OK\n`);
  } else {
    process.stdout.write(`${mode} FAIL\n`);
    process.stderr.write(`${errors.join('\n')}\n`);
    process.exitCode = 1;
  }
}

run().catch((e) => {
  process.stdout.write(`${mode} FAIL\n`);
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 1;
});
