import { describe, expect, it } from 'vitest';
import {
  buildSeccompFilter,
  DEFAULT_SECCOMP_BLACKLIST,
  errnoNumber,
  SECCOMP_LIFECYCLE_WHITELIST,
  syscallNames,
} from './seccomp.ts';

describe('system call tables', () => {
  it('x86_64 and aarch64 tables hold the calls of each architecture', () => {
    const x86 = syscallNames('x86_64');
    const arm = syscallNames('aarch64');
    expect(x86.length).toBeGreaterThan(300);
    expect(arm.length).toBeGreaterThan(250);
    for (const s of ['read', 'openat', 'mkdirat', 'execve', 'clone3', 'fstat', 'newfstatat']) {
      expect(x86).toContain(s);
      expect(arm).toContain(s);
    }
    // Legacy calls exist on x86_64 only; aarch64 has just the *at forms.
    for (const s of ['open', 'mkdir', 'fork', 'arch_prctl']) {
      expect(x86).toContain(s);
      expect(arm).not.toContain(s);
    }
    expect(new Set(x86).size).toBe(x86.length);
  });

  it('ISO-006 errno names map to Linux numbers', () => {
    expect(errnoNumber('EPERM')).toBe(1);
    expect(errnoNumber('EXDEV')).toBe(18);
    expect(errnoNumber('ENOTSUP')).toBe(95);
    expect(errnoNumber('EACCESS')).toBeUndefined();
  });
});

describe('buildSeccompFilter', () => {
  it('ISO-007 with no isolator the default blacklist fails with EPERM and everything else is allowed', () => {
    const plan = buildSeccompFilter(undefined, 'x86_64');
    expect(plan.seccomp?.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(plan.seccomp?.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(plan.seccomp?.syscalls).toEqual([
      {
        names: DEFAULT_SECCOMP_BLACKLIST.filter((s) => syscallNames('x86_64').includes(s)),
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 1,
      },
    ]);
    expect(plan.seccomp?.syscalls[0]?.names).toContain('reboot');
    expect(plan.status).toBe('enforced');
  });

  it('ISO-004 a remove set blocks its calls with the errno, plus the default blacklist', () => {
    const plan = buildSeccompFilter(
      { mode: 'remove', set: ['mkdir', 'mkdirat', 'reboot'], errno: 'EXDEV' },
      'x86_64',
    );
    expect(plan.seccomp?.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(plan.seccomp?.syscalls[0]).toEqual({
      names: ['mkdir', 'mkdirat', 'reboot'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 18,
    });
    expect(plan.seccomp?.syscalls[1]?.names).not.toContain('reboot');
    expect(plan.seccomp?.syscalls[1]?.errnoRet).toBe(1);
    expect(plan.status).toBe('enforced');
  });

  it('ISO-004 without errno (or with "") the app is killed with SIGSYS', () => {
    for (const errno of [undefined, '']) {
      const req =
        errno === undefined
          ? { mode: 'remove' as const, set: ['ptrace'] }
          : { mode: 'remove' as const, set: ['ptrace'], errno };
      const plan = buildSeccompFilter(req, 'aarch64');
      expect(plan.seccomp?.syscalls[0]).toEqual({ names: ['ptrace'], action: 'SCMP_ACT_KILL_PROCESS' });
      expect(plan.seccomp?.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    }
  });

  it('ISO-004 @appc.io/empty masks the rest of the set: only the default filter applies', () => {
    const plan = buildSeccompFilter(
      { mode: 'remove', set: ['@appc.io/empty', 'mkdir'], errno: 'EPERM' },
      'x86_64',
    );
    expect(plan.seccomp?.syscalls).toHaveLength(1);
    expect(plan.seccomp?.syscalls[0]?.names).not.toContain('mkdir');
    expect(plan.syscalls.sort()).toEqual(
      DEFAULT_SECCOMP_BLACKLIST.filter((s) => syscallNames('x86_64').includes(s)).sort(),
    );
  });

  it('names the architecture lacks, unknown wildcards and unknown errnos are dropped and reported as changed', () => {
    const plan = buildSeccompFilter(
      { mode: 'remove', set: ['mkdir', 'mkdirat', '@rkt/default-blacklist', 'frobnicate'], errno: 'EACCESS' },
      'aarch64',
    );
    expect(plan.status).toBe('changed');
    expect(plan.seccomp?.syscalls[0]).toEqual({ names: ['mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 });
    expect(plan.notes.join('\n')).toMatch(/"mkdir" is not a system call on aarch64/);
    expect(plan.notes.join('\n')).toMatch(/wildcard "@rkt\/default-blacklist" is not known/);
    expect(plan.notes.join('\n')).toMatch(/"frobnicate"/);
    expect(plan.notes.join('\n')).toMatch(/errno "EACCESS" is unknown on Linux; EPERM/);
  });

  it('ISO-005 a retain set allows its calls and the lifecycle whitelist; everything else fails', () => {
    const plan = buildSeccompFilter({ mode: 'retain', set: ['uname', 'getpid'], errno: 'ENOSYS' }, 'x86_64');
    expect(plan.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(plan.seccomp?.defaultErrnoRet).toBe(38);
    const allowed = plan.seccomp?.syscalls[0];
    expect(allowed?.action).toBe('SCMP_ACT_ALLOW');
    expect(allowed?.names).toContain('uname');
    for (const s of ['execve', 'exit', 'exit_group']) expect(allowed?.names).toContain(s);
    expect(allowed?.names).not.toContain('mkdir');
    expect(new Set(allowed?.names).size).toBe(allowed?.names.length);
    const kill = buildSeccompFilter({ mode: 'retain', set: ['uname'] }, 'x86_64');
    expect(kill.seccomp?.defaultAction).toBe('SCMP_ACT_KILL_PROCESS');
    expect(kill.seccomp?.defaultErrnoRet).toBeUndefined();
    // arch_prctl only exists on x86_64: the aarch64 whitelist leaves it out.
    expect(SECCOMP_LIFECYCLE_WHITELIST).toContain('arch_prctl');
    expect(buildSeccompFilter({ mode: 'retain', set: ['uname'] }, 'aarch64').syscalls).not.toContain(
      'arch_prctl',
    );
  });

  it('ISO-005 a retain set with @appc.io/all turns filtering off', () => {
    const plan = buildSeccompFilter({ mode: 'retain', set: ['@appc.io/all'] }, 'x86_64');
    expect(plan.seccomp).toBeUndefined();
    expect(plan.status).toBe('enforced');
  });
});
