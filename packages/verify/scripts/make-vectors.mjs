#!/usr/bin/env node
// Writes conformance/vectors/verify/: key and signature fixtures made by real GnuPG (keys/, sigs/) and the
// vector files. Verdicts are written by hand in the tables below from VERIFY-* of REQUIREMENTS.md, never
// computed by @appc/verify. Run from the repository root: node packages/verify/scripts/make-vectors.mjs
// Keys change on every run (new fingerprints), so run it only to change the vectors.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = join(process.cwd(), 'conformance/vectors/verify');
rmSync(join(out, 'keys'), { recursive: true, force: true });
rmSync(join(out, 'sigs'), { recursive: true, force: true });
mkdirSync(join(out, 'keys'), { recursive: true });
mkdirSync(join(out, 'sigs'), { recursive: true });

const home = mkdtempSync(join(tmpdir(), 'vec-gpg-'));
const gpg = (args, options = {}) =>
  execFileSync('gpg', ['--batch', '--homedir', home, '--no-tty', '--pinentry-mode', 'loopback', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });

function genKey(uid, algo, expire = 'never', time) {
  const t = time ? ['--faked-system-time', time] : [];
  gpg([...t, '--passphrase', '', '--quick-gen-key', uid, algo, 'sign', expire]);
  const colons = gpg([...t, '--with-colons', '--list-keys', uid]).toString();
  return colons
    .split('\n')
    .find((l) => l.startsWith('fpr:'))
    .split(':')[9]
    .toLowerCase();
}

const fp = {
  alice: genKey('Alice Vector <alice@example.com>', 'ed25519'),
  bob: genKey('Bob Vector <bob@example.com>', 'rsa2048'),
  mallory: genKey('Mallory Vector <mallory@example.com>', 'ed25519'),
  expired: genKey('Expired Vector <expired@example.com>', 'ed25519', '1d', '20200101T000000'),
  revoked: genKey('Revoked Vector <revoked@example.com>', 'ed25519'),
};

const DATA = 'appc verify vector payload\n';
const dataFile = join(home, 'payload');
writeFileSync(dataFile, DATA);
function detach(who, file, armor = true, time) {
  gpg([
    ...(time ? ['--faked-system-time', time] : []),
    '--passphrase',
    '',
    '--local-user',
    fp[who],
    ...(armor ? ['--armor'] : []),
    '--output',
    join(out, 'sigs', file),
    '--detach-sign',
    dataFile,
  ]);
}
detach('alice', 'alice.asc');
detach('bob', 'bob.sig', false);
detach('mallory', 'mallory.asc');
detach('expired', 'expired.asc', true, '20200101T120000');
detach('revoked', 'revoked.asc');
// revoke with the certificate gpg stored, then export the revoked key
const rev = readdirSync(join(home, 'openpgp-revocs.d')).find((f) => f.toLowerCase().startsWith(fp.revoked));
writeFileSync(
  join(home, 'rev.asc'),
  readFileSync(join(home, 'openpgp-revocs.d', rev), 'utf8').replace(/^:-----BEGIN/m, '-----BEGIN'),
);
gpg(['--import', join(home, 'rev.asc')]);
for (const who of Object.keys(fp)) {
  writeFileSync(join(out, 'keys', `${who}.asc`), gpg(['--armor', '--export', fp[who]]));
}
execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
rmSync(home, { recursive: true, force: true });

const A = fp.alice;
const B = fp.bob;
const M = fp.mallory;
const key = (who) => `keys/${who}.asc`;
const v = (id, requirement, title, input, expect) => ({
  id: `verify/${id}`,
  requirement,
  title,
  input,
  expect,
  source: 'ours',
});

// Trust-store layouts: which fingerprints apply to a name (VERIFY-003, VERIFY-004).
const store = (id, req, title, files, name, expect) =>
  v(id, req, title, { kind: 'trustStore', files, name }, expect);
