import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
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
});
