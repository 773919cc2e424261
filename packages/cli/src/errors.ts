import { hasCode, type Issue } from '@appc/schema/errors';
import { ExitCode } from './io.ts';

/** A command-line mistake: reported with the command's usage, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The exit-status rule, in one place (README "Exit status"): an error that JUDGES THE INPUT (a bad manifest, a
 * damaged or unsafe archive, a failed check) exits 1; an error that says the tool COULD NOT DO ITS WORK on
 * its input (a usage mistake, a file missing or unreadable, an output in the way, a missing program, no
 * rights, an interruption) exits 2. These `AppcError` codes are of the second kind; every other code judges
 * the input. */
export const OPERATIONAL_CODES: ReadonlySet<string> = new Set([
  'ERR_ACI_OUTPUT_EXISTS',
  'ERR_ACI_BAD_EXTENSION',
  'ERR_ACI_TOOL_MISSING',
  'ERR_ACI_TOOL_FAILED',
  'ERR_ACI_ABORTED',
  'ERR_ACI_NOT_LAYOUT',
  'ERR_ACI_DEPENDENCY_NOT_FOUND',
  'ERR_ACI_DEVICE_UNPRIVILEGED',
  // the network or the store could not be reached or used: nothing was judged
  'ERR_DISC_BAD_APP_STRING',
  'ERR_DISC_BAD_OPTIONS',
  'ERR_DISC_NOT_FOUND',
  'ERR_DISC_HTTP_STATUS',
  'ERR_DISC_NETWORK',
  'ERR_DISC_TIMEOUT',
  'ERR_DISC_ABORTED',
  'ERR_DISC_TRUNCATED',
  'ERR_DISC_AUTH_CONFIG',
  'ERR_DISC_PROXY',
  'ERR_STORE_NOT_FOUND',
  'ERR_STORE_AMBIGUOUS_ID',
  'ERR_STORE_BAD_ID',
  'ERR_STORE_LOCKED',
  'ERR_STORE_IO',
  'ERR_STORE_EXISTS',
  'ERR_STORE_CLOSED',
  'ERR_STORE_VERSION',
  'ERR_STORE_ABORTED',
  'ERR_VERIFY_USAGE',
  'ERR_VERIFY_INSECURE_OPTION',
  'ERR_VERIFY_NO_LOCAL_DIR',
  'ERR_VERIFY_KEY_FETCH',
  'ERR_VERIFY_KEY_NOT_FOUND',
  'ERR_VERIFY_REVIEW_REQUIRED',
  'ERR_VERIFY_PASSPHRASE',
  'ERR_VERIFY_ABORTED',
  // the host could not run the pod, or there is no such pod: nothing about the input was judged
  'ERR_RUN_RUNC',
  'ERR_RUN_SANDBOX',
  'ERR_RUN_NETWORK',
  'ERR_RUN_POD_NOT_FOUND',
  'ERR_RUN_POD_AMBIGUOUS',
  'ERR_RUN_POD_STATE',
]);

/** Node's system errors (`ENOENT`, `EACCES`, ...) carry `syscall` and an `E…` code. */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    /^E[A-Z0-9]+$/.test((error as NodeJS.ErrnoException).code ?? '') &&
    ('syscall' in error || 'path' in error)
  );
}

const SYSTEM_HINTS: Record<string, string> = {
  ENOENT: 'no such file or directory; check the path',
  EACCES: 'permission denied; check the file mode or run with the rights needed',
  EPERM: 'operation not permitted; some operations need root',
  EISDIR: 'is a directory; name a file',
  ENOTDIR: 'a component of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EEXIST: 'already exists',
};

/** Where a library's message names its option, the flag that does the same on the command line. */
const CLI_WORDING: Readonly<Record<string, readonly [string, string]>> = {
  ERR_ACI_OUTPUT_EXISTS: ['remove it or ask to overwrite it.', 'remove it or give --overwrite.'],
  // the command line has no flag for another extension: the output is renamed
  ERR_ACI_BAD_EXTENSION: ['rename the output, or pass anyExtension.', 'name the output FILE.aci.'],
};

