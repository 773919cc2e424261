import type { AppcErrorDetails } from '@appc/schema';
import { AppcError } from '@appc/schema';

/** Every code a {@link DiscoveryError} (or an {@link Attempt}) carries; see the README for what to do about each. */
export type DiscoveryErrorCode =
  /** The image string is not `NAME[:VERSION][,LABEL=VALUE]...` (DISC-014). */
  | 'ERR_DISC_BAD_APP_STRING'
  /** A `{name, labels}` given to discovery has a name or label name that is not an AC Identifier (DISC-014). */
  | 'ERR_DISC_BAD_APP'
  /** An option is out of range (a port, a size, a timeout). */
  | 'ERR_DISC_BAD_OPTIONS'
  /** No level of the parent walk yielded what was asked for (DISC-004); `attempts` lists every try. */
  | 'ERR_DISC_NOT_FOUND'
  /** A redirect from https to http was refused (DISC-002, ours: never downgrade). */
  | 'ERR_DISC_INSECURE_REDIRECT'
  /** A plain-http URL was to be fetched without `insecure.http` (DISC-011). */
  | 'ERR_DISC_HTTP_NOT_ALLOWED'
  /** The server's certificate did not verify (DISC-002, DISC-011). */
  | 'ERR_DISC_TLS'
  /** More than 10 redirects (DISC-002). */
  | 'ERR_DISC_TOO_MANY_REDIRECTS'
  /** A redirect without a usable `Location` or to another scheme than http(s). */
  | 'ERR_DISC_BAD_REDIRECT'
  /** The final status was not 200 (DISC-002). */
  | 'ERR_DISC_HTTP_STATUS'
  /** The connection failed (name resolution, refused, reset, protocol error). */
  | 'ERR_DISC_NETWORK'
  /** The page is larger than `maxPageBytes`. */
  | 'ERR_DISC_PAGE_TOO_LARGE'
  /** A download is larger than allowed, declared or received (DISC-013: declared sizes bound downloads). */
  | 'ERR_DISC_TOO_LARGE'
  /** A download ended before the length its server declared. */
  | 'ERR_DISC_TRUNCATED'
  /** A request or the whole discovery ran out of time. */
  | 'ERR_DISC_TIMEOUT'
  /** The caller's `signal` aborted discovery. */
  | 'ERR_DISC_ABORTED'
  /** A page answered 200 but had no tag of the wanted kind matching the name (DISC-004, DISC-005, DISC-006). */
  | 'ERR_DISC_NO_TAGS'
  /** An auth.d file is unreadable or malformed, or lists a domain twice (VERIFY-008). */
  | 'ERR_DISC_AUTH_CONFIG'
  /** The HTTP proxy could not be reached or refused the tunnel (`CONNECT`), e.g. 407 without credentials. */
  | 'ERR_DISC_PROXY';

/** One URL tried during discovery and how it ended; kept for `--debug` output. */
export interface Attempt {
  /** The URL requested first (before redirects). */
  url: string;
  /** The name prefix whose discovery page this is (DISC-004), when the request was a discovery page. */
  prefix?: string;
  /** Last HTTP status seen, when a server answered. */
  status?: number;
  /** The URL the body came from, when redirects moved it. */
  finalUrl?: string;
  /** Why this attempt did not yield anything; absent for a success. */
  code?: DiscoveryErrorCode;
  /** The same for a person. */
  error?: string;
}

/** Thrown by every function of `@appc/discovery`; match on `code` with `hasCode`. */
export class DiscoveryError extends AppcError<DiscoveryErrorCode> {
  override name = 'DiscoveryError';
  /** Every URL tried before the error, in order (empty when nothing was fetched). */
  readonly attempts: Attempt[];
  /** Status of the last response, when the error is about one. */
  readonly status: number | undefined;
  constructor(
    message: string,
    details: AppcErrorDetails<DiscoveryErrorCode> & { attempts?: Attempt[]; status?: number },
  ) {
    super(message, details);
    this.attempts = details.attempts ?? [];
    this.status = details.status;
  }
}
