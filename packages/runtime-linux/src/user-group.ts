import { open, stat } from 'node:fs/promises';
import { RuntimeError } from './errors.ts';
import { resolveInRootfs } from './internal/rootfs-path.ts';

/** The identity an app's processes run as, resolved from its rootfs (ACE-013). */
export interface AppIdentity {
  uid: number;
  gid: number;
  /** Supplementary GIDs: the app's `supplementaryGIDs`, then the groups of `/etc/group` listing the user. */
  additionalGids: number[];
  /** User name from the image's `/etc/passwd`, when the uid has an entry there. */
  userName?: string;
}

/** The fields of an app {@link resolveAppIdentity} reads. */
export interface IdentityRequest {
  user: string;
  group: string;
  supplementaryGIDs?: number[];
}

/** Largest passwd or group file read (bigger files are refused rather than read whole). */
const MAX_DB_BYTES = 8 * 1024 * 1024;
const MAX_ID = 4294967294;

interface DbEntry {
  name: string;
  id: number;
  /** passwd: primary gid; group: undefined. */
  gid?: number;
  members: string[];
}

async function readDb(rootfs: string, path: string, app: string): Promise<DbEntry[]> {
  const resolved = await resolveInRootfs(rootfs, path);
  if (resolved.hostPath === undefined) return [];
  let text: string;
  const fh = await open(resolved.hostPath, 'r').catch(() => undefined);
  if (!fh) return [];
  try {
    const st = await fh.stat();
    if (!st.isFile()) return [];
    if (st.size > MAX_DB_BYTES) {
      throw new RuntimeError(
        `app "${app}": ${path} of the image is ${st.size} bytes, more than the ${MAX_DB_BYTES} read; shrink it.`,
        {
          code: path === '/etc/passwd' ? 'ERR_RUN_USER' : 'ERR_RUN_GROUP',
          requirement: 'ACE-013',
          app,
          file: path,
        },
      );
    }
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(buf, 0, st.size, 0);
    text = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
  const out: DbEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const name = f[0] ?? '';
    const id = Number(f[2]);
    if (name === '' || !/^\d+$/.test(f[2] ?? '') || id > MAX_ID) continue;
    if (path === '/etc/passwd') {
      const gid = Number(f[3]);
      out.push({ name, id, gid: /^\d+$/.test(f[3] ?? '') ? gid : id, members: [] });
    } else {
      out.push({ name, id, members: (f[3] ?? '').split(',').filter((m) => m !== '') });
    }
  }
  return out;
}

async function ownerOf(rootfs: string, path: string): Promise<{ uid: number; gid: number } | undefined> {
  const resolved = await resolveInRootfs(rootfs, path);
  if (resolved.hostPath === undefined) return undefined;
  const st = await stat(resolved.hostPath).catch(() => undefined);
  return st ? { uid: st.uid, gid: st.gid } : undefined;
}

/** Resolves an app's user and group inside its rendered rootfs (ACE-013): a name is looked up in the image's own
 * `/etc/passwd` and `/etc/group` (never the host's); otherwise all digits is the numeric ID; a value starting with
 * `/` takes the owner uid (or gid) of that path inside the rootfs. Supplementary GIDs are the app's
 * `supplementaryGIDs` plus every group of the image's `/etc/group` that lists the user by name.
 * @throws {@link RuntimeError} `ERR_RUN_USER` or `ERR_RUN_GROUP` naming the app and the field, when a value
 * resolves to nothing. */
export async function resolveAppIdentity(
  rootfs: string,
  app: IdentityRequest,
  appName: string,
  options: { pointer?: string } = {},
): Promise<AppIdentity> {
  const base = options.pointer ?? '/app';
  const passwd = await readDb(rootfs, '/etc/passwd', appName);
  const groups = await readDb(rootfs, '/etc/group', appName);

  const resolveId = async (value: string, kind: 'user' | 'group'): Promise<number> => {
    const code = kind === 'user' ? 'ERR_RUN_USER' : 'ERR_RUN_GROUP';
    const db = kind === 'user' ? passwd : groups;
    const dbFile = kind === 'user' ? '/etc/passwd' : '/etc/group';
    const fail = (why: string): never => {
      throw new RuntimeError(`app "${appName}": ${kind} "${value}" ${why}`, {
        code,
        requirement: 'ACE-013',
        app: appName,
        pointer: `${base}/${kind}`,
      });
    };
    if (value === '') fail('is empty; give a name, a number or an absolute path.');
    const entry = db.find((e) => e.name === value);
    if (entry) return entry.id;
    if (/^\d+$/.test(value)) {
      const n = Number(value);
      if (n > MAX_ID) fail(`is out of range (0..${MAX_ID}).`);
      return n;
    }
    if (value.startsWith('/')) {
      const owner = await ownerOf(rootfs, value);
      if (!owner)
        fail(`names a path that does not exist in the app's rootfs; its owner is what "${value}" means.`);
      return kind === 'user' ? (owner as { uid: number }).uid : (owner as { gid: number }).gid;
    }
    return fail(
      `is not in the image's ${dbFile}, nor a number, nor an absolute path; add it to ${dbFile} or use a number.`,
    );
  };

  const uid = await resolveId(app.user, 'user');
  const gid = await resolveId(app.group, 'group');
  const userName = passwd.find((e) => e.id === uid)?.name;
  const extra: number[] = [];
  for (const [i, g] of (app.supplementaryGIDs ?? []).entries()) {
    if (!Number.isInteger(g) || g < 0 || g > MAX_ID) {
      throw new RuntimeError(
        `app "${appName}": supplementary GID ${g} is not an integer from 0 to ${MAX_ID}.`,
        {
          code: 'ERR_RUN_GROUP',
          requirement: 'IMG-008',
          app: appName,
          pointer: `${base}/supplementaryGIDs/${i}`,
        },
      );
    }
    extra.push(g);
  }
  if (userName !== undefined) {
    for (const g of groups) if (g.members.includes(userName)) extra.push(g.id);
  }
  const additionalGids = [...new Set(extra)].filter((g) => g !== gid);
  const out: AppIdentity = { uid, gid, additionalGids };
  if (userName !== undefined) out.userName = userName;
  return out;
}