const layouts = [
  store('store-empty', 'VERIFY-001', 'an empty store trusts no key', {}, 'example.com/app', {
    valid: true,
    fingerprints: [],
  }),
  store(
    'store-exact-prefix',
    'VERIFY-004',
    'a key stored for the exact name applies',
    { [`local/trustedkeys/prefix.d/example.com/app/${A}`]: key('alice') },
    'example.com/app',
    { valid: true, fingerprints: [A] },
  ),
  store(
    'store-parent-prefix',
    'VERIFY-004',
    'a key stored for the first name component covers deeper names',
    { [`local/trustedkeys/prefix.d/example.com/${A}`]: key('alice') },
    'example.com/x/y',
    { valid: true, fingerprints: [A] },
  ),
  store(
    'store-sibling-string',
    'VERIFY-004',
    'ours: a key for example.com/foo does not cover example.com/foobar (rkt: it does)',
    { [`local/trustedkeys/prefix.d/example.com/foo/${A}`]: key('alice') },
    'example.com/foobar',
    { valid: true, fingerprints: [], reference: { fingerprints: [A] } },
  ),
  store(
    'store-child-prefix',
    'VERIFY-004',
    'a key for a deeper prefix does not cover its parent',
    { [`local/trustedkeys/prefix.d/example.com/app/sub/${A}`]: key('alice') },
    'example.com/app',
    { valid: true, fingerprints: [] },
  ),
  store(
    'store-other-host',
    'VERIFY-004',
    'a key for another host does not apply',
    { [`system/trustedkeys/prefix.d/example.org/${A}`]: key('alice') },
    'example.com/app',
    { valid: true, fingerprints: [] },
  ),
  store(
    'store-root-system',
    'VERIFY-003',
    'a system root key applies to every name',
    { [`system/trustedkeys/root.d/${A}`]: key('alice') },
    'other.org/any',
    { valid: true, fingerprints: [A] },
  ),
  store(
    'store-order',
    'VERIFY-003',
    'keys come in loading order: system root, local root, system prefix, local prefix',
    {
      [`local/trustedkeys/prefix.d/example.com/${M}`]: key('mallory'),
      [`system/trustedkeys/prefix.d/example.com/${B}`]: key('bob'),
      [`local/trustedkeys/root.d/${A}`]: key('alice'),
    },
    'example.com/app',
    { valid: true, fingerprints: [A, B, M] },
  ),
  store(
    'store-mask-prefix',
    'VERIFY-003',
    'an empty local file masks the system key of the same fingerprint',
    {
      [`system/trustedkeys/prefix.d/example.com/${A}`]: key('alice'),
      [`local/trustedkeys/prefix.d/example.com/${A}`]: '',
    },
    'example.com/app',
    { valid: true, fingerprints: [] },
  ),
  store(
    'store-mask-root',
    'VERIFY-003',
    'an empty local root.d file masks a system root key',
    {
      [`system/trustedkeys/root.d/${A}`]: key('alice'),
      [`system/trustedkeys/root.d/${B}`]: key('bob'),
      [`local/trustedkeys/root.d/${A}`]: '',
    },
    'example.com/app',
    { valid: true, fingerprints: [B] },
  ),
  store(
    'store-mask-deeper',
    'VERIFY-003',
    'a mask under a deeper prefix hides the key only for names under it',
    {
      [`system/trustedkeys/prefix.d/example.com/${A}`]: key('alice'),
      [`local/trustedkeys/prefix.d/example.com/private/${A}`]: '',
    },
    'example.com/public',
    { valid: true, fingerprints: [A] },
  ),
  store(
    'store-mask-deeper-hit',
    'VERIFY-003',
    'the same deeper mask hides the key for a name under it',
    {
      [`system/trustedkeys/prefix.d/example.com/${A}`]: key('alice'),
      [`local/trustedkeys/prefix.d/example.com/private/${A}`]: '',
    },
    'example.com/private/app',
    { valid: true, fingerprints: [] },
  ),
  store(
    'store-local-overrides',
    'VERIFY-003',
    'a local key file of a system key does not duplicate it',
    {
      [`system/trustedkeys/prefix.d/example.com/${A}`]: key('alice'),
      [`local/trustedkeys/prefix.d/example.com/${A}`]: key('alice'),
    },
    'example.com/app',
    { valid: true, fingerprints: [A] },
  ),
  store(
    'store-wrong-name',
    'VERIFY-003',
    'a key file named after another fingerprint is an error',
    { [`local/trustedkeys/prefix.d/example.com/${B}`]: key('alice') },
    'example.com/app',
    { valid: false, code: 'ERR_VERIFY_KEY_FILE_NAME' },
  ),
  store(
    'store-upper-case-name',
    'VERIFY-003',
    'an upper-case file name is an error',
    { [`local/trustedkeys/root.d/${A.toUpperCase()}`]: key('alice') },
    'example.com/app',
    { valid: false, code: 'ERR_VERIFY_KEY_FILE_NAME' },
  ),
  store(
    'store-not-a-key',
    'VERIFY-003',
    'a key file that holds no key is an error',
    { [`local/trustedkeys/root.d/${A}`]: 'sigs/alice.asc' },
    'example.com/app',
    { valid: false, code: 'ERR_VERIFY_MALFORMED_KEY' },
  ),
  store(
    'store-subdir-of-root',
    'VERIFY-003',
    'directories inside root.d are ignored',
    { [`local/trustedkeys/root.d/sub/${A}`]: key('alice') },
    'example.com/app',
    { valid: true, fingerprints: [] },
  ),
  store(
    'store-other-branch-error',
    'VERIFY-004',
    'a bad file under a prefix that does not apply is not read',
    { [`local/trustedkeys/prefix.d/example.org/${B}`]: key('alice') },
    'example.com/app',
    { valid: true, fingerprints: [] },
  ),
  store(
    'store-bad-name',
    'VERIFY-004',
    'a name with .. is refused before any directory is read',
    {},
    'example.com/../etc',
    { valid: false, code: 'ERR_VERIFY_INVALID_NAME' },
  ),
];

