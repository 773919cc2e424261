import { Worker } from 'node:worker_threads';
import { FS_PATH_SOURCE } from './names.ts';

/* File-system writes of an extraction, run in order on one worker thread. The main thread parses the tar,
 * hashes it and makes every safety decision (which paths exist, what they are, what may be written where);
 * it sends the resulting operations, in archive order, with the file bytes copied into large transferred
 * batches. The worker performs them one after the other with synchronous calls, exactly as the main thread
 * did before: same calls, same flags (O_EXCL|O_NOFOLLOW), same order. Only the thread changes, so the
 * writing overlaps with decompression, hashing and parsing instead of adding to them. */

/** One file-system operation; `abs` paths lie inside the unpacker's own root. */
export type WriteOp =
  | { t: 'mkdir'; abs: string }
  /** Creates a regular file (O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW) with permission bits `mode`; later `write`
   * and `close` use it. */
  | { t: 'open'; abs: string; mode: number }
  /** Writes bytes `off` to `off + len` of the batch this operation came with to the open file. */
  | { t: 'write'; off: number; len: number }
  /** Sets owner (when `chown`), mode (when `chmod`) and times of the open file, then closes it. */
  | { t: 'close'; chown: boolean; uid: number; gid: number; chmod: boolean; mode: number; mtime: number }
  | { t: 'symlink'; abs: string; target: string; chown: boolean; uid: number; gid: number; mtime: number }
  | { t: 'link'; abs: string; target: string }
  | { t: 'lchown'; abs: string; uid: number; gid: number }
  | { t: 'rm'; abs: string }
  | { t: 'unlink'; abs: string };

