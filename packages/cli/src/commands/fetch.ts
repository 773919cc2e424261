import type { Attempt } from '@appc/discovery';
import type { FetchImageResult, PullPolicy } from '@appc/store';
import { expectPositionals, parseCommandArgs } from '../args.ts';
import {
  confirm,
  insecureOptions,
  keyFetch,
  NETWORK_FLAGS,
  NETWORK_HELP,
  networkOptions,
  openImageStore,
  openTrust,
  printAttempts,
  progressLine,
} from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io, useColor, warningLine } from '../io.ts';

export const summary = 'Fetch images into the store, verified, and print their IDs';
export const usage = 'appc fetch [--pull-policy new|update|never] [--json] IMAGE...';
export const help = `IMAGE is a name (NAME[:VERSION][,LABEL=VALUE]..., found by meta discovery), an https URL (its
signature is URL.asc), a file (absolute, ./ or ../ relative, or ending in .aci; its signature is FILE.asc), or a
sha512- image ID. The image and its signature download together; the manifest must carry the name and labels
asked for (DISC-009) and the signature must verify with a key trusted for the name (appc trust), or nothing is
stored. Its dependencies are fetched the same way (ACI-023), pinned by their imageID and bounded by their
size when the manifest gives them. Prints each image ID on stdout, one per line.

  --pull-policy P            update (default): ask the remote, reuse the stored image when unchanged (ETag,
                             Cache-Control max-age: nothing is downloaded again); new: use a matching stored
                             image without asking; never: only the store
  --trust-keys-from-https    when no key is trusted for a name, trust the keys its site publishes over
                             verified https without review (VERIFY-006)
  --json                     one object per image: {"ref", "id", "name", "labels", "from", "url", "signer",
                             "dependencies"}
  --full                     accepted for rkt's sake: image IDs are always printed whole
${NETWORK_HELP}

--insecure-options=image stores unsigned images (with a warning); http and tls relax the transport.`;

const POLICIES = new Set(['new', 'update', 'never']);

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    'pull-policy': { type: 'string', default: 'update' },
    'trust-keys-from-https': { type: 'boolean' },
    json: { type: 'boolean' },
    // rkt printed short IDs unless --full; IDs are always printed whole here
    full: { type: 'boolean' },
    ...NETWORK_FLAGS,
  });
  expectPositionals(positionals, 1, Number.POSITIVE_INFINITY, 'one or more images');
  const policy = values['pull-policy'] as string;
  if (!POLICIES.has(policy)) throw new UsageError(`--pull-policy ${policy}: use new, update or never`);
  const insecure = await insecureOptions(globals);
  const network = await networkOptions(globals, io, values);
  const { fetchImage } = await import('@appc/store');
  const store = await openImageStore(globals, io);
  const trust = await openTrust(globals, io);
  const progress = progressLine(io);
  const color = useColor(io);
  try {
    for (const ref of positionals) {
      let result: FetchImageResult;
      try {
        result = await fetchImage(store, ref, {
          trust,
          insecure: { image: insecure.has('image'), http: insecure.has('http'), tls: insecure.has('tls') },
          pullPolicy: policy as PullPolicy,
          network,
          onProgress: (p) =>
            p.kind === 'image' && progress(`Downloading ${p.url}`, p.receivedBytes, p.totalBytes, p.done),
          onUntrustedName: (name, pubkeys) => offerKeys(io, network, trust, name, pubkeys, values, insecure),
          ...(io.signal ? { signal: io.signal } : {}),
        });
      } catch (e) {
        if (globals.debug) printAttempts(io, (e as { attempts?: Attempt[] }).attempts ?? []);
        throw e;
      }
      if (globals.debug) printAttempts(io, result.attempts);
      for (const w of result.warnings) io.stderr.write(warningLine(color, w));
      if (globals.debug || io.env.APPC_VERBOSE)
        io.stderr.write(`${ref}: ${result.from}${result.url ? ` from ${result.url}` : ''}\n`);
      const { image } = result;
      if (values.json) {
        io.stdout.write(
          `${JSON.stringify({
            ref,
            id: image.id,
            name: image.name,
            labels: image.labels,
            from: result.from,
            url: result.url ?? null,
            signer: result.signature?.keyFingerprint ?? image.signatureFingerprint ?? null,
            dependencies: result.dependencies.map((d) => d.id),
          })}\n`,
        );
      } else io.stdout.write(`${image.id}\n`);
    }
  } finally {
    store.close();
  }
  return ExitCode.Ok;
}

/** VERIFY-006: no key is trusted for a name being fetched; offer the keys its site publishes. */
async function offerKeys(
  io: Io,
  network: Awaited<ReturnType<typeof networkOptions>>,
  trust: Awaited<ReturnType<typeof openTrust>>,
  name: string,
  pubkeys: string[],
  values: { 'trust-keys-from-https'?: boolean | undefined },
  insecure: Set<string>,
): Promise<boolean> {
  const interactive = (io.stdin as { isTTY?: boolean } | undefined)?.isTTY === true;
  if (pubkeys.length === 0 || (!values['trust-keys-from-https'] && !interactive)) return false;
  // keys over unverified TLS are no better than over http: those need --insecure-options=pubkey (VERIFY-006)
  if (network.insecure.tls && !insecure.has('pubkey')) return false;
  await trust.add({
    prefix: name,
    keys: pubkeys,
    allowHttp: insecure.has('pubkey'),
    fetch: await keyFetch(network, insecure.has('pubkey')),
    ...(values['trust-keys-from-https']
      ? { skipReview: true }
      : {
          review: async (r) => confirm(io, `${r.text}\nTrust this key for ${name}? Type yes to trust it: `),
        }),
  });
  return true;
}
