import { acIdentifierProblem } from './ac-identifier.ts';
import { schemaErrorFrom } from './errors.ts';
import { Ctx, isObject, needObject, ptr, show, typeName } from './internal/context.ts';
import { ResourceQuantity, tryParseResourceQuantity } from './resource-quantity.ts';

/** An isolator (TYPES-007): a name (AC Identifier) and a value whose shape depends on the name (ISO-*).
 * `value` is kept exactly as read so that writing a manifest back changes nothing; use
 * {@link parseIsolatorValue} for a typed view. */
export interface Isolator {
  name: string;
  value: unknown;
}

/** Where an isolator may appear, whether it may repeat in one app's list, and the requirement that defines it. */
export interface IsolatorInfo {
  scope: 'app' | 'pod' | 'both';
  /** At most one per app list (ISO-002). */
  once: boolean;
  requirement: string;
}

/** Every isolator this package knows (ISO-004..ISO-020). */
export const ISOLATORS: Readonly<Record<string, IsolatorInfo>> = Object.freeze({
  'os/linux/seccomp-remove-set': { scope: 'app', once: true, requirement: 'ISO-004' },
  'os/linux/seccomp-retain-set': { scope: 'app', once: true, requirement: 'ISO-005' },
  'os/linux/selinux-context': { scope: 'both', once: true, requirement: 'ISO-008' },
  'os/linux/apparmor-profile': { scope: 'both', once: true, requirement: 'ISO-009' },
  'os/linux/capabilities-remove-set': { scope: 'app', once: false, requirement: 'ISO-010' },
  'os/linux/capabilities-retain-set': { scope: 'app', once: false, requirement: 'ISO-011' },
  'os/linux/no-new-privileges': { scope: 'app', once: false, requirement: 'ISO-012' },
  'resource/cpu': { scope: 'both', once: false, requirement: 'ISO-014' },
  'resource/memory': { scope: 'both', once: false, requirement: 'ISO-015' },
  'resource/block-bandwidth': { scope: 'both', once: false, requirement: 'ISO-016' },
  'resource/block-iops': { scope: 'both', once: false, requirement: 'ISO-017' },
  'resource/network-bandwidth': { scope: 'both', once: false, requirement: 'ISO-018' },
  'os/unix/sysctl': { scope: 'pod', once: true, requirement: 'ISO-019' },
  'os/linux/cpu-shares': { scope: 'app', once: true, requirement: 'ISO-020' },
  'os/linux/oom-score-adj': { scope: 'app', once: true, requirement: 'ISO-020' },
});

/** Linux capability names (for the warning of ISO-011). */
export const LINUX_CAPABILITIES: readonly string[] = Object.freeze(
  [
    'CHOWN',
    'DAC_OVERRIDE',
    'DAC_READ_SEARCH',
    'FOWNER',
    'FSETID',
    'KILL',
    'SETGID',
    'SETUID',
    'SETPCAP',
    'LINUX_IMMUTABLE',
    'NET_BIND_SERVICE',
    'NET_BROADCAST',
    'NET_ADMIN',
    'NET_RAW',
    'IPC_LOCK',
    'IPC_OWNER',
    'SYS_MODULE',
    'SYS_RAWIO',
    'SYS_CHROOT',
    'SYS_PTRACE',
    'SYS_PACCT',
    'SYS_ADMIN',
    'SYS_BOOT',
    'SYS_NICE',
    'SYS_RESOURCE',
    'SYS_TIME',
    'SYS_TTY_CONFIG',
    'MKNOD',
    'LEASE',
    'AUDIT_WRITE',
    'AUDIT_CONTROL',
    'SETFCAP',
    'MAC_OVERRIDE',
    'MAC_ADMIN',
    'SYSLOG',
    'WAKE_ALARM',
    'BLOCK_SUSPEND',
    'AUDIT_READ',
    'PERFMON',
    'BPF',
    'CHECKPOINT_RESTORE',
  ].map((c) => `CAP_${c}`),
);

/** The bounding set an app gets with no capability isolator (ISO-010). */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_AUDIT_WRITE',
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_KILL',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETUID',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETFCAP',
  'CAP_SYS_CHROOT',
]);

/** Unit of a resource isolator's amounts once converted to integers. */
export type ResourceUnit = 'millicores' | 'bytes' | 'bytes-per-second' | 'iops';

