import type { Attempt } from '@appc/discovery';
import { expectPositionals, parseCommandArgs } from '../args.ts';
import { NETWORK_FLAGS, NETWORK_HELP, networkOptions, printAttempts } from '../context.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = 'Find the image, signature and key URLs of a name (meta discovery)';
export const usage = 'appc discover [--json] [--port N] [--insecure] NAME[:VERSION][,LABEL=VALUE]...';
export const help = `Fetches https://NAME?ac-discovery=1, walking up the name's parents until a page has matching
ac-discovery tags (DISC-001..DISC-008), and prints the image (ACI) and signature (ASC) URLs and the public-key
URLs. os and arch default to this host's. Plain http and unverified TLS only with --insecure-options=http or tls.

  --json              one object: {"name", "labels", "endpoints": [{"aci", "asc"}], "pubkeys": [...]}
  --insecure          as actool's: plain http and unverified TLS (--insecure-options=http,tls for this command)
${NETWORK_HELP}

With --debug, every URL tried and why it failed is printed on stderr.`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    insecure: { type: 'boolean' },
    ...NETWORK_FLAGS,
  });
  expectPositionals(positionals, 1, 1, 'one image name');
  const { discover } = await import('@appc/discovery');
  const options = await networkOptions(globals, io, values);
  if (values.insecure) options.insecure = { http: true, tls: true };
  let result: Awaited<ReturnType<typeof discover>>;
  try {
    result = await discover(positionals[0] as string, options);
  } catch (e) {
    if (globals.debug) printAttempts(io, (e as { attempts?: Attempt[] }).attempts ?? []);
    throw e;
  }
  if (globals.debug) printAttempts(io, result.attempts);
  if (values.json) {
    const { name, labels, endpoints, pubkeys } = result;
    io.stdout.write(`${JSON.stringify({ name, labels, endpoints, pubkeys })}\n`);
  } else {
    for (const e of result.endpoints) io.stdout.write(`ACI: ${e.aci}\nASC: ${e.asc}\n`);
    for (const k of result.pubkeys) io.stdout.write(`Keys: ${k}\n`);
  }
  return ExitCode.Ok;
}
