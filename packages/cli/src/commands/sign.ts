import { readManifest } from '@appc/aci';
import { expectPositionals, parseCommandArgs, pathArg, readSmallFile } from '../args.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = 'Sign an ACI: write an ASCII-armored detached signature ACI.asc';
export const usage = 'appc sign --key KEY_FILE [--passphrase-file FILE] [--output FILE] ACI';
export const help = `Signs the archive's bytes exactly as they are (VERIFY-002, VERIFY-009) with an OpenPGP private key,
as "gpg --armor --export-secret-keys" writes it, and writes ACI.asc atomically. "gpg --verify ACI.asc ACI"
accepts the result. A file that is not an ACI (no manifest at its start) is refused. Prints the signature file
and the key's fingerprint.

  --key KEY_FILE           the private key (armored or binary)
  --passphrase-file FILE   the key's passphrase, first line of FILE (or set APPC_SIGN_PASSPHRASE)
  --output FILE            write the signature here instead of ACI.asc`;

export async function run(argv: string[], io: Io, _globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    key: { type: 'string' },
    'passphrase-file': { type: 'string' },
    output: { type: 'string', short: 'o' },
  });
  expectPositionals(positionals, 1, 1, 'one ACI');
  if (values.key === undefined) {
    throw new UsageError(
      '--key KEY_FILE is required (a private key exported by gpg --armor --export-secret-keys)',
    );
  }
  const { MAX_KEY_BYTES, signFile, VerifyError } = await import('@appc/verify');
  const keyFile = pathArg(io, values.key);
  const key = await readSmallFile(
    keyFile,
    MAX_KEY_BYTES,
    (size) =>
      new VerifyError(`${keyFile}: ${size} bytes is too large for an OpenPGP private key.`, {
        code: 'ERR_VERIFY_PRIVATE_KEY',
        requirement: 'VERIFY-009',
        file: keyFile,
      }),
  );
  const passphraseFile =
    values['passphrase-file'] !== undefined ? pathArg(io, values['passphrase-file']) : undefined;
  const passphrase =
    passphraseFile !== undefined
      ? (
          await readSmallFile(
            passphraseFile,
            64 * 1024,
            () => new UsageError(`${passphraseFile}: larger than 64 KiB; a passphrase file holds one line`),
          )
        )
          .toString('utf8')
          .split(/\r?\n/)[0]
      : io.env.APPC_SIGN_PASSPHRASE;
  const file = pathArg(io, positionals[0] as string);
  // a signature is a promise about an image: a file that is not one (a typo, a manifest, a tarball of something
  // else) is refused before the key is used (VERIFY-009)
  await readManifest(file);
  const result = await signFile(
    file,
    { privateKeyArmored: key, ...(passphrase !== undefined ? { passphrase } : {}) },
    {
      ...(values.output !== undefined ? { output: pathArg(io, values.output) } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    },
  );
  io.stdout.write(`${result.signatureFile}\n`);
  io.stderr.write(`Signed ${file} with key ${result.keyFingerprint}\n`);
  return ExitCode.Ok;
}