/** Typed value of a resource isolator; `request`/`limit` are integers in `unit`, rounded up (TYPES-017). */
export interface ResourceIsolatorValue {
  kind: 'resource';
  name:
    | 'resource/cpu'
    | 'resource/memory'
    | 'resource/block-bandwidth'
    | 'resource/block-iops'
    | 'resource/network-bandwidth';
  unit: ResourceUnit;
  request?: bigint;
  limit?: bigint;
  requestQuantity?: ResourceQuantity;
  limitQuantity?: ResourceQuantity;
  default?: boolean;
}

/** Typed view of an isolator's value, discriminated by `kind`. */
export type IsolatorValue =
  | { kind: 'seccomp-remove-set' | 'seccomp-retain-set'; name: string; set: string[]; errno?: string }
  | { kind: 'selinux-context'; name: string; user: string; role: string; type: string; level: string }
  | { kind: 'apparmor-profile'; name: string; profile: string }
  | { kind: 'capabilities-remove-set' | 'capabilities-retain-set'; name: string; set: string[] }
  | { kind: 'no-new-privileges'; name: string; enabled: boolean }
  | ResourceIsolatorValue
  | { kind: 'sysctl'; name: string; sysctls: Record<string, string> }
  | { kind: 'cpu-shares'; name: string; shares: number }
  | { kind: 'oom-score-adj'; name: string; score: number }
  | { kind: 'unknown'; name: string; value: unknown };

/** What this package knows of an isolator name; own entries of {@link ISOLATORS} only (a name such as
 * `constructor` is an AC Identifier, and no isolator). */
function isolatorInfo(name: string): IsolatorInfo | undefined {
  return Object.hasOwn(ISOLATORS, name) ? ISOLATORS[name] : undefined;
}

const RESOURCE_UNIT: Record<string, ResourceUnit> = {
  'resource/cpu': 'millicores',
  'resource/memory': 'bytes',
  'resource/block-bandwidth': 'bytes-per-second',
  'resource/block-iops': 'iops',
  'resource/network-bandwidth': 'bytes-per-second',
};

