import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { describeError } from '../src/errors.ts';
import { parsePodArgs } from '../src/pod-args.ts';

const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: '/work' };

describe('appc run arguments, as rkt users type them', () => {
  it('images one after another are apps of one pod; per-app flags follow their image; --- ends arguments', async () => {
    const pod = await parsePodArgs(
      ['--net=none', 'a.aci', 'b.aci', '--exec', '/bin/x', '--name', 'bee', '--', '-v', '---', 'c.aci'],
      io,
    );
    expect(pod.net).toBe('none');
    expect(pod.apps.map((a) => [a.image, a.exec, a.name, a.args])).toEqual([
      ['a.aci', undefined, undefined, []],
      ['b.aci', ['/bin/x'], 'bee', ['-v']],
      ['c.aci', undefined, undefined, []],
    ]);
  });

  it('a pod flag after an image, or -- before any image, is a usage error', async () => {
    await expect(parsePodArgs(['a.aci', '--net=none'], io)).rejects.toThrow(/unknown app flag --net/);
    await expect(parsePodArgs(['--', 'x'], io)).rejects.toThrow(/give its IMAGE before it/);
    await expect(parsePodArgs([], io)).rejects.toThrow(/at least one IMAGE/);
  });

  it("takes rkt's other spellings and flags: pod-wide environment, hosts entries, annotations, isolators", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'appc-pod-args-'));
    const envFile = join(dir, 'env');
    writeFileSync(envFile, '# comment\n\nFROM_FILE=1\nSHARED=file\n');
    const pod = await parsePodArgs(
      [
        '--set-env',
        'SHARED=pod',
        '--set-env-file',
        envFile,
        '--hosts-entry',
        '10.0.0.5=db.example',
        '--hosts-entry=10.0.0.6=cache',
        'a.aci',
        '--environment',
        'OWN=1',
        '--caps-retain',
        'net_bind_service',
        '--caps-remove=chown',
        '--cpu-shares',
        '512',
        '--oom-score-adj',
        '-100',
        '--annotation',
        'note=x',
        '--user-annotation',
        'team=y',
        '--user-label',
        'tier=z',
        '--readonly-rootfs=false',
      ],
      io,
    );
    // files under --set-env, whatever their order on the line
    expect(pod.environment).toEqual([
      { name: 'FROM_FILE', value: '1' },
      { name: 'SHARED', value: 'file' },
      { name: 'SHARED', value: 'pod' },
    ]);
    expect(pod.hosts).toEqual([
      { ip: '10.0.0.5', names: ['db.example'] },
      { ip: '10.0.0.6', names: ['cache'] },
    ]);
    const [app] = pod.apps;
    expect(app?.environment).toEqual([{ name: 'OWN', value: '1' }]);
    expect(app?.isolators).toEqual([
      { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_NET_BIND_SERVICE'] } },
      { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_CHOWN'] } },
      { name: 'os/linux/cpu-shares', value: 512 },
      { name: 'os/linux/oom-score-adj', value: -100 },
    ]);
    expect(app?.annotations).toEqual([{ name: 'note', value: 'x' }]);
    expect(app?.userAnnotations).toEqual({ team: 'y' });
    expect(app?.userLabels).toEqual({ tier: 'z' });
    expect(app?.readOnlyRootFS).toBe(false);
    const inherited = await parsePodArgs(['--inherit-env', 'a.aci'], io);
    expect(inherited.environment).toContainEqual({ name: 'PATH', value: process.env.PATH });
  });

  it('refuses what rkt would not take, with a usage error that says what to write', async () => {
    await expect(parsePodArgs(['--hosts-entry', 'db.example', 'a.aci'], io)).rejects.toThrow(
      /--hosts-entry db.example: write IP=HOSTNAME/,
    );
    // OS-005, OS-006: an entry's address and a name server must be IP addresses, not just look like them
    await expect(parsePodArgs(['--hosts-entry', '999.1.1.1=db', 'a.aci'], io)).rejects.toThrow(/IP=HOSTNAME/);
    await expect(parsePodArgs(['--dns', '999.1.1.1', 'a.aci'], io)).rejects.toThrow(
      /--dns 999.1.1.1: give a name server's IP address/,
    );
    await expect(parsePodArgs(['--dns', 'ns.example', 'a.aci'], io)).rejects.toThrow(/IP address/);
    // ACE-018: the pod's hostname is one sethostname(2) and resolvers take
    for (const bad of ['bad host!', '-web', 'a..b', 'x'.repeat(65)])
      await expect(parsePodArgs(['--hostname', bad, 'a.aci'], io)).rejects.toThrow(
        /--hostname .*: give a host name/,
      );
    expect((await parsePodArgs(['--hostname', 'web-1.example', 'a.aci'], io)).hostname).toBe('web-1.example');
    const dns = await parsePodArgs(['--dns', '192.0.2.53', '--dns', '2001:db8::53', 'a.aci'], io);
    expect(dns.dns).toEqual({ servers: ['192.0.2.53', '2001:db8::53'] });
    await expect(parsePodArgs(['--hosts-entry', 'x y=db', 'a.aci'], io)).rejects.toThrow(/IP=HOSTNAME/);
    await expect(
      parsePodArgs(['--hosts-entry=host', '--hosts-entry=1.2.3.4=a', 'a.aci'], io),
    ).rejects.toThrow(/whole/);
    await expect(parsePodArgs(['a.aci', '--cpu-shares', 'lots'], io)).rejects.toThrow(/whole number/);
    await expect(parsePodArgs(['a.aci', '--readonly-rootfs=maybe'], io)).rejects.toThrow(/true or false/);
    await expect(parsePodArgs(['--set-env', 'NOVALUE', 'a.aci'], io)).rejects.toThrow(/NAME=VALUE/);
    await expect(parsePodArgs(['--set-env', 'A=1', '--pod-manifest', 'p.json'], io)).rejects.toThrow(
      /pod manifest carries/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'appc-pod-args-'));
    writeFileSync(join(dir, 'bad'), 'OK=1\nnot a pair\n');
    await expect(parsePodArgs(['--set-env-file', join(dir, 'bad'), 'a.aci'], io)).rejects.toThrow(/line 2/);
    // POD-012: a malformed --volume names the flag, as a value the IMAGE was taken for shows
    await expect(parsePodArgs(['--volume', 'a.aci'], io)).rejects.toThrow(
      /^--volume "a\.aci": "a\.aci" is not an AC Name; write e\.g\. "data,kind=host,source=\/srv\/data"/,
    );
    await expect(parsePodArgs(['--volume', 'data,kind=empty,mode=999', 'a.aci'], io)).rejects.toThrow(
      /^--volume "data,kind=empty,mode=999": mode "999" is not octal/,
    );
    writeFileSync(join(dir, 'binary'), Buffer.from('A=x\0y\n'));
    await expect(parsePodArgs(['--set-env-file', join(dir, 'binary'), 'a.aci'], io)).rejects.toThrow(
      /line 1 holds a NUL byte, which no environment value can; give a text file/,
    );
    // a directory where a file belongs: the message names it (Node's EISDIR does not)
    const notFile = await parsePodArgs(['--set-env-file', dir, 'a.aci'], io).catch((e: unknown) => e);
    expect(describeError(notFile, false)).toEqual({
      message: `${dir}: is a directory; name a file [EISDIR]`,
      exitCode: 2,
    });
  });
});
