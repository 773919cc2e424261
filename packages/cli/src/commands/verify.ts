import { readManifest } from '@appc/aci';
import { expectPositionals, parseCommandArgs, pathArg, readSmallFile } from '../args.ts';
import { openTrust } from '../context.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = "Check an ACI's detached signature against the trusted keys";
export const usage = 'appc verify [--json] ACI [SIGNATURE]';
export const help = `Checks SIGNATURE (default ACI.asc) over the archive's bytes with the keys trusted for the name in the
archive's manifest, or root keys (VERIFY-002). Exit 0 and the signer on success; exit 1 when the signature does
not verify or no trusted key made it.

  --json   {"file", "name", "valid": true, "fingerprint", "userIds", "prefix", "kind"} on success`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
  expectPositionals(positionals, 1, 2, 'an ACI and optionally its signature');
  const file = pathArg(io, positionals[0] as string);
  const sigFile = positionals[1] !== undefined ? pathArg(io, positionals[1]) : `${file}.asc`;
  const { manifest } = await readManifest(file);
  const { VerifyError, verifySignature } = await import('@appc/verify');
  // a detached signature is a few hundred bytes; a larger file (or a device) is not one, and is not read whole
  const signature = await readSmallFile(
    sigFile,
    1024 * 1024,
    (size) =>
      new VerifyError(
        `${sigFile}: ${size} bytes is far too large for a detached signature; give the .asc that appc sign or gpg --armor --detach-sign wrote.`,
        { code: 'ERR_VERIFY_MALFORMED_SIGNATURE', requirement: 'VERIFY-002', file: sigFile },
      ),
  );
  const trust = await openTrust(globals, io);
  const v = await verifySignature({
    data: file,
    signature,
    name: manifest.name,
    store: trust,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  if (values.json) {
    io.stdout.write(
      `${JSON.stringify({ file, name: manifest.name, valid: true, fingerprint: v.keyFingerprint, userIds: v.userIds, prefix: v.prefix ?? null, kind: v.kind })}\n`,
    );
  } else {
    io.stdout.write(
      `${file}: good signature for ${manifest.name} by ${v.keyFingerprint} (${v.userIds.join(', ') || 'no identity'}), trusted ${v.kind === 'root' ? 'as a root key' : `for ${v.prefix}`}\n`,
    );
  }
  return ExitCode.Ok;
}