/** Reads an isolator's value by the rules of its name, reporting every problem; undefined when invalid. */
export function readIsolatorValue(
  ctx: Ctx,
  name: string,
  value: unknown,
  pointer: string,
): IsolatorValue | undefined {
  const info = isolatorInfo(name);
  if (!info) return { kind: 'unknown', name, value };
  const req = info.requirement;
  const before = ctx.errorCount;
  const bad = (p: string, message: string) =>
    ctx.error(p, 'ERR_SCHEMA_ISOLATOR_VALUE', req, `${name}: ${message}`);
  switch (name) {
    case 'os/linux/seccomp-remove-set':
    case 'os/linux/seccomp-retain-set': {
      if (!isObject(value))
        return void bad(pointer, `value must be an object {set, errno?}, not ${typeName(value)}.`);
      const set = readSet(value.set, ptr(pointer, 'set'), bad, 'syscall names');
      let errno: string | undefined;
      if (value.errno !== undefined && value.errno !== null) {
        if (typeof value.errno !== 'string')
          bad(ptr(pointer, 'errno'), `errno must be a string, not ${typeName(value.errno)}.`);
        else if (value.errno !== '' && !/^E[A-Z0-9]+$/.test(value.errno)) {
          ctx.error(
            ptr(pointer, 'errno'),
            'ERR_SCHEMA_ISOLATOR_VALUE',
            'ISO-006',
            `${name}: errno ${show(value.errno)} must be an upper-case errno name such as EPERM, or "".`,
          );
        } else errno = value.errno;
      }
      if (ctx.errorCount > before || !set) return undefined;
      const kind = name === 'os/linux/seccomp-remove-set' ? 'seccomp-remove-set' : 'seccomp-retain-set';
      return errno === undefined ? { kind, name, set } : { kind, name, set, errno };
    }
    case 'os/linux/selinux-context': {
      if (!isObject(value))
        return void bad(
          pointer,
          `value must be an object {user, role, type, level}, not ${typeName(value)}.`,
        );
      const parts: Record<string, string> = {};
      for (const key of ['user', 'role', 'type', 'level'] as const) {
        const v = value[key];
        if (typeof v !== 'string' || v === '') bad(ptr(pointer, key), `"${key}" must be a non-empty string.`);
        else if (key !== 'level' && v.includes(':')) bad(ptr(pointer, key), `"${key}" may not contain ":".`);
        else parts[key] = v;
      }
      if (ctx.errorCount > before) return undefined;
      return {
        kind: 'selinux-context',
        name,
        user: parts.user as string,
        role: parts.role as string,
        type: parts.type as string,
        level: parts.level as string,
      };
    }
    case 'os/linux/apparmor-profile': {
      if (!isObject(value))
        return void bad(pointer, `value must be an object {profile}, not ${typeName(value)}.`);
      if (typeof value.profile !== 'string' || value.profile === '')
        return void bad(ptr(pointer, 'profile'), '"profile" must be a non-empty string.');
      return { kind: 'apparmor-profile', name, profile: value.profile };
    }
    case 'os/linux/capabilities-remove-set':
    case 'os/linux/capabilities-retain-set': {
      if (!isObject(value))
        return void bad(pointer, `value must be an object {set}, not ${typeName(value)}.`);
      const set = readSet(value.set, ptr(pointer, 'set'), bad, 'capability names');
      if (!set) return undefined;
      set.forEach((c, i) => {
        if (!LINUX_CAPABILITIES.includes(c)) {
          ctx.warn(
            ptr(ptr(pointer, 'set'), i),
            'WARN_SCHEMA_CAPABILITY_UNKNOWN',
            req,
            `${name}: ${show(c)} is not a Linux capability name.`,
          );
        }
      });
      const kind =
        name === 'os/linux/capabilities-remove-set' ? 'capabilities-remove-set' : 'capabilities-retain-set';
      return { kind, name, set };
    }
    case 'os/linux/no-new-privileges':
      if (typeof value !== 'boolean')
        return void bad(pointer, `value must be true or false, not ${typeName(value)}.`);
      return { kind: 'no-new-privileges', name, enabled: value };
    case 'os/unix/sysctl': {
      if (!isObject(value))
        return void bad(pointer, `value must be an object of sysctl name -> string, not ${typeName(value)}.`);
      const sysctls: Record<string, string> = {};
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string')
          bad(ptr(pointer, k), `the value of ${show(k)} must be a string, not ${typeName(v)}.`);
        else
          Object.defineProperty(sysctls, k, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          });
      }
      return ctx.errorCount > before ? undefined : { kind: 'sysctl', name, sysctls };
    }
    case 'os/linux/cpu-shares':
      if (!Number.isInteger(value) || (value as number) < 2 || (value as number) > 262144) {
        return void bad(pointer, `value must be a JSON integer from 2 to 262144, not ${show(value)}.`);
      }
      return { kind: 'cpu-shares', name, shares: value as number };
    case 'os/linux/oom-score-adj':
      if (!Number.isInteger(value) || (value as number) < -1000 || (value as number) > 1000) {
        return void bad(pointer, `value must be a JSON integer from -1000 to 1000, not ${show(value)}.`);
      }
      return { kind: 'oom-score-adj', name, score: value as number };
    default:
      return readResource(ctx, name as ResourceIsolatorValue['name'], value, pointer, req);
  }
}

function readSet(
  v: unknown,
  p: string,
  bad: (p: string, m: string) => void,
  what: string,
): string[] | undefined {
  if (!Array.isArray(v)) return void bad(p, `"set" must be a list of ${what}, not ${typeName(v)}.`);
  if (v.length === 0) return void bad(p, '"set" must not be empty.');
  const out: string[] = [];
  let ok = true;
  v.forEach((s, i) => {
    if (typeof s !== 'string' || s === '') {
      bad(ptr(p, i), `each entry of "set" must be a non-empty string, not ${show(s)}.`);
      ok = false;
    } else out.push(s);
  });
  return ok ? out : undefined;
}

function readQuantity(
  ctx: Ctx,
  v: unknown,
  p: string,
  name: string,
  req: string,
): ResourceQuantity | undefined | null {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') {
    ctx.error(
      p,
      'ERR_SCHEMA_QUANTITY',
      'TYPES-016',
      `${name}: a quantity must be a string or a number, not ${typeName(v)}.`,
    );
    return null;
  }
  const q = tryParseResourceQuantity(typeof v === 'string' ? v.trim() : v);
  if (!(q instanceof ResourceQuantity)) {
    ctx.error(
      p,
      'ERR_SCHEMA_QUANTITY',
      'TYPES-016',
      `${name}: ${show(v)} is not a quantity (${q.problem}); write e.g. "500m", "1Gi".`,
    );
    return null;
  }
  if (q.isNegative()) {
    ctx.error(
      p,
      'ERR_SCHEMA_ISOLATOR_VALUE',
      req,
      `${name}: ${show(v)} is negative; quantities of isolators must be zero or more.`,
    );
    return null;
  }
  return q;
}

