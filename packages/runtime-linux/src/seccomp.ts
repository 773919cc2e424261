import { constants } from 'node:os';
import { SYSCALLS_AARCH64, SYSCALLS_X86_64 } from './internal/syscalls.ts';
import type { OciSeccomp } from './oci.ts';

/** CPU architectures whose system call tables this package carries (seccomp filters are per architecture). */
export type SeccompArch = 'x86_64' | 'aarch64';

/** The architecture of the running host, or undefined when no table exists for it. */
export function hostSeccompArch(): SeccompArch | undefined {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'aarch64';
  return undefined;
}

/** Every system call name of an architecture (generated from the Linux UAPI headers). */
export function syscallNames(arch: SeccompArch): readonly string[] {
  return arch === 'x86_64' ? SYSCALLS_X86_64 : SYSCALLS_AARCH64;
}

/** `@appc.io/all`: every system call (ISO-005: in a retain set it turns filtering off). */
export const SECCOMP_ALL = '@appc.io/all';
/** `@appc.io/empty`: the empty set; it masks the rest of the list (ISO-004). */
export const SECCOMP_EMPTY = '@appc.io/empty';

/** The calls blocked in every app besides what a remove set lists, and in apps with no seccomp isolator
 * (ISO-004, ISO-007): they act on the whole host (no namespace covers them), load kernel code or were the way
 * out of containers before. They fail with EPERM. */
export const DEFAULT_SECCOMP_BLACKLIST: readonly string[] = Object.freeze([
  'acct',
  'add_key',
  'bpf',
  'clock_adjtime',
  'clock_settime',
  'create_module',
  'delete_module',
  'finit_module',
  'get_kernel_syms',
  'init_module',
  'ioperm',
  'iopl',
  'kexec_file_load',
  'kexec_load',
  'keyctl',
  'lookup_dcookie',
  'nfsservctl',
  'open_by_handle_at',
  'perf_event_open',
  'query_module',
  'quotactl',
  'reboot',
  'request_key',
  'settimeofday',
  'stime',
  'swapoff',
  'swapon',
  'sysfs',
  '_sysctl',
  'uselib',
  'userfaultfd',
  'ustat',
  'vm86',
  'vm86old',
]);

/** The calls a retain set always allows (ISO-005): what runc's init still makes between loading the filter and
 * starting the app (found by removing calls one by one until runc 1.1 could no longer start a static program,
 * with and without no-new-privileges), and what any process needs to start and end. */
export const SECCOMP_LIFECYCLE_WHITELIST: readonly string[] = Object.freeze([
  'arch_prctl',
  'brk',
  'capget',
  'capset',
  'chdir',
  'close',
  'close_range',
  'epoll_ctl',
  'epoll_pwait',
  'execve',
  'execveat',
  'exit',
  'exit_group',
  'faccessat',
  'faccessat2',
  'fchdir',
  'fcntl',
  'fstat',
  'fstatfs',
  'futex',
  'getcwd',
  'getdents64',
  'getpid',
  'getppid',
  'gettid',
  'mmap',
  'mprotect',
  'munmap',
  'nanosleep',
  'newfstatat',
  'openat',
  'prctl',
  'read',
  'rt_sigaction',
  'rt_sigprocmask',
  'rt_sigreturn',
  'sched_yield',
  'setgid',
  'setgroups',
  'setresgid',
  'setresuid',
  'setuid',
  'sigaltstack',
  'tgkill',
  'write',
]);

