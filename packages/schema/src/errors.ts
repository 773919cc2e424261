/** Fields every appc error carries besides its message. */
export interface AppcErrorDetails<C extends string = string> {
  /** Stable, documented code such as `ERR_ACI_PATH_ESCAPE`; renaming one is a breaking change. */
  code: C;
  /** Requirement ID from the project's REQUIREMENTS.md, such as `ACI-012`. */
  requirement?: string | undefined;
  /** JSON pointer to the field at fault, such as `/app/exec/0`. */
  pointer?: string | undefined;
  /** File, directory or archive entry at fault. */
  file?: string | undefined;
  cause?: unknown;
}

/** Base class of every error thrown by the `@appc/*` packages. Match on `code`, not on the class. */
export class AppcError<C extends string = string> extends Error {
  override name = 'AppcError';
  readonly code: C;
  readonly requirement: string | undefined;
  readonly pointer: string | undefined;
  readonly file: string | undefined;
  constructor(message: string, details: AppcErrorDetails<C>) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.requirement = details.requirement;
    this.pointer = details.pointer;
    this.file = details.file;
  }
}

/** True when `error` carries the given code (or any of them); works across copies of the package. */
export function hasCode<C extends string>(error: unknown, ...codes: C[]): error is AppcError<C> {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (codes.length === 0 || (codes as string[]).includes(code));
}

/** One problem found by a validator. */
export interface Issue {
  /** Stable code, such as `ERR_SCHEMA_AC_IDENTIFIER`. */
  code: string;
  /** JSON pointer into the document (`''` for the whole document). */
  pointer: string;
  /** Requirement ID broken, such as `TYPES-001`. */
  requirement: string;
  /** What is wrong and what to do, for a person. */
  message: string;
  /** Warnings do not make a document invalid. Absent means `error`. */
  severity?: 'error' | 'warning';
  /** File or archive entry the issue is about, when there is one. */
  file?: string;
}

/** Codes a {@link SchemaError} carries: one for a document with problems, one for text that is not JSON. */
export type SchemaErrorCode = 'ERR_SCHEMA_INVALID' | 'ERR_SCHEMA_JSON';

/** Thrown by every `parse…` function of `@appc/schema`: `issues` lists every problem found, not only the first. */
export class SchemaError extends AppcError<SchemaErrorCode> {
  override name = 'SchemaError';
  /** Every problem found (errors and warnings); the first error's pointer and requirement are also on the error. */
  readonly issues: Issue[];
  constructor(message: string, details: AppcErrorDetails<SchemaErrorCode> & { issues: Issue[] }) {
    super(message, details);
    this.issues = details.issues;
  }
}

/** Builds the one error a `parse…` function throws from the issues a validator found. */
export function schemaErrorFrom(what: string, issues: Issue[], file?: string): SchemaError {
  const errors = issues.filter((i) => i.severity !== 'warning');
  const first = errors[0];
  const where = file === undefined ? '' : `${file}: `;
  const lines = errors
    .slice(0, 5)
    .map((i) => `  ${i.pointer || '/'}: ${i.message} [${i.code}, ${i.requirement}]`);
  const more = errors.length > 5 ? `\n  … and ${errors.length - 5} more (see error.issues)` : '';
  return new SchemaError(
    `${where}${what} is invalid (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${lines.join('\n')}${more}`,
    { code: 'ERR_SCHEMA_INVALID', requirement: first?.requirement, pointer: first?.pointer, file, issues },
  );
}