// Signatures over DATA made by gpg 2.2 (VERIFY-002, VERIFY-006, VERIFY-009).
const sig = (id, req, title, files, signature, name, data, expect) =>
  v(id, req, title, { kind: 'signature', files, name, data, signature }, expect);
const aliceAt = { [`local/trustedkeys/prefix.d/example.com/${A}`]: key('alice') };
const signatures = [
  sig(
    'sig-good-ed25519',
    'VERIFY-009',
    'an armored ed25519 signature by gpg verifies',
    aliceAt,
    'sigs/alice.asc',
    'example.com/app',
    DATA,
    { valid: true, fingerprint: A },
  ),
  sig(
    'sig-good-binary',
    'VERIFY-002',
    'a binary RSA signature verifies when no armor is found',
    { [`system/trustedkeys/root.d/${B}`]: key('bob') },
    'sigs/bob.sig',
    'example.com/app',
    DATA,
    { valid: true, fingerprint: B },
  ),
  sig(
    'sig-tampered',
    'VERIFY-002',
    'one changed byte fails',
    aliceAt,
    'sigs/alice.asc',
    'example.com/app',
    DATA.replace('payload', 'paylOad'),
    { valid: false, code: 'ERR_VERIFY_BAD_SIGNATURE' },
  ),
  sig(
    'sig-truncated-data',
    'VERIFY-002',
    'data missing its last byte fails',
    aliceAt,
    'sigs/alice.asc',
    'example.com/app',
    DATA.slice(0, -1),
    { valid: false, code: 'ERR_VERIFY_BAD_SIGNATURE' },
  ),
  sig(
    'sig-no-key',
    'VERIFY-001',
    'no key trusted for the name',
    {},
    'sigs/alice.asc',
    'example.com/app',
    DATA,
    { valid: false, code: 'ERR_VERIFY_NO_TRUSTED_KEY' },
  ),
  sig(
    'sig-unknown-signer',
    'VERIFY-006',
    'signed by a key not trusted for the name',
    aliceAt,
    'sigs/mallory.asc',
    'example.com/app',
    DATA,
    { valid: false, code: 'ERR_VERIFY_UNKNOWN_SIGNER' },
  ),
  sig(
    'sig-key-for-other-prefix',
    'VERIFY-004',
    'a key trusted only for a sibling prefix does not verify',
    { [`local/trustedkeys/prefix.d/example.com/other/${A}`]: key('alice') },
    'sigs/alice.asc',
    'example.com/app',
    DATA,
    { valid: false, code: 'ERR_VERIFY_NO_TRUSTED_KEY' },
  ),
  sig(
    'sig-masked',
    'VERIFY-003',
    'a masked system key does not verify',
    {
      [`system/trustedkeys/prefix.d/example.com/${A}`]: key('alice'),
      [`local/trustedkeys/prefix.d/example.com/${A}`]: '',
    },
    'sigs/alice.asc',
    'example.com/app',
    DATA,
    { valid: false, code: 'ERR_VERIFY_NO_TRUSTED_KEY' },
  ),
  sig(
    'sig-malformed',
    'VERIFY-002',
    'a key is not a signature',
    aliceAt,
    key('alice'),
    'example.com/app',
    DATA,
    { valid: false, code: 'ERR_VERIFY_MALFORMED_SIGNATURE' },
  ),
  sig(
    'sig-expired-key',
    'VERIFY-002',
    'a key that has expired is refused',
    { [`local/trustedkeys/root.d/${fp.expired}`]: key('expired') },
    'sigs/expired.asc',
    'example.com/app',
    DATA,
    { valid: false, code: 'ERR_VERIFY_KEY_EXPIRED' },
  ),
  sig(
    'sig-revoked-key',
    'VERIFY-002',
    'a revoked key is refused',
    { [`local/trustedkeys/root.d/${fp.revoked}`]: key('revoked') },
    'sigs/revoked.asc',
    'example.com/app',
    DATA,
    { valid: false, code: 'ERR_VERIFY_KEY_REVOKED' },
  ),
];