const SCMP_ARCHES: Record<SeccompArch, string[]> = {
  x86_64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  aarch64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/** The number of an errno name on Linux (`EPERM` -> 1), or undefined for a name Linux does not have (ISO-006). */
export function errnoNumber(name: string): number | undefined {
  const n = (constants.errno as Record<string, number | undefined>)[name];
  return typeof n === 'number' ? n : undefined;
}

/** A seccomp isolator's value as {@link buildSeccompFilter} takes it. */
export interface SeccompRequest {
  mode: 'remove' | 'retain';
  set: readonly string[];
  errno?: string;
}

/** The filter of one app and what became of its isolator. */
export interface SeccompPlan {
  /** The OCI filter, or undefined when no filtering applies (a retain set with `@appc.io/all`). */
  seccomp: OciSeccomp | undefined;
  /** `changed` when names or the errno had to be dropped or replaced (each one said in `notes`). */
  status: 'enforced' | 'changed';
  notes: string[];
  /** The calls the filter blocks (remove) or allows (retain), after wildcards and unknown names. */
  syscalls: string[];
}

/** Builds the seccomp filter of an app (ISO-004, ISO-005, ISO-006, ISO-007) for one architecture. With no
 * request, the default filter blocks {@link DEFAULT_SECCOMP_BLACKLIST} with EPERM. A remove set blocks its calls
 * (with `errno`, or by killing the app with SIGSYS when errno is missing or `""`) plus the default blacklist; a
 * retain set allows its calls plus {@link SECCOMP_LIFECYCLE_WHITELIST} and blocks everything else the same way.
 * Names this architecture does not have, unknown wildcards and unknown errno names are dropped and reported.
 * A remove set naming `@appc.io/all` would leave nothing to run; `createAppRuntimeConfig` refuses it. */
export function buildSeccompFilter(request: SeccompRequest | undefined, arch: SeccompArch): SeccompPlan {
  const known = new Set(syscallNames(arch));
  const notes: string[] = [];
  const architectures = [...SCMP_ARCHES[arch]];
  const blacklist = DEFAULT_SECCOMP_BLACKLIST.filter((s) => known.has(s));
  if (!request) {
    return {
      seccomp: {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures,
        syscalls: [{ names: blacklist, action: 'SCMP_ACT_ERRNO', errnoRet: errnoNumber('EPERM') ?? 1 }],
      },
      status: 'enforced',
      notes,
      syscalls: blacklist,
    };
  }
  let set = [...request.set];
  if (set.includes(SECCOMP_EMPTY)) set = [];
  const all = set.includes(SECCOMP_ALL);
  const names: string[] = [];
  for (const s of set) {
    if (s === SECCOMP_ALL) continue;
    if (s.startsWith('@')) {
      notes.push(
        `wildcard "${s}" is not known here and was dropped (known: ${SECCOMP_ALL}, ${SECCOMP_EMPTY})`,
      );
    } else if (!known.has(s)) {
      notes.push(`"${s}" is not a system call on ${arch} and was dropped`);
    } else if (!names.includes(s)) names.push(s);
  }
  let action = 'SCMP_ACT_KILL_PROCESS';
  let errnoRet: number | undefined;
  if (request.errno !== undefined && request.errno !== '') {
    const n = errnoNumber(request.errno);
    if (n === undefined) {
      notes.push(`errno "${request.errno}" is unknown on Linux; EPERM is returned instead`);
      errnoRet = errnoNumber('EPERM') ?? 1;
    } else errnoRet = n;
    action = 'SCMP_ACT_ERRNO';
  }
  const status = notes.length > 0 ? 'changed' : 'enforced';
  if (request.mode === 'retain') {
    if (all) return { seccomp: undefined, status, notes, syscalls: [...known] };
    const allowed = [...new Set([...names, ...SECCOMP_LIFECYCLE_WHITELIST.filter((s) => known.has(s))])];
    const seccomp: OciSeccomp = {
      defaultAction: action,
      architectures,
      syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }],
    };
    if (errnoRet !== undefined) seccomp.defaultErrnoRet = errnoRet;
    return { seccomp, status, notes, syscalls: allowed };
  }
  const rule: OciSeccomp['syscalls'][number] = { names, action };
  if (errnoRet !== undefined) rule.errnoRet = errnoRet;
  const extra = blacklist.filter((s) => !names.includes(s));
  const syscalls: OciSeccomp['syscalls'] = [];
  if (names.length > 0) syscalls.push(rule);
  if (extra.length > 0)
    syscalls.push({ names: extra, action: 'SCMP_ACT_ERRNO', errnoRet: errnoNumber('EPERM') ?? 1 });
  return {
    seccomp: { defaultAction: 'SCMP_ACT_ALLOW', architectures, syscalls },
    status,
    notes,
    syscalls: [...names, ...extra],
  };
}