// Plain CommonJS run with `eval`, so that it works the same from src/ (tests) and dist/ (users).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// set to 1 by the main thread when it gives up: the operations still queued are dropped
const stop = new Int32Array(workerData.stop);
const fs = require('node:fs');
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
// names that are not UTF-8 become their bytes again (internal/names.ts)
const P = ${FS_PATH_SOURCE};
let fd = -1;
let failed = false;
function run(op, data) {
  switch (op.t) {
    case 'mkdir': fs.mkdirSync(P(op.abs), 0o700); break;
    case 'open': fd = fs.openSync(P(op.abs), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, op.mode); break;
    case 'write': {
      let off = op.off;
      const end = op.off + op.len;
      while (off < end) off += fs.writeSync(fd, data, off, end - off);
      break;
    }
    case 'close': {
      const f = fd;
      fd = -1;
      try {
        if (op.chown) fs.fchownSync(f, op.uid, op.gid);
        if (op.chmod) fs.fchmodSync(f, op.mode);
        fs.futimesSync(f, op.mtime, op.mtime);
      } finally {
        fs.closeSync(f);
      }
      break;
    }
    case 'symlink':
      fs.symlinkSync(P(op.target), P(op.abs));
      if (op.chown) fs.lchownSync(P(op.abs), op.uid, op.gid);
      fs.lutimesSync(P(op.abs), op.mtime, op.mtime);
      break;
    case 'link': fs.linkSync(P(op.target), P(op.abs)); break;
    case 'lchown': fs.lchownSync(P(op.abs), op.uid, op.gid); break;
    case 'rm': fs.rmSync(P(op.abs), { recursive: true, force: true }); break;
    case 'unlink': fs.unlinkSync(P(op.abs)); break;
    default: throw new Error('unknown operation ' + op.t);
  }
}
function closeOpenFile() {
  if (fd >= 0) {
    try { fs.closeSync(fd); } catch {}
    fd = -1;
  }
}
parentPort.on('message', (m) => {
  if (m.abort) {
    failed = true;
    closeOpenFile();
    parentPort.postMessage({ aborted: true });
    return;
  }
  const data = Buffer.from(m.buffer);
  if (!failed) {
    let i = 0;
    try {
      for (; i < m.ops.length && Atomics.load(stop, 0) === 0; i++) run(m.ops[i], data);
    } catch (e) {
      failed = true;
      closeOpenFile();
      const error = { message: String(e && e.message), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall, path: e && e.path && String(e.path) };
      parentPort.postMessage({ buffer: m.buffer, error }, [m.buffer]);
      return;
    }
  }
  parentPort.postMessage({ buffer: m.buffer }, [m.buffer]);
});
`;

interface Reply {
  aborted?: true;
  buffer: ArrayBuffer;
  error?: { message: string; code?: string; errno?: number; syscall?: string; path?: string };
}

/** Batches {@link WriteOp}s and file bytes for the writer thread, with a bounded number of batches in flight
 * (memory stays at most `maxInFlight + 1` batches). The first failure of the worker stops it (later operations
 * are dropped) and is thrown by the next call here. */
export class WriteQueue {
  private readonly worker: Worker;
  private readonly batchBytes: number;
  private readonly maxInFlight: number;
  private readonly spare: Buffer[] = [];
  private batch: Buffer;
  private fill = 0;
  private ops: WriteOp[] = [];
  private inFlight = 0;
  private posted = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private aborted: (() => void) | undefined;
  private closed = false;
  private alive = true;
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));

  /** Defaults: batches of 1 MiB, 3 in flight. Every batch is fresh memory once, and a fresh page costs a fault
   * (on the benchmark machine some 20 us each): 7 batches of 2 MiB had cost about 3,600 faults on the main thread
   * for no gain in overlap, 4 of 1 MiB cost 1,000. */
  constructor(options: { batchBytes?: number; maxInFlight?: number } = {}) {
    this.batchBytes = options.batchBytes ?? 1024 * 1024;
    this.maxInFlight = options.maxInFlight ?? 3;
    this.batch = Buffer.allocUnsafeSlow(this.batchBytes);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { stop: this.stop.buffer } });
    // the worker keeps the process alive only while it has work (see post and onReply)
    this.worker.unref();
    this.worker.on('message', (r: Reply) => this.onReply(r));
    this.worker.on('error', (e) => this.onFailure(e));
    this.worker.on('exit', (code) => {
      this.alive = false;
      if (!this.closed) this.onFailure(new Error(`the writer thread stopped (exit code ${code})`));
    });
  }

  private onReply(r: Reply): void {
    if (r.aborted) {
      this.aborted?.();
      return;
    }
    this.inFlight--;
    // while closing, the reply to the abort is still to come: the worker must keep the process alive until then
    // (unref'd here, the process could end with that reply unread and close() never settled)
    if (this.inFlight === 0 && !this.closed) this.worker.unref();
    if (r.error) {
      const e = r.error;
      this.onFailure(
        Object.assign(new Error(e.message), {
          ...(e.code !== undefined ? { code: e.code } : {}),
          ...(e.errno !== undefined ? { errno: e.errno } : {}),
          ...(e.syscall !== undefined ? { syscall: e.syscall } : {}),
          ...(e.path !== undefined ? { path: e.path } : {}),
        }),
      );
    }
    this.spare.push(Buffer.from(r.buffer));
    this.notify();
  }

  private onFailure(e: Error): void {
    this.failure ??= e;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private waitForReply(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Queues an operation that carries no bytes. */
  op(op: WriteOp): void {
    this.check();
    this.ops.push(op);
  }

  /** Queues bytes to write to the file opened last (after an `open`). */
  async write(chunk: Uint8Array): Promise<void> {
    this.check();
    let off = 0;
    while (off < chunk.length) {
      if (this.fill >= this.limit()) await this.post();
      const take = Math.min(chunk.length - off, this.limit() - this.fill);
      this.batch.set(off === 0 && take === chunk.length ? chunk : chunk.subarray(off, off + take), this.fill);
      const last = this.ops[this.ops.length - 1];
      if (last?.t === 'write' && last.off + last.len === this.fill) last.len += take;
      else this.ops.push({ t: 'write', off: this.fill, len: take });
      this.fill += take;
      off += take;
    }
    if (this.fill >= this.limit()) await this.post();
  }

  /** Bytes after which the current batch is sent: the first batches are small, so that the writer, which
   * paces an extraction, starts as soon as it has booted instead of waiting for a whole batch of small files. */
  private limit(): number {
    return this.posted < 4 ? Math.min(this.batchBytes, 256 * 1024) : this.batchBytes;
  }

  /** Sends the current batch (when it holds anything) once fewer than `maxInFlight` are in flight. */
  async post(): Promise<void> {
    this.check();
    if (this.ops.length === 0) return;
    while (this.inFlight >= this.maxInFlight) {
      await this.waitForReply();
      this.check();
    }
    const buffer = this.batch.buffer as ArrayBuffer;
    this.worker.postMessage({ ops: this.ops, buffer }, [buffer]);
    if (this.inFlight === 0) this.worker.ref();
    this.inFlight++;
    this.posted++;
    this.ops = [];
    this.fill = 0;
    this.batch = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.batchBytes);
  }

  /** Sends what is queued and waits until the worker has done every operation; throws its failure if any. */
  async drain(): Promise<void> {
    await this.post();
    while (this.inFlight > 0) {
      await this.waitForReply();
      this.check();
    }
    this.check();
  }

  /** Stops the worker: what is still queued is dropped and a file it holds open is closed; waits until it has
   * stopped, so that nothing is written after this returns. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.alive) {
      Atomics.store(this.stop, 0, 1);
      const done = new Promise<void>((resolve) => {
        this.aborted = resolve;
        this.worker.once('exit', () => resolve());
      });
      this.worker.ref();
      this.worker.postMessage({ abort: true });
      await done;
    }
    await this.worker.terminate();
  }
}