function readResource(
  ctx: Ctx,
  name: ResourceIsolatorValue['name'],
  value: unknown,
  pointer: string,
  req: string,
): ResourceIsolatorValue | undefined {
  const before = ctx.errorCount;
  if (!isObject(value)) {
    ctx.error(
      pointer,
      'ERR_SCHEMA_ISOLATOR_VALUE',
      req,
      `${name}: value must be an object {request?, limit?}, not ${typeName(value)}.`,
    );
    return undefined;
  }
  const request = readQuantity(ctx, value.request, ptr(pointer, 'request'), name, req);
  const limit = readQuantity(ctx, value.limit, ptr(pointer, 'limit'), name, req);
  const dflt = value.default;
  if (dflt !== undefined && dflt !== null && typeof dflt !== 'boolean') {
    ctx.error(
      ptr(pointer, 'default'),
      'ERR_SCHEMA_ISOLATOR_VALUE',
      req,
      `${name}: "default" must be a boolean, not ${typeName(dflt)}.`,
    );
  }
  const deviceLike =
    name === 'resource/block-bandwidth' ||
    name === 'resource/block-iops' ||
    name === 'resource/network-bandwidth';
  if (deviceLike) {
    if (dflt !== true)
      ctx.error(
        ptr(pointer, 'default'),
        'ERR_SCHEMA_ISOLATOR_VALUE',
        req,
        `${name}: "default" must be true (the limit applies to every device).`,
      );
    if (value.request !== undefined && value.request !== null) {
      ctx.error(
        ptr(pointer, 'request'),
        'ERR_SCHEMA_ISOLATOR_VALUE',
        req,
        `${name}: "request" is not allowed; give only "limit".`,
      );
    }
  } else if (dflt === true) {
    ctx.error(
      ptr(pointer, 'default'),
      'ERR_SCHEMA_ISOLATOR_VALUE',
      req,
      `${name}: "default" must be false or absent.`,
    );
  }
  if (ctx.errorCount > before) return undefined;
  const unit = RESOURCE_UNIT[name] as ResourceUnit;
  const toUnit = (q: ResourceQuantity) => (unit === 'millicores' ? q.toMillis() : q.toBytes());
  const out: ResourceIsolatorValue = { kind: 'resource', name, unit };
  if (request) {
    out.request = toUnit(request);
    out.requestQuantity = request;
  }
  if (limit) {
    out.limit = toUnit(limit);
    out.limitQuantity = limit;
  }
  if (typeof dflt === 'boolean') out.default = dflt;
  if (request && limit && request.compare(limit) > 0) {
    ctx.warn(
      pointer,
      'WARN_SCHEMA_ISOLATOR_REQUEST_ABOVE_LIMIT',
      'ISO-013',
      `${name}: request ${request.text} is above limit ${limit.text}.`,
    );
  }
  return out;
}

/** Isolators the spec allows once in a pod's list: "Only a single … can be specified per-pod" (ISO-008,
 * ISO-009, ISO-019); the reference does not check pod lists. */
const ONCE_PER_POD: ReadonlySet<string> = new Set([
  'os/linux/selinux-context',
  'os/linux/apparmor-profile',
  'os/unix/sysctl',
]);

/** Reads an isolator list of an app (`level: 'app'`, with the multiplicity and conflict rules of ISO-002) or of
 * a pod (`'pod'`: values, and the isolators the spec allows once per pod, POD-006). Unknown names are kept and reported as warnings, errors when strict. */
