import {
  type App,
  type ImageManifest,
  type Isolator,
  isAcIdentifier,
  isAcName,
  type MountPoint,
  type Port,
  parseMountPointArg,
  SchemaError,
  validateImageManifest,
} from '@appc/schema';
import { AciError } from './errors.ts';

/** Changes `appc patch-manifest` (actool patch-manifest) can make; strings use the actool flag syntaxes. */
export interface ManifestPatch {
  /** New image name (AC Identifier). */
  name?: string;
  /** `app.exec`: an array, or a command line split on single spaces (`"/bin/sh -c x"`). Creates `app` when the
   * image has none (user and group "0"). */
  exec?: string | string[];
  user?: string;
  group?: string;
  /** `app.supplementaryGIDs`: numbers or `"1,2,3"`. */
  supplementaryGIDs?: number[] | string;
  /** A capabilities-retain-set replacing any capability isolator: names or `"CAP_A,CAP_B"`. */
  capabilityRetain?: string[] | string;
  /** A capabilities-remove-set replacing any capability isolator; not with `capabilityRetain`. */
  capabilityRemove?: string[] | string;
  /** Mount points to append: objects or `NAME,path=P[,readOnly=B][:NAME2,...]`. */
  mounts?: MountPoint[] | string;
  /** Ports to append: objects or `NAME,protocol=tcp,port=N[,count=C][,socketActivated=B][:...]`. */
  ports?: Port[] | string;
  /** Isolators to append: objects or `NAME,key=value[,...][:...]` (resource/* with string values,
   * `os/linux/no-new-privileges,true`, `os/linux/oom-score-adj,N`). */
  isolators?: Isolator[] | string;
  /** A seccomp isolator replacing any existing one: `{ mode, set, errno? }` or mode text `remove|retain[,errno=E]`
   * with `seccompSet`. */
  seccomp?: { mode: 'remove' | 'retain'; set: string[]; errno?: string } | string;
  /** The syscall set (`"sys1,sys2"`) for a `seccomp` given as text. */
  seccompSet?: string[] | string;
}

function patchError(message: string, pointer?: string): never {
  throw new AciError(message, { code: 'ERR_ACI_PATCH', requirement: 'ACI-013', pointer });
}

function list(v: string[] | string): string[] {
  return Array.isArray(v) ? v : v.split(',').filter((s) => s !== '');
}

/** Splits an `exec` flag value on single spaces, as actool does. */
export function parseExecArg(text: string): string[] {
  const parts = text.split(' ');
  if (text === '' || parts.some((p) => p === ''))
    patchError(`exec ${JSON.stringify(text)}: separate arguments with single spaces.`, '/app/exec');
  return parts;
}

/** Reads `1,2,3` as supplementary group IDs. */
export function parseSupplementaryGids(text: string): number[] {
  return text.split(',').map((s) => {
    if (!/^\d{1,10}$/.test(s) || Number(s) > 4294967295)
      patchError(
        `supplementary group "${s}" is not a non-negative integer; write e.g. "10,20".`,
        '/app/supplementaryGIDs',
      );
    return Number(s);
  });
}

/** Reads `NAME,path=P[,readOnly=B][:NAME2,...]` (IMG-013). */
export function parseMountsArg(text: string): MountPoint[] {
  return text.split(':').map((one) => {
    try {
      return parseMountPointArg(one);
    } catch (e) {
      if (e instanceof SchemaError) patchError(e.message, '/app/mountPoints');
      throw e;
    }
  });
}