// Fingerprint formatting for review (VERIFY-005).
const fmt = (id, value, expect) =>
  v(id, 'VERIFY-005', `format ${JSON.stringify(value)}`, { kind: 'formatFingerprint', value }, expect);
const fingerprints = [
  fmt('fpr-lower', '8b86de38890ddb7291867b025210bd8888182190', {
    valid: true,
    formatted: '8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190',
  }),
  fmt('fpr-grouped', '8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190', {
    valid: true,
    formatted: '8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190',
  }),
  fmt('fpr-0x', '0x00000000000000000000000000000000000000FF', {
    valid: true,
    formatted: '0000 0000 0000 0000 0000  0000 0000 0000 0000 00FF',
  }),
  fmt('fpr-short', '8b86de38890ddb72', { valid: false, code: 'ERR_VERIFY_INVALID_FINGERPRINT' }),
  fmt('fpr-not-hex', 'zb86de38890ddb7291867b025210bd8888182190', {
    valid: false,
    code: 'ERR_VERIFY_INVALID_FINGERPRINT',
  }),
  fmt('fpr-v5-length', `${'a'.repeat(64)}`, { valid: false, code: 'ERR_VERIFY_INVALID_FINGERPRINT' }),
];

// --insecure-options (VERIFY-007).
const ins = (id, value, expect) =>
  v(id, 'VERIFY-007', `--insecure-options=${value}`, { kind: 'insecureOptions', value }, expect);
