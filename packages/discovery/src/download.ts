import { Readable } from 'node:stream';
import { DiscoveryError } from './errors.ts';
import { classify, discard, openSession, send } from './fetch-document.ts';
import { nodeRequest } from './node-request.ts';
import type { FetchOptions } from './options.ts';

/** Options of {@link openDownload}: the transport rules of discovery plus what a large download needs. */
export interface DownloadOptions extends Omit<FetchOptions, 'maxBodyBytes'> {
  /** Refuse a body larger than this many bytes, whether the server declares it or sends it (DISC-013). */
  maxBytes?: number;
  /** Send `If-None-Match` with this ETag; a `304 Not Modified` answer then returns `notModified: true`. */
  ifNoneMatch?: string | undefined;
  /** Give up when no byte arrives for this long; default 30 000 ms. `requestTimeoutMs` bounds the wait for the
   * answer's headers; `timeoutMs` (default: none for downloads) the whole transfer. */
  idleTimeoutMs?: number;
}

/** Caching facts of an answer, as a conditional re-fetch needs them (DISC-013). */
export interface CacheInfo {
  etag: string | undefined;
  /** `Cache-Control: max-age` in seconds; 0 for `no-cache` and `no-store`; undefined when absent. */
  maxAgeSeconds: number | undefined;
}

/** An open download: headers are in, the body is read by iterating `body` once. */
export interface Download extends CacheInfo {
  url: string;
  /** The URL after redirects. */
  finalUrl: string;
  /** True for a `304 Not Modified` answer to `ifNoneMatch`: the body is empty and the stored copy is current. */
  notModified: boolean;
  /** `Content-Length`, when the server declared one. */
  declaredBytes: number | undefined;
  /** The body, chunk by chunk, bounded by `maxBytes`, the declared length and the idle timeout. */
  body: AsyncIterable<Uint8Array>;
  /** Drops the connection (call it when the body is not read to the end). */
  close(): void;
}

/** Reads `Cache-Control` and `ETag` (RFC 9111 `max-age`, `no-cache`, `no-store`; other directives ignored). */
export function parseCacheHeaders(headers: { get(name: string): string | null }): CacheInfo {
  const etag = headers.get('etag') ?? undefined;
  let maxAgeSeconds: number | undefined;
  for (const part of (headers.get('cache-control') ?? '').split(',')) {
    const [rawName = '', rawValue] = part.split('=', 2);
    const name = rawName.trim().toLowerCase();
    if (name === 'no-cache' || name === 'no-store') {
      maxAgeSeconds = 0;
      break;
    }
    if (name === 'max-age' && rawValue !== undefined) {
      const n = Number(rawValue.trim().replace(/^"|"$/g, ''));
      if (Number.isInteger(n) && n >= 0) maxAgeSeconds = n;
    }
  }
  return { etag, maxAgeSeconds };
}

const ACCEPT = new Set([200, 304]);
/** Without `If-None-Match` a 304 has nothing to refer to: its empty body is not the file. */
const ACCEPT_UNCONDITIONAL = new Set([200]);
const DAY_MS = 24 * 60 * 60 * 1000;

/** Starts a GET of a large body (an image, a signature) under the rules of discovery: https only unless
 * `insecure.http`, TLS verified unless `insecure.tls`, redirects followed but never from https to http,
 * credentials only to their host over https. The body streams; nothing is buffered whole.
 * @throws {@link DiscoveryError} as {@link fetchDocument}, and `ERR_DISC_TOO_LARGE` (declared length above
 * `maxBytes`, here or while reading), `ERR_DISC_TRUNCATED` (fewer bytes than declared, while reading).
 * @example
 * const dl = await openDownload('https://example.com/app.aci', { maxBytes: 1 << 30 });
 * for await (const chunk of dl.body) process(chunk);
 */