/** Reads `NAME,protocol=P,port=N[,count=C][,socketActivated=B][:...]` (IMG-014). */
export function parsePortsArg(text: string): Port[] {
  const ex = 'e.g. "http,protocol=tcp,port=80"';
  return text.split(':').map((one) => {
    const [name = '', ...rest] = one.split(',');
    if (!isAcName(name)) patchError(`port "${one}": "${name}" is not an AC Name; ${ex}.`, '/app/ports');
    const port: Partial<Port> & { name: string } = { name };
    for (const kv of rest) {
      const eq = kv.indexOf('=');
      const k = kv.slice(0, eq);
      const v = kv.slice(eq + 1);
      if (eq < 0) patchError(`port "${one}": "${kv}" is not key=value; ${ex}.`, '/app/ports');
      if (k === 'protocol') port.protocol = v;
      else if (k === 'port' || k === 'count') {
        if (!/^\d+$/.test(v)) patchError(`port "${one}": ${k} must be a number.`, '/app/ports');
        port[k] = Number(v);
      } else if (k === 'socketActivated') {
        if (v !== 'true' && v !== 'false')
          patchError(`port "${one}": socketActivated must be true or false.`, '/app/ports');
        port.socketActivated = v === 'true';
      } else
        patchError(
          `port "${one}": unknown key "${k}" (protocol, port, count, socketActivated); ${ex}.`,
          '/app/ports',
        );
    }
    if (port.protocol === undefined || port.port === undefined)
      patchError(`port "${one}": protocol= and port= are required; ${ex}.`, '/app/ports');
    return port as Port;
  });
}

/** Reads `NAME,key=value[,...][:...]` isolators as actool accepts them: `resource/*` with string values,
 * `os/linux/no-new-privileges,true|false` and `os/linux/oom-score-adj,N`. */
