import { AppcError, type AppcErrorDetails, type Issue } from '@appc/schema';

/** Every code a {@link StoreError} carries; see the README table. Renaming one is a breaking change. */
export const STORE_ERROR_CODES = [
  'ERR_STORE_NOT_FOUND',
  'ERR_STORE_AMBIGUOUS_ID',
  'ERR_STORE_BAD_ID',
  'ERR_STORE_ID_MISMATCH',
  'ERR_STORE_TOO_LARGE',
  'ERR_STORE_INVALID_IMAGE',
  'ERR_STORE_CORRUPT',
  'ERR_STORE_LOCKED',
  'ERR_STORE_EXISTS',
  'ERR_STORE_CLOSED',
  'ERR_STORE_VERSION',
  'ERR_STORE_ABORTED',
  'ERR_STORE_UNSIGNED',
  'ERR_STORE_NOT_REQUESTED',
  'ERR_STORE_IO',
] as const;

/** Stable codes of {@link StoreError}. */
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

/** Details of a {@link StoreError}: the common ones plus what a few codes add. */
export interface StoreErrorDetails extends AppcErrorDetails<StoreErrorCode> {
  /** `ERR_STORE_INVALID_IMAGE`: every problem the archive check found. */
  issues?: Issue[];
  /** `ERR_STORE_AMBIGUOUS_ID`: the image IDs the prefix matches (at most 10). */
  candidates?: string[];
}

/** The one error class of `@appc/store`. Match on `code` (`hasCode(e, 'ERR_STORE_NOT_FOUND')`), not on the class. */
export class StoreError extends AppcError<StoreErrorCode> {
  override name = 'StoreError';
  /** Problems of an image refused by `put` (`ERR_STORE_INVALID_IMAGE`); empty otherwise. */
  readonly issues: Issue[];
  /** Candidates of an ambiguous ID prefix (`ERR_STORE_AMBIGUOUS_ID`); empty otherwise. */
  readonly candidates: string[];
  constructor(message: string, details: StoreErrorDetails) {
    super(message, details);
    this.issues = details.issues ?? [];
    this.candidates = details.candidates ?? [];
  }
}