export async function openDownload(url: string, options: DownloadOptions = {}): Promise<Download> {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  if (!(maxBytes >= 0)) {
    throw new DiscoveryError(`Option maxBytes must be a non-negative number, not ${maxBytes}.`, {
      code: 'ERR_DISC_BAD_OPTIONS',
    });
  }
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const session = openSession({
    ...options,
    fetch: options.fetch ?? nodeRequest,
    timeoutMs: options.timeoutMs ?? 20 * DAY_MS,
  });
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number, why: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(new Error(why)), ms);
  };
  arm(options.requestTimeoutMs ?? 20_000, 'no answer');
  const request = AbortSignal.any([session.signal, idle.signal]);
  const close = () => {
    clearTimeout(timer);
    session.close();
  };
  let sent: Awaited<ReturnType<typeof send>>;
  try {
    const headers: Record<string, string> = {};
    if (options.ifNoneMatch !== undefined) headers['If-None-Match'] = options.ifNoneMatch;
    sent = await send(
      url,
      session,
      request,
      options.ifNoneMatch !== undefined ? ACCEPT : ACCEPT_UNCONDITIONAL,
      headers,
    );
  } catch (e) {
    close();
    throw e;
  }
  const { res, finalUrl } = sent;
  const cache = parseCacheHeaders(res.headers);
  const lengthHeader = res.headers.get('content-length');
  const declared =
    lengthHeader !== null && /^\d+$/.test(lengthHeader.trim()) ? Number(lengthHeader) : undefined;
  const notModified = res.status === 304;
  if (notModified) {
    discard(res);
    close();
    return { url, finalUrl, notModified, declaredBytes: undefined, ...cache, body: emptyBody(), close };
  }
  if (declared !== undefined && declared > maxBytes) {
    discard(res);
    close();
    throw new DiscoveryError(
      `${finalUrl}: the server declares ${declared} bytes, more than the ${maxBytes} allowed; refusing to download it.`,
      { code: 'ERR_DISC_TOO_LARGE', requirement: 'DISC-013', status: res.status },
    );
  }
  const source = res.body;
  let received = 0;
  let last = Date.now();
  // the idle clock: any byte received, or a pause the reader asked for, counts as activity
  let waitingOnReader = false;
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => {
        if (waitingOnReader || Date.now() - last < idleMs) watch();
        else idle.abort(new Error('stalled'));
      },
      Math.max(1, idleMs - (Date.now() - last)),
    );
  };
  watch();
  /** Counts `n` more bytes; the error that ends the download when they are too many. */
  const count = (n: number): DiscoveryError | undefined => {
    received += n;
    last = Date.now();
    if (received > maxBytes || (declared !== undefined && received > declared))
      return new DiscoveryError(
        `${finalUrl}: more than ${Math.min(maxBytes, declared ?? maxBytes)} bytes received (${declared === undefined ? 'the allowed size' : 'the declared length'}); refusing the rest.`,
        { code: 'ERR_DISC_TOO_LARGE', requirement: 'DISC-013', status: res.status },
      );
    return undefined;
  };
  const pauses = {
    pause: () => {
      waitingOnReader = true;
    },
    resume: () => {
      waitingOnReader = false;
      last = Date.now();
    },
  };
  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      if (source instanceof Readable) yield* blocks(source, count, pauses);
      else if (source) {
        for await (const chunk of source) {
          const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
          const tooMany = count(bytes.byteLength);
          if (tooMany) throw tooMany;
          yield bytes;
        }
      }
      if (declared !== undefined && received < declared) {
        throw new DiscoveryError(
          `${finalUrl}: the download ended after ${received} of the ${declared} bytes declared; try again.`,
          { code: 'ERR_DISC_TRUNCATED', status: res.status },
        );
      }
    } catch (e) {
      discard(res);
      if (e instanceof DiscoveryError) throw e;
      if (
        declared !== undefined &&
        received < declared &&
        !idle.signal.aborted &&
        !session.signal.aborted &&
        !options.signal?.aborted
      ) {
        // the server closed or reset the connection before the length it declared: a truncated download
        const why = (e as { code?: string }).code;
        throw new DiscoveryError(
          `${finalUrl}: the download ended after ${received} of the ${declared} bytes declared (the connection ${why === 'ECONNRESET' ? 'was reset' : 'failed'}); try again.`,
          { code: 'ERR_DISC_TRUNCATED', requirement: 'DISC-002', status: res.status, cause: e },
        );
      }
      if (idle.signal.aborted && !session.signal.aborted) {
        throw new DiscoveryError(`${finalUrl}: no data for ${idleMs} ms; the transfer stalled.`, {
          code: 'ERR_DISC_TIMEOUT',
          cause: e,
        });
      }
      throw classify(e, finalUrl, session, request);
    } finally {
      close();
    }
  }
  return {
    url,
    finalUrl,
    notModified,
    declaredBytes: declared,
    ...cache,
    body: body(),
    close() {
      discard(res);
      close();
    },
  };
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

/** Bytes handed out per block: TLS delivers records of 16 KiB, and every later step (the signature's hash, the
 * file writes, inflating, the tar reader) then runs once per block instead of once per record. */
const BLOCK_BYTES = 512 * 1024;
/** Bytes read ahead of the reader before the socket is paused. */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** Reads a Node stream in blocks of about {@link BLOCK_BYTES}: chunks are gathered by 'data' events (no promise
 * per record) and joined; the stream pauses while {@link READ_AHEAD_BYTES} wait for the reader. `count` sees
 * every chunk and may end the download with an error. */
async function* blocks(
  stream: Readable,
  count: (n: number) => Error | undefined,
  pauses: { pause(): void; resume(): void },
): AsyncGenerator<Uint8Array> {
  let queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failed: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer | string) => {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const error = count(b.length);
    if (error) {
      failed ??= error;
      stream.pause();
      notify();
      return;
    }
    queue.push(b);
    queued += b.length;
    if (queued >= READ_AHEAD_BYTES) {
      stream.pause();
      pauses.pause();
    }
    if (queued >= BLOCK_BYTES) notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (e: unknown) => {
    failed ??= e;
    notify();
  };
  // a connection dropped before the end: not an error event on every Node version, but the body is short
  const onClose = () => {
    if (!ended)
      failed ??= Object.assign(new Error('the connection closed before the end'), { code: 'ECONNRESET' });
    notify();
  };
  stream.on('data', onData);
  stream.once('end', onEnd);
  stream.once('error', onError);
  stream.once('close', onClose);
  try {
    for (;;) {
      if (failed !== undefined) throw failed;
      if (queued >= BLOCK_BYTES || (ended && queued > 0)) {
        const out = queue.length === 1 ? (queue[0] as Buffer) : Buffer.concat(queue, queued);
        queue = [];
        queued = 0;
        if (stream.isPaused() && !ended) {
          pauses.resume();
          stream.resume();
        }
        yield out;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
  }
}