export function readIsolators(ctx: Ctx, v: unknown[], pointer: string, level: 'app' | 'pod'): Isolator[] {
  const out: Isolator[] = [];
  const counts = new Map<string, number[]>();
  v.forEach((item, i) => {
    const p = ptr(pointer, i);
    if (!needObject(ctx, item, p, 'TYPES-007', 'an isolator')) return;
    const { name } = item;
    if (typeof name !== 'string') {
      ctx.error(
        ptr(p, 'name'),
        name === undefined ? 'ERR_SCHEMA_REQUIRED' : 'ERR_SCHEMA_TYPE',
        'TYPES-007',
        'an isolator needs a string "name".',
      );
      return;
    }
    if (acIdentifierProblem(name) !== undefined) {
      ctx.error(
        ptr(p, 'name'),
        'ERR_SCHEMA_AC_IDENTIFIER',
        'TYPES-001',
        `isolator name ${show(name)} is not an AC Identifier.`,
      );
      return;
    }
    if (!('value' in item) || item.value === undefined) {
      ctx.error(ptr(p, 'value'), 'ERR_SCHEMA_REQUIRED', 'TYPES-007', `isolator "${name}" needs a "value".`);
      return;
    }
    const info = isolatorInfo(name);
    if (!info) {
      const msg = `unknown isolator "${name}"; an executor ignores it (known: ${Object.keys(ISOLATORS).join(', ')}).`;
      if (ctx.options.strict) ctx.error(ptr(p, 'name'), 'ERR_SCHEMA_ISOLATOR_UNKNOWN', 'ISO-003', msg);
      else ctx.warn(ptr(p, 'name'), 'WARN_SCHEMA_ISOLATOR_UNKNOWN', 'ISO-003', msg);
    } else {
      if (info.scope !== 'both' && info.scope !== level) {
        ctx.warn(
          ptr(p, 'name'),
          'WARN_SCHEMA_ISOLATOR_SCOPE',
          info.requirement,
          `"${name}" applies to ${info.scope === 'app' ? 'apps only' : 'pods only'}; at ${level} level it is ignored.`,
        );
      }
      readIsolatorValue(ctx, name, item.value, ptr(p, 'value'));
      const list = counts.get(name) ?? [];
      list.push(i);
      counts.set(name, list);
    }
    out.push({ name, value: item.value });
  });
  for (const [name, idx] of counts) {
    const once = level === 'app' ? isolatorInfo(name)?.once : ONCE_PER_POD.has(name);
    if (once && idx.length > 1) {
      for (const i of idx.slice(1)) {
        ctx.error(
          ptr(ptr(pointer, i), 'name'),
          'ERR_SCHEMA_ISOLATOR_MULTIPLE',
          level === 'app' ? 'ISO-002' : (isolatorInfo(name)?.requirement ?? 'ISO-002'),
          `"${name}" may appear once per ${level}; keep one.`,
        );
      }
    }
  }
  if (level === 'app') {
    const pairs: [string, string, string][] = [
      ['os/linux/seccomp-remove-set', 'os/linux/seccomp-retain-set', 'ISO-002'],
      ['os/linux/capabilities-remove-set', 'os/linux/capabilities-retain-set', 'ISO-011'],
    ];
    for (const [a, b, req] of pairs) {
      const ia = counts.get(a);
      const ib = counts.get(b);
      if (ia && ib) {
        ctx.error(
          ptr(ptr(pointer, Math.max(ia[0] as number, ib[0] as number)), 'name'),
          'ERR_SCHEMA_ISOLATOR_CONFLICT',
          req,
          `"${a}" and "${b}" exclude each other; keep one.`,
        );
      }
    }
  }
  return out;
}

/** Typed view of one isolator's value (ISO-004..ISO-020); `{kind: 'unknown'}` for names this package does not know.
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` when the value breaks its rules. */
export function parseIsolatorValue(isolator: Isolator): IsolatorValue {
  const ctx = new Ctx();
  const v = readIsolatorValue(ctx, isolator.name, isolator.value, '/value');
  if (v === undefined || ctx.errorCount > 0) throw schemaErrorFrom(`isolator "${isolator.name}"`, ctx.issues);
  return v;
}

/** Every problem of one isolator object (name, value presence and value rules), never throwing. */
export function validateIsolator(
  value: unknown,
  options: { strict?: boolean; level?: 'app' | 'pod' } = {},
): import('./errors.ts').Issue[] {
  const ctx = new Ctx({ strict: options.strict ?? false });
  readIsolators(ctx, [value], '', options.level ?? 'app');
  // readIsolators points into a list; drop the list index of the single entry.
  return ctx.issues.map((i) => ({ ...i, pointer: i.pointer.replace(/^\/0/, '') }));
}