/** An error's message in the command line's words ({@link CLI_WORDING}). */
function cliText(error: Error & { code: string }): string {
  const wording = CLI_WORDING[error.code];
  return wording ? error.message.replace(wording[0], wording[1]) : error.message;
}

/** Turns anything a command throws into one line for a person and an exit status. */
export function describeError(error: unknown, debug: boolean): { message: string; exitCode: ExitCode } {
  if (error instanceof UsageError) return { message: error.message, exitCode: ExitCode.Usage };
  if (isSystemError(error)) {
    const where = error.path ?? '';
    const hint = SYSTEM_HINTS[error.code ?? ''] ?? error.message;
    return { message: `${where ? `${where}: ` : ''}${hint} [${error.code}]`, exitCode: ExitCode.Usage };
  }
  if (hasCode(error) && error instanceof Error) {
    const e = error as Error & {
      code: string;
      requirement?: string;
      pointer?: string;
      file?: string;
      issues?: Issue[];
    };
    const tags = [e.code, e.requirement].filter(Boolean).join(', ');
    const text = cliText(e);
    // The tags close the message, or its first line when the lines after it are issues with tags of their own.
    const nl = text.indexOf('\n');
    let message = `${text} [${tags}]`;
    if (nl >= 0 && /\[[A-Z][A-Z0-9_]*(, [A-Z]+-\d+)?\]$/.test(text)) {
      const head = text.slice(0, nl);
      const colon = head.endsWith(':') ? ':' : '';
      message = `${colon ? head.slice(0, -1) : head} [${tags}]${colon}${text.slice(nl)}`;
    }
    // SchemaError messages already list the first few issues: list them all only when the message does not.
    const listed = Array.isArray(e.issues) && e.issues.some((i) => text.includes(i.message));
    if (Array.isArray(e.issues) && e.issues.length > 0 && !listed) {
      message += `\n${e.issues.map((i) => `  ${formatIssue(e.file ?? '', i)}`).join('\n')}`;
    }
    if (debug && e.cause) message += `\ncaused by: ${String((e.cause as Error).stack ?? e.cause)}`;
    if (debug) message += `\n${e.stack ?? ''}`;
    return { message, exitCode: exitCodeFor(error) };
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    message: `internal error, please report it with the command you ran${debug ? `:\n${stack}` : ' (run again with --debug for details)'}`,
    exitCode: ExitCode.Usage,
  };
}

/** The error's message without the path and code tags `describeError` adds, for a line that already names the
 * path and the code (`validate`'s per-path entries). */
export function briefMessage(error: unknown, debug: boolean): string {
  if (isSystemError(error)) return SYSTEM_HINTS[error.code ?? ''] ?? error.message;
  if (hasCode(error) && error instanceof Error) return cliText(error as Error & { code: string });
  return describeError(error, debug).message;
}

/** The exit status an error thrown by a command leads to (see {@link OPERATIONAL_CODES}). */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError || isSystemError(error)) return ExitCode.Usage;
  if (hasCode(error) && error instanceof Error) {
    const { code, cause } = error as Error & { code: string };
    // A system error wrapped by a library is still an I/O error.
    return OPERATIONAL_CODES.has(code) || isSystemError(cause) ? ExitCode.Usage : ExitCode.Invalid;
  }
  return ExitCode.Usage;
}

/** `PATH#/pointer: message [CODE, REQ-ID]`, the line `validate` prints for each problem. */
export function formatIssue(path: string, issue: Issue): string {
  const where = `${path}${issue.file && issue.file !== path ? `:${issue.file}` : ''}${issue.pointer ? `#${issue.pointer}` : ''}`;
  const severity = issue.severity === 'warning' ? 'warning: ' : '';
  return `${where}: ${severity}${issue.message} [${[issue.code, issue.requirement].filter(Boolean).join(', ')}]`;
}
