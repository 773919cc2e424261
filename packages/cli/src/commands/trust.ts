import type { TrustStore } from '@appc/verify';
import { expectPositionals, parseCommandArgs, pathArg } from '../args.ts';
import {
  confirm,
  insecureOptions,
  keyFetch,
  NETWORK_FLAGS,
  NETWORK_HELP,
  networkOptions,
  openTrust,
} from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = 'Trust public keys for a name prefix or as root keys; list and remove them';
export const usage = `appc trust add --prefix PREFIX [--fingerprint FPR] [--skip-fingerprint-review] [KEY_FILE_OR_URL...]
       appc trust add --root KEY_FILE...
       appc trust list [--json] [--prefix PREFIX]
       appc trust remove [--prefix PREFIX | --root] [--mask] FINGERPRINT`;
export const help = `No key is trusted until you add one (VERIFY-001). A key trusted for a prefix verifies the images
whose names are under it (example.com covers example.com/app; whole path components); a root key verifies every
name. Keys are stored in the local config dir as trustedkeys/prefix.d/PREFIX/FINGERPRINT and
trustedkeys/root.d/FINGERPRINT (VERIFY-003); the system config dir is read too, and an empty local file masks a
system key of the same fingerprint ("remove --mask" writes that mask).

add: keys come from files, from https URLs, or, with no KEY, from the ac-discovery-pubkeys tags of the prefix's
site (VERIFY-005). Each key is shown (prefix, location, fingerprint, identities) and stored only when you type
yes on a terminal; in scripts pin it with --fingerprint (the stored key must have it) or skip the review with
--skip-fingerprint-review. "appc trust --prefix P ..." is the same as "appc trust add --prefix P ...", as in rkt.
  --prefix PREFIX             the names the keys verify
  --root                      trust the keys for every name (local files only)
  --fingerprint FPR           accept only a key with this fingerprint (spaces and case ignored); repeatable
  --skip-fingerprint-review   store without asking
${NETWORK_HELP}
  Keys over http need --insecure-options=http (or pubkey); unverified TLS needs tls.

list: every key file of both config dirs. --json: one object per key
  {"fingerprint", "kind", "prefix", "scope", "file", "userIds", "mask", "masked"}.
remove: the local key files with FINGERPRINT (from every prefix, or only --prefix / --root); --mask instead
writes an empty local file that masks the system key of that fingerprint (needs --prefix or --root).`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const [sub, ...rest] = argv;
  if (sub === 'add') return add(rest, io, globals);
  if (sub === 'list') return list(rest, io, globals);
  if (sub === 'remove' || sub === 'rm') return remove(rest, io, globals);
  if (sub?.startsWith('-')) return add(argv, io, globals);
  throw new UsageError(
    sub === undefined ? 'say add, list or remove' : `unknown subcommand "${sub}"; say add, list or remove`,
  );
}

async function add(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    prefix: { type: 'string' },
    root: { type: 'boolean' },
    fingerprint: { type: 'string', multiple: true },
    'skip-fingerprint-review': { type: 'boolean' },
    ...NETWORK_FLAGS,
  });
  if ((values.prefix === undefined) === (values.root !== true))
    throw new UsageError('give --prefix PREFIX or --root (one of them)');
  if (values.root && positionals.length === 0) throw new UsageError('--root needs at least one KEY_FILE');
  const insecure = await insecureOptions(globals);
  const network = await networkOptions(globals, io, values);
  const allowHttp = insecure.has('http') || insecure.has('pubkey');
  const { discoverPublicKeys } = await import('@appc/discovery');
  const transport = { ...network, insecure: { ...network.insecure, http: allowHttp } };
  const fetch = await keyFetch(network, allowHttp);
  const trust = await openTrust(globals, io);
  const interactive = (io.stdin as { isTTY?: boolean } | undefined)?.isTTY === true;
  const keys = positionals.map((k) =>
    /^[a-z][a-z0-9+.-]*:\/\//i.test(k) && !/^file:/i.test(k) ? k : pathArg(io, k),
  );
  const added = await trust.add({
    ...(values.root ? { root: true } : { prefix: values.prefix }),
    keys,
    fetch,
    allowHttp,
    discover: async (prefix) => (await discoverPublicKeys(prefix, transport)).pubkeys,
    ...(values.fingerprint ? { fingerprint: values.fingerprint } : {}),
    ...(values['skip-fingerprint-review'] ? { skipReview: true } : {}),
    ...(interactive && !values.fingerprint && !values['skip-fingerprint-review']
      ? {
          review: async (r: { text: string }) =>
            confirm(io, `${r.text}Are you sure you want to trust this key (yes/no)? `),
        }
      : {}),
    ...(io.signal ? { signal: io.signal } : {}),
  });
  for (const k of added)
    io.stderr.write(
      `${k.unchanged ? 'Already trusted: key' : 'Trusted key'} ${k.fingerprint} (${k.userIds.join(', ') || 'no identity'}) ${k.kind === 'root' ? 'for every name' : `for ${k.prefix}`}: ${k.file}\n`,
    );
  for (const k of added) io.stdout.write(`${k.fingerprint}\n`);
  return ExitCode.Ok;
}

async function list(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    prefix: { type: 'string' },
  });
  expectPositionals(positionals, 0, 0, 'no arguments');
  const trust: TrustStore = await openTrust(globals, io);
  const entries = await trust.list(values.prefix !== undefined ? { prefix: values.prefix } : {});
  if (values.json) {
    for (const e of entries) io.stdout.write(`${JSON.stringify(e)}\n`);
    return ExitCode.Ok;
  }
  if (entries.length === 0) {
    io.stderr.write('No key is trusted. Add one with: appc trust add --prefix PREFIX KEY_FILE\n');
    return ExitCode.Ok;
  }
  io.stdout.write(`${['FINGERPRINT'.padEnd(40), 'SCOPE ', 'FOR'.padEnd(24), 'IDENTITIES'].join('  ')}\n`);
  for (const e of entries) {
    const scope = e.mask ? 'mask  ' : e.masked ? 'masked' : e.scope.padEnd(6);
    const what = (e.kind === 'root' ? '(root)' : (e.prefix ?? '')).padEnd(24);
    io.stdout.write(`${[e.fingerprint, scope, what, e.userIds.join(', ')].join('  ')}\n`);
  }
  return ExitCode.Ok;
}

async function remove(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    prefix: { type: 'string' },
    root: { type: 'boolean' },
    mask: { type: 'boolean' },
  });
  expectPositionals(positionals, 1, 1, 'one FINGERPRINT');
  const trust = await openTrust(globals, io);
  const which = {
    fingerprint: positionals[0] as string,
    ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
    ...(values.root ? { root: true } : {}),
  };
  if (values.mask) {
    io.stderr.write(`Masked with ${await trust.mask(which)}\n`);
    return ExitCode.Ok;
  }
  const removed = await trust.remove(which);
  for (const f of removed) io.stderr.write(`Removed ${f}\n`);
  return ExitCode.Ok;
}
