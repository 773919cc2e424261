// Real GnuPG (2.2 on this machine) driven from tests: keys and signatures made by gpg must verify with our
// code, and ours with gpg (VERIFY-009). Each helper owns a temporary GNUPGHOME and stops its agent.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GenKeyOptions {
  /** `ed25519` (default), `rsa2048`, `rsa3072`, … as `--quick-gen-key` takes it. */
  algo?: string;
  /** `never` (default) or a period such as `1d`. */
  expire?: string;
  /** Pretend the key was made at this time (gpg `--faked-system-time`, e.g. `20200101T000000`). */
  fakedTime?: string;
  /** Protect the secret key with this passphrase (default: none). */
  passphrase?: string;
}

export interface Gpg {
  home: string;
  gpg(args: string[], input?: string): Promise<{ stdout: string; stderr: string }>;
  genKey(uid: string, options?: GenKeyOptions): Promise<string>;
  exportPublic(fingerprint: string, armor?: boolean): Promise<Buffer>;
  exportSecret(fingerprint: string, passphrase?: string): Promise<string>;
  detachSign(
    file: string,
    fingerprint: string,
    options?: { armor?: boolean; out?: string; fakedTime?: string },
  ): Promise<string>;
  /** `gpg --verify`; resolves with gpg's status lines, rejects when gpg says no. */
  verify(signatureFile: string, dataFile: string): Promise<string>;
  importKey(armored: string | Uint8Array): Promise<void>;
  revoke(fingerprint: string): Promise<void>;
  close(): Promise<void>;
}

export async function createGpg(): Promise<Gpg> {
  const home = await mkdtemp(join(tmpdir(), 'gpg-'));
  const base = ['--batch', '--homedir', home, '--no-tty', '--pinentry-mode', 'loopback'];
  const gpg = async (args: string[], input?: string) => {
    const child = run('gpg', [...base, ...args], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    const { stdout, stderr } = await child;
    return { stdout: stdout.toString('latin1'), stderr: stderr.toString() };
  };
  const raw = async (args: string[]) => {
    const { stdout } = await run('gpg', [...base, ...args], {
      encoding: 'buffer',
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  };
  const api: Gpg = {
    home,
    gpg,
    async genKey(uid, options = {}) {
      const time = options.fakedTime === undefined ? [] : ['--faked-system-time', options.fakedTime];
      await gpg([
        ...time,
        '--passphrase',
        options.passphrase ?? '',
        '--quick-gen-key',
        uid,
        options.algo ?? 'ed25519',
        'sign',
        options.expire ?? 'never',
      ]);
      const { stdout } = await gpg([...time, '--with-colons', '--list-keys', uid]);
      const fpr = stdout.split('\n').find((l) => l.startsWith('fpr:'));
      if (fpr === undefined) throw new Error(`gpg made no key for ${uid}`);
      return (fpr.split(':')[9] as string).toLowerCase();
    },
    async exportPublic(fingerprint, armor = true) {
      return raw([...(armor ? ['--armor'] : []), '--export', fingerprint]);
    },
    async exportSecret(fingerprint, passphrase = '') {
      return (
        await raw(['--passphrase', passphrase, '--armor', '--export-secret-keys', fingerprint])
      ).toString();
    },
    async detachSign(file, fingerprint, options = {}) {
      const out = options.out ?? `${file}.${options.armor === false ? 'sig' : 'asc'}`;
      await gpg([
        ...(options.fakedTime === undefined ? [] : ['--faked-system-time', options.fakedTime]),
        '--yes',
        '--passphrase',
        '',
        '--local-user',
        fingerprint,
        ...(options.armor === false ? [] : ['--armor']),
        '--output',
        out,
        '--detach-sign',
        file,
      ]);
      return out;
    },
    async verify(signatureFile, dataFile) {
      const { stdout } = await run('gpg', [...base, '--status-fd', '1', '--verify', signatureFile, dataFile]);
      return stdout;
    },
    async importKey(armored) {
      const file = join(home, `import-${Date.now()}.asc`);
      await writeFile(file, armored);
      await gpg(['--import', file]);
    },
    async revoke(fingerprint) {
      // gpg keeps a revocation certificate per key; its armor line is prefixed with ':' against accidents
      const dir = join(home, 'openpgp-revocs.d');
      const name = (await readdir(dir)).find((f) => f.toLowerCase().startsWith(fingerprint));
      if (name === undefined) throw new Error(`no revocation certificate for ${fingerprint}`);
      const text = (await readFile(join(dir, name), 'utf8')).replace(/^:-----BEGIN/m, '-----BEGIN');
      await api.importKey(text);
    },
    async close() {
      await run('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
  return api;
}