export function parseIsolatorsArg(text: string): Isolator[] {
  return text.split(':').map((one) => {
    const [name = '', ...rest] = one.split(',');
    if (name === 'os/linux/no-new-privileges') {
      if (rest.length !== 1 || (rest[0] !== 'true' && rest[0] !== 'false'))
        patchError(
          `isolator "${one}": write "os/linux/no-new-privileges,true" or ",false".`,
          '/app/isolators',
        );
      return { name, value: rest[0] === 'true' };
    }
    if (name === 'os/linux/oom-score-adj') {
      if (rest.length !== 1 || !/^-?\d+$/.test(rest[0] ?? ''))
        patchError(
          `isolator "${one}": write "os/linux/oom-score-adj,N" with an integer N.`,
          '/app/isolators',
        );
      return { name, value: Number(rest[0]) };
    }
    if (!name.startsWith('resource/'))
      patchError(
        `isolator "${one}": only resource/* isolators, os/linux/no-new-privileges and os/linux/oom-score-adj can be given this way.`,
        '/app/isolators',
      );
    const value: Record<string, string> = {};
    for (const kv of rest) {
      const eq = kv.indexOf('=');
      if (eq <= 0)
        patchError(`isolator "${one}": "${kv}" is not key=value (e.g. limit=1G).`, '/app/isolators');
      value[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return { name, value };
  });
}

/** Reads `remove|retain[,errno=ENAME]` with a syscall set into a seccomp isolator (ISO-004, ISO-005). */
export function parseSeccompArg(mode: string, set: string[] | string | undefined): Isolator {
  const [kind = '', ...rest] = mode.split(',');
  if (kind !== 'remove' && kind !== 'retain')
    patchError(
      `seccomp mode "${mode}": write "remove" or "retain", optionally ",errno=EPERM".`,
      '/app/isolators',
    );
  if (set === undefined || list(set).length === 0)
    patchError('a seccomp mode needs a syscall set (e.g. "reboot,kexec_load").', '/app/isolators');
  const value: { set: string[]; errno?: string } = { set: list(set) };
  for (const kv of rest) {
    if (!kv.startsWith('errno='))
      patchError(`seccomp mode "${mode}": unknown option "${kv}" (errno=ENAME).`, '/app/isolators');
    value.errno = kv.slice(6);
  }
  return { name: `os/linux/seccomp-${kind}-set`, value };
}

const CAPS = /^os\/linux\/capabilities-(retain|remove)-set$/;
const SECCOMP = /^os\/linux\/seccomp-(retain|remove)-set$/;

/** Applies a patch to a manifest and returns the new manifest (the input is not changed). The result is checked
 * with the image manifest rules.
 * @throws {@link AciError} `ERR_ACI_PATCH` for a malformed flag value, app-level changes to an image without
 * `app` (unless `exec` creates it), both capability kinds at once, or a result that is not a valid manifest. */
export function applyManifestPatch(manifest: ImageManifest, patch: ManifestPatch): ImageManifest {
  const m: ImageManifest = structuredClone(manifest);
  if (patch.name !== undefined) {
    if (!isAcIdentifier(patch.name))
      patchError(`name "${patch.name}" is not an AC Identifier (e.g. "example.com/app").`, '/name');
    m.name = patch.name;
  }
  if (patch.exec !== undefined) {
    const exec = Array.isArray(patch.exec) ? patch.exec : parseExecArg(patch.exec);
    m.app ??= { user: '0', group: '0' };
    m.app.exec = exec;
  }
  const appLevel =
    patch.user !== undefined ||
    patch.group !== undefined ||
    patch.supplementaryGIDs !== undefined ||
    patch.capabilityRetain !== undefined ||
    patch.capabilityRemove !== undefined ||
    patch.mounts !== undefined ||
    patch.ports !== undefined ||
    patch.isolators !== undefined ||
    patch.seccomp !== undefined;
  if (appLevel) {
    if (!m.app)
      patchError(`${m.name} has no app; give exec to create one before setting app fields.`, '/app');
    const app: App = m.app;
    if (patch.user !== undefined) app.user = patch.user;
    if (patch.group !== undefined) app.group = patch.group;
    if (patch.supplementaryGIDs !== undefined)
      app.supplementaryGIDs =
        typeof patch.supplementaryGIDs === 'string'
          ? parseSupplementaryGids(patch.supplementaryGIDs)
          : patch.supplementaryGIDs;
    if (patch.capabilityRetain !== undefined && patch.capabilityRemove !== undefined)
      patchError('give either capabilities to retain or capabilities to remove, not both.', '/app/isolators');
    const caps = patch.capabilityRetain ?? patch.capabilityRemove;
    if (caps !== undefined) {
      const name = `os/linux/capabilities-${patch.capabilityRetain !== undefined ? 'retain' : 'remove'}-set`;
      app.isolators = [
        ...(app.isolators ?? []).filter((i) => !CAPS.test(i.name)),
        { name, value: { set: list(caps) } },
      ];
    }
    if (patch.mounts !== undefined)
      app.mountPoints = [
        ...(app.mountPoints ?? []),
        ...(typeof patch.mounts === 'string' ? parseMountsArg(patch.mounts) : patch.mounts),
      ];
    if (patch.ports !== undefined)
      app.ports = [
        ...(app.ports ?? []),
        ...(typeof patch.ports === 'string' ? parsePortsArg(patch.ports) : patch.ports),
      ];
    if (patch.isolators !== undefined)
      app.isolators = [
        ...(app.isolators ?? []),
        ...(typeof patch.isolators === 'string' ? parseIsolatorsArg(patch.isolators) : patch.isolators),
      ];
    if (patch.seccomp !== undefined) {
      const iso =
        typeof patch.seccomp === 'string'
          ? parseSeccompArg(patch.seccomp, patch.seccompSet)
          : {
              name: `os/linux/seccomp-${patch.seccomp.mode}-set`,
              value: {
                set: patch.seccomp.set,
                ...(patch.seccomp.errno ? { errno: patch.seccomp.errno } : {}),
              },
            };
      app.isolators = [...(app.isolators ?? []).filter((i) => !SECCOMP.test(i.name)), iso];
    }
  } else if (patch.seccompSet !== undefined) {
    patchError('a seccomp syscall set needs a seccomp mode.', '/app/isolators');
  }
  const errors = validateImageManifest(m).filter((i) => i.severity !== 'warning');
  if (errors.length > 0) {
    const first = errors[0];
    throw new AciError(
      `the patched manifest is not valid: ${errors.map((i) => `${i.pointer || '/'}: ${i.message}`).join('; ')}`,
      { code: 'ERR_ACI_PATCH', requirement: first?.requirement ?? 'IMG-019', pointer: first?.pointer },
    );
  }
  return m;
}
