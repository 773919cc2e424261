import { AppcError, type AppcErrorDetails, type Issue } from '@appc/schema';

/** Every code a {@link RuntimeError} carries; see the README table. Renaming one is a breaking change. */
export const RUNTIME_ERROR_CODES = [
  'ERR_RUN_NO_APP',
  'ERR_RUN_APP_NAME',
  'ERR_RUN_DUPLICATE_APP_NAME',
  'ERR_RUN_INVALID_POD_MANIFEST',
  'ERR_RUN_UNKNOWN_IMAGE',
  'ERR_RUN_UNKNOWN_VOLUME',
  'ERR_RUN_MOUNT_CONFLICT',
  'ERR_RUN_UNKNOWN_PORT',
  'ERR_RUN_USER',
  'ERR_RUN_GROUP',
  'ERR_RUN_EXEC_EMPTY',
  'ERR_RUN_EXEC_NOT_FOUND',
  'ERR_RUN_WORKDIR_MISSING',
  'ERR_RUN_VOLUME_SOURCE',
  'ERR_RUN_ISOLATOR',
  'ERR_RUN_SYSCTL_FORBIDDEN',
  'ERR_RUN_APPARMOR_PROFILE',
  'ERR_RUN_STRICT',
  'ERR_RUN_UNSUPPORTED_ARCH',
  'ERR_RUN_ROOTFS',
  'ERR_RUN_RUNC',
  'ERR_RUN_SANDBOX',
  'ERR_RUN_SOCKET_ACTIVATION',
  'ERR_RUN_NOTIFY',
  'ERR_RUN_NETWORK',
  'ERR_RUN_POD_NOT_FOUND',
  'ERR_RUN_POD_AMBIGUOUS',
  'ERR_RUN_POD_NAME',
  'ERR_RUN_POD_STATE',
] as const;

/** Stable codes of {@link RuntimeError}. */
export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];

/** Details of a {@link RuntimeError}: the common ones plus the app at fault and the issues of a manifest. */
export interface RuntimeErrorDetails extends AppcErrorDetails<RuntimeErrorCode> {
  /** Name of the pod app at fault, when there is one. */
  app?: string | undefined;
  /** `ERR_RUN_INVALID_POD_MANIFEST`: every problem the pod manifest check found. */
  issues?: Issue[];
}

/** The one error class of `@appc/runtime-linux`. Match on `code` (`hasCode(e, 'ERR_RUN_USER')`), not on the class. */
export class RuntimeError extends AppcError<RuntimeErrorCode> {
  override name = 'RuntimeError';
  /** Name of the pod app at fault, or undefined when the error is about the whole pod. */
  readonly app: string | undefined;
  /** Problems of a refused pod manifest (`ERR_RUN_INVALID_POD_MANIFEST`); empty otherwise. */
  readonly issues: Issue[];
  constructor(message: string, details: RuntimeErrorDetails) {
    super(message, details);
    this.app = details.app;
    this.issues = details.issues ?? [];
  }
}
