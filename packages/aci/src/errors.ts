import { AppcError, type Issue } from '@appc/schema';

/** Every code an {@link AciError} (and every `Issue` of this package) carries; see the README table. */
export const ACI_ERROR_CODES = [
  'ERR_ACI_BAD_COMPRESSION',
  'ERR_ACI_ENCRYPTED',
  'ERR_ACI_TRUNCATED',
  'ERR_ACI_BAD_TAR_HEADER',
  'ERR_ACI_UNSUPPORTED_ENTRY',
  'ERR_ACI_LIMIT',
  'ERR_ACI_PATH_ESCAPE',
  'ERR_ACI_DUPLICATE_ENTRY',
  'ERR_ACI_MISSING_MANIFEST',
  'ERR_ACI_MISSING_ROOTFS',
  'ERR_ACI_EXTRA_TOP_LEVEL',
  'ERR_ACI_MANIFEST_NOT_FILE',
  'ERR_ACI_ROOTFS_NOT_DIR',
  'ERR_ACI_NOT_LAYOUT',
  'ERR_ACI_OUTPUT_EXISTS',
  'ERR_ACI_BAD_EXTENSION',
  'ERR_ACI_DEVICE_UNPRIVILEGED',
  'ERR_ACI_IMAGE_ID_MISMATCH',
  'ERR_ACI_SIZE_MISMATCH',
  'ERR_ACI_DEPENDENCY_CYCLE',
  'ERR_ACI_DEPENDENCY_NOT_FOUND',
  'ERR_ACI_TOOL_MISSING',
  'ERR_ACI_TOOL_FAILED',
  'ERR_ACI_ABORTED',
  'ERR_ACI_PATCH',
  'ERR_ACI_BAD_HARDLINK',
  'ERR_ACI_PATH_CONFLICT',
  'ERR_ACI_OLD_VERSION',
  'ERR_ACI_INVALID_LAYOUT',
  'ERR_ACI_HOST_PROGRAM',
] as const;

/** Stable codes of {@link AciError}; renaming one is a breaking change. */
export type AciErrorCode = (typeof ACI_ERROR_CODES)[number];

/** Codes of issues: every {@link AciErrorCode}, plus the warning an old acVersion gives in an archive. */
export type AciIssueCode = AciErrorCode | 'WARN_ACI_OLD_VERSION';

/** The one error class of `@appc/aci`. Match on `code` (`hasCode(e, 'ERR_ACI_PATH_ESCAPE')`), not on the class. */
export class AciError extends AppcError<AciErrorCode> {
  override name = 'AciError';
}

/** Turns an {@link AciError} (or any AppcError) into the Issue a validator reports. */
export function issueFromError(error: AppcError, fallbackRequirement: string): Issue {
  const issue: Issue = {
    code: error.code,
    pointer: error.pointer ?? '',
    requirement: error.requirement ?? fallbackRequirement,
    message: error.message,
  };
  if (error.file !== undefined) issue.file = error.file;
  return issue;
}

/** Builds an Issue of this package. */
export function aciIssue(
  code: AciIssueCode,
  requirement: string,
  message: string,
  file?: string,
  pointer = '',
): Issue {
  const issue: Issue = { code, pointer, requirement, message };
  if (file !== undefined) issue.file = file;
  return issue;
}