const insecure = [
  ins('insecure-none', 'none', { valid: true, options: [] }),
  ins('insecure-image-tls', 'image,tls', { valid: true, options: ['image', 'tls'] }),
  ins('insecure-each', 'http,pubkey,capabilities,paths,seccomp,ondisk', {
    valid: true,
    options: ['capabilities', 'http', 'ondisk', 'paths', 'pubkey', 'seccomp'],
  }),
  ins('insecure-all-fetch', 'all-fetch', { valid: true, options: ['http', 'image', 'pubkey', 'tls'] }),
  ins('insecure-all-run', 'all-run', { valid: true, options: ['capabilities', 'paths', 'seccomp'] }),
  ins('insecure-all', 'all', {
    valid: true,
    options: ['capabilities', 'http', 'image', 'ondisk', 'paths', 'pubkey', 'seccomp', 'tls'],
  }),
  ins('insecure-none-plus', 'none,image', { valid: true, options: ['image'] }),
  ins('insecure-repeat', 'image,image', { valid: true, options: ['image'] }),
  ins('insecure-unknown', 'image,nope', { valid: false, code: 'ERR_VERIFY_INSECURE_OPTION' }),
  ins('insecure-case', 'IMAGE', { valid: false, code: 'ERR_VERIFY_INSECURE_OPTION' }),
  ins('insecure-empty', '', { valid: false, code: 'ERR_VERIFY_INSECURE_OPTION' }),
  ins('insecure-empty-item', 'image,,tls', { valid: false, code: 'ERR_VERIFY_INSECURE_OPTION' }),
];

// Trust prefixes (VERIFY-003: never a path outside the store) and coverage (VERIFY-004).
const pre = (id, value, valid) =>
  v(
    id,
    'VERIFY-003',
    `prefix ${JSON.stringify(value)}`,
    { kind: 'prefix', value },
    valid ? { valid: true } : { valid: false, code: 'ERR_VERIFY_INVALID_PREFIX' },
  );
const cov = (id, prefix, name, covers, reference) =>
  v(
    id,
    'VERIFY-004',
    `${prefix} ${covers ? 'covers' : 'does not cover'} ${name}`,
    { kind: 'prefixCovers', prefix, name },
    reference === undefined
      ? { valid: true, covers }
      : { valid: true, covers, reference: { covers: reference } },
  );
const prefixes = [
  pre('prefix-host', 'example.com', true),
  pre('prefix-path', 'example.com/team/app', true),
  pre('prefix-chars', 'a-b.c_d~e/f', true),
  pre('prefix-dotdot', '../etc', false),
  pre('prefix-dotdot-inner', 'example.com/../../etc', false),
  pre('prefix-dot', 'example.com/./app', false),
  pre('prefix-absolute', '/etc/appc', false),
  pre('prefix-empty', '', false),
  pre('prefix-trailing-slash', 'example.com/', false),
  pre('prefix-double-slash', 'example.com//app', false),
  pre('prefix-upper', 'Example.com', false),
  pre('prefix-backslash', 'example.com\\app', false),
  pre('prefix-hidden', '.example.com', false),
  cov('covers-self', 'example.com/app', 'example.com/app', true),
  cov('covers-child', 'example.com', 'example.com/app/x', true),
  cov('covers-sibling-string', 'example.com/foo', 'example.com/foobar', false, true),
  cov('covers-parent', 'example.com/app', 'example.com', false),
  cov('covers-host-string', 'example.co', 'example.com/app', false, true),
];

// where rkt decides otherwise, the vector carries its verdict at top level, as the vectors README says
for (const x of [...layouts, ...prefixes]) {
  if (x.expect.reference !== undefined) {
    x.reference = { valid: true, ...x.expect.reference };
    delete x.expect.reference;
    x.title += ' [rkt differs]';
  }
}
const write = (file, list) => writeFileSync(join(out, file), `${JSON.stringify(list, null, 2)}\n`);
write('trust-store.json', layouts);
write('signatures.json', signatures);
write('fingerprint.json', fingerprints);
write('insecure-options.json', insecure);
write('prefix.json', prefixes);
console.log(
  `wrote ${layouts.length + signatures.length + fingerprints.length + insecure.length + prefixes.length} vectors to ${out}`,
);
