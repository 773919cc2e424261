import { open, stat } from 'node:fs/promises';
import { sniffFileKind, validateArchive, validateLayout } from '@appc/aci';
import {
  detectManifestKind,
  type Issue,
  parseJson,
  validateImageManifest,
  validatePodManifest,
} from '@appc/schema';
import { parseCommandArgs, pathArg } from '../args.ts';
import { briefMessage, describeError, formatIssue, UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = 'Check ACIs, image and pod manifests, and image layouts against the spec';
export const usage = 'appc validate [--json] [--type appimage|layout|manifest] [--strict] PATH...';
export const help = `Each PATH is judged on its own, even when others cannot be read:
  - a directory is an image layout (manifest + rootfs/, ACI-009);
  - a file is told apart by its content, whatever its name: gzip, bzip2, xz, tar (also v7) or an
    OpenPGP-encrypted file is an image archive (ACI-002..ACI-007); UTF-8 text is a manifest whose acKind
    says image or pod (ACI-016); anything else is invalid.
Problems go to stderr, one per line: PATH[:ENTRY][#/pointer]: message [CODE, REQUIREMENT].

  --json            one JSON object per PATH on stdout: {"path", "kind", "valid", "errors", "warnings",
                    "imageId"?}; kind is image, layout, image-manifest, pod-manifest or unknown
  --type T          skip detection: appimage, layout or manifest
  --strict          unknown isolators are errors, not warnings (ISO-003)

Exit status: 2 when some PATH could not be read, else 1 when some PATH is invalid, else 0.`;

type Kind = 'image' | 'layout' | 'image-manifest' | 'pod-manifest' | 'unknown';

interface Verdict {
  path: string;
  kind: Kind;
  valid: boolean;
  errors: Issue[];
  warnings: Issue[];
  imageId?: string;
  /** The path could not be read at all (an I/O error, not a verdict). */
  unreadable?: boolean;
}

/** Manifest files above this size are refused before reading (a manifest is a few KiB). */
const MAX_MANIFEST_FILE_BYTES = 16 * 1024 * 1024;

async function firstBytes(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function judgeManifestFile(
  path: string,
  shown: string,
  strict: boolean,
): Promise<{ kind: Kind; issues: Issue[] }> {
  const size = (await stat(path)).size;
  if (size > MAX_MANIFEST_FILE_BYTES) {
    return {
      kind: 'unknown',
      issues: [
        {
          code: 'ERR_SCHEMA_JSON',
          requirement: 'IMG-019',
          pointer: '',
          message: `${size} bytes is far too large for a manifest (limit ${MAX_MANIFEST_FILE_BYTES}); is this the right file?`,
        },
      ],
    };
  }
  const fh = await open(path, 'r');
  let text: Buffer;
  try {
    text = await fh.readFile();
  } finally {
    await fh.close();
  }
  let doc: unknown;
  try {
    doc = parseJson(text, { file: shown });
  } catch (error) {
    const issues = (error as { issues?: Issue[] }).issues;
    if (Array.isArray(issues) && issues.length > 0) return { kind: 'unknown', issues };
    throw error;
  }
  const kind = detectManifestKind(doc);
  if (kind === 'ImageManifest')
    return { kind: 'image-manifest', issues: validateImageManifest(doc, { strict, file: shown }) };
  if (kind === 'PodManifest')
    return { kind: 'pod-manifest', issues: validatePodManifest(doc, { strict, file: shown }) };
  const acKind =
    typeof doc === 'object' && doc !== null && !Array.isArray(doc)
      ? (doc as { acKind?: unknown }).acKind
      : undefined;
  return {
    kind: 'unknown',
    issues: [
      {
        code: 'ERR_SCHEMA_AC_KIND',
        requirement: 'TYPES-004',
        pointer: acKind === undefined ? '' : '/acKind',
        message:
          acKind === undefined
            ? 'this JSON has no "acKind": it is neither an image manifest nor a pod manifest; add "acKind": "ImageManifest" or "PodManifest"'
            : `acKind ${JSON.stringify(acKind)} is neither "ImageManifest" nor "PodManifest" (case-sensitive)`,
      },
    ],
  };
}

async function judge(
  path: string,
  shown: string,
  type: string | undefined,
  strict: boolean,
  signal: AbortSignal | undefined,
): Promise<{ kind: Kind; issues: Issue[]; imageId?: string }> {
  const st = await stat(path);
  if (st.isDirectory() || type === 'layout') {
    const r = await validateLayout(path);
    return { kind: 'layout', issues: r.issues };
  }
  let fileKind: string;
  if (type === 'appimage') fileKind = 'tar';
  else if (type === 'manifest') fileKind = 'text';
  else fileKind = sniffFileKind(await firstBytes(path, 512));
  if (fileKind === 'text') return judgeManifestFile(path, shown, strict);
  if (fileKind === 'unknown') {
    return {
      kind: 'unknown',
      issues: [
        {
          code: 'ERR_ACI_BAD_COMPRESSION',
          requirement: 'ACI-006',
          pointer: '',
          message:
            'neither an image archive (gzip, bzip2, xz or tar) nor a JSON manifest: its first bytes match no known format; is this the right file?',
        },
      ],
    };
  }
  const r = await validateArchive(path, signal ? { signal } : {});
  return { kind: 'image', issues: r.issues, ...(r.imageId ? { imageId: r.imageId } : {}) };
}

/** An issue's `file` as the user would name it: dropped when it is the PATH itself, relative to PATH when it
 * lies inside it (`manifest`, `rootfs/bin/x`). */
function withRelativeFile(issue: Issue, path: string, given: string): Issue {
  const { file, ...rest } = issue;
  if (file === undefined || file === path || file === given) return rest;
  if (file.startsWith(`${path}/`)) return { ...rest, file: file.slice(path.length + 1) };
  return issue;
}

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    type: { type: 'string' },
    strict: { type: 'boolean' },
  });
  if (positionals.length === 0) throw new UsageError('name at least one PATH to validate');
  if (values.type !== undefined && !['appimage', 'layout', 'manifest'].includes(values.type))
    throw new UsageError(`--type must be appimage, layout or manifest, not "${values.type}"`);
  let anyInvalid = false;
  let anyUnreadable = false;
  for (const given of positionals) {
    if (io.signal?.aborted) {
      io.stderr.write('appc validate: interrupted; the remaining paths were not judged\n');
      return ExitCode.Usage;
    }
    const path = pathArg(io, given);
    let verdict: Verdict;
    try {
      const { kind, issues, imageId } = await judge(
        path,
        given,
        values.type,
        values.strict ?? false,
        io.signal,
      );
      const shown = issues.map((i) => withRelativeFile(i, path, given));
      const errors = shown.filter((i) => i.severity !== 'warning');
      const warnings = shown.filter((i) => i.severity === 'warning');
      verdict = {
        path: given,
        kind,
        valid: errors.length === 0,
        errors,
        warnings,
        ...(imageId ? { imageId } : {}),
      };
    } catch (error) {
      const { exitCode } = describeError(error, globals.debug);
      const message = briefMessage(error, globals.debug);
      const code = (error as { code?: unknown }).code;
      const requirement = (error as { requirement?: unknown }).requirement;
      verdict = {
        path: given,
        kind: 'unknown',
        valid: false,
        errors: [
          {
            code: typeof code === 'string' ? code : 'ERR_INTERNAL',
            requirement: typeof requirement === 'string' ? requirement : '',
            pointer: '',
            message,
          },
        ],
        warnings: [],
        ...(exitCode === ExitCode.Usage ? { unreadable: true } : {}),
      };
    }
    anyInvalid ||= !verdict.valid;
    anyUnreadable ||= verdict.unreadable === true;
    if (values.json) {
      const strip = ({ code, requirement, pointer, message, file }: Issue) => ({
        code,
        requirement,
        pointer,
        message,
        ...(file ? { file } : {}),
      });
      io.stdout.write(
        `${JSON.stringify({
          path: verdict.path,
          kind: verdict.kind,
          valid: verdict.valid,
          errors: verdict.errors.map(strip),
          warnings: verdict.warnings.map(strip),
          ...(verdict.imageId ? { imageId: verdict.imageId } : {}),
        })}\n`,
      );
    } else {
      for (const issue of [...verdict.errors, ...verdict.warnings])
        io.stderr.write(`${formatIssue(given, issue)}\n`);
      if (verdict.valid && globals.debug)
        io.stderr.write(`${given}: valid ${verdict.kind}${verdict.imageId ? ` ${verdict.imageId}` : ''}\n`);
    }
  }
  return anyUnreadable ? ExitCode.Usage : anyInvalid ? ExitCode.Invalid : ExitCode.Ok;
}
