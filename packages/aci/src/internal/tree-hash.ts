import { closeSync, openSync, readSync } from 'node:fs';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { FS_PATH_SOURCE, fsPath } from './names.ts';
import { encodeHeader, encodeUstarInto, type TarWriteHeader } from './tar-writer.ts';

/* The SHA-512 of a tar stream made of headers and files on disk, on two threads: this one walks the tree and
 * lays out each block of the stream (headers written in, padding zeroed, files read in with synchronous calls,
 * or the place of a file's bytes noted for the worker); a worker thread reads the noted files into their places,
 * also with synchronous calls, then hashes the block. The blocks are shared memory, reused in turn; the threads
 * tell each other which block is ready and which is done through counters in shared memory (Atomics), with no
 * message per block: a message (and the transfer of a block's memory) had cost each side some 10 us per block,
 * and their garbage, a collection now and then. A file is read on this thread when it is small, or while the
 * worker has blocks enough queued (above all while it boots, some 50-100 ms): then reading it here costs this
 * thread what it would have spent waiting; otherwise the worker reads it, and the two threads stay busy. */

/** One entry of a tar stream: its header block(s), then (for a regular file) the file's bytes or the bytes
 * given, then zero padding to the next 512-byte block. */
export interface TarPiece {
  /** The header block(s) as bytes, or as fields to encode ({@link encodeHeader}); one of the two. */
  head?: Buffer;
  header?: TarWriteHeader;
  /** A file to copy `size` bytes from; `name` is used in messages. */
  file?: { path: string; name: string; size: number };
  /** Bytes that follow the header (the manifest, the end blocks). */
  data?: Buffer;
  pad: number;
}

// Indexes into the shared control words.
const STOP = 0; // 1 once a computation is given up: the items still queued are skipped (counted, not read)
const DONE = 1; // items the worker has finished
const SENT = 2; // items the main thread has handed over
const FAILED = 3; // 1 once the worker failed; its error waits on the port
// Item lengths below zero are commands.
const DIGEST = -1; // write the digest into the digest bytes and start a new hash
const EXIT = -2;

// Plain CommonJS run with `eval`, so that it works the same from src/ (tests) and dist/ (users).
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { port } = workerData;
// names that are not UTF-8 become their bytes again (internal/names.ts)
const P = ${FS_PATH_SOURCE};
const control = new Int32Array(workerData.control);
const lengths = new Int32Array(workerData.lengths);
const planned = new Int32Array(workerData.planned);
const blocks = workerData.blocks.map((b) => Buffer.from(b));
const digestOut = Buffer.from(workerData.digest);
const slots = blocks.length;
let hash = createHash('sha512');
let failed = false;
for (let item = Atomics.load(control, ${DONE}); ; item++) {
  while (Atomics.load(control, ${SENT}) <= item) Atomics.wait(control, ${SENT}, item);
  const slot = item % slots;
  const length = lengths[slot];
  if (length === ${EXIT}) break;
  if (length === ${DIGEST}) {
    if (!failed) hash.digest().copy(digestOut);
    hash = createHash('sha512');
  } else {
    let reads = [];
    let lost;
    if (planned[slot]) {
      // sent before the item was counted, so it is there; wait a little all the same, never forever
      let m = receiveMessageOnPort(port);
      for (let i = 0; !m && i < 1000; i++) {
        Atomics.wait(control, ${FAILED}, 0, 1);
        m = receiveMessageOnPort(port);
      }
      if (m) reads = m.message;
      else lost = new Error('the read plan of a block did not arrive');
    }
    const buf = blocks[slot];
    let r;
    if (!failed && Atomics.load(control, ${STOP}) === 0) {
      try {
        if (lost) throw lost;
        for (r of reads) {
          if (Atomics.load(control, ${STOP}) !== 0) break;
          const fd = fs.openSync(P(r.path), 'r');
          try {
            let got = 0;
            while (got < r.len) {
              const n = fs.readSync(fd, buf, r.at + got, r.len - got, r.pos + got);
              if (n === 0) throw Object.assign(new Error('shrank'), { shrank: true });
              got += n;
            }
          } finally {
            fs.closeSync(fd);
          }
        }
        if (Atomics.load(control, ${STOP}) === 0) hash.update(buf.subarray(0, length));
      } catch (e) {
        failed = true;
        port.postMessage({ error: { message: String(e && e.message), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall, path: e && e.path, shrank: !!(e && e.shrank) }, name: r && r.name, path: r && r.path });
        Atomics.store(control, ${FAILED}, 1);
      }
    }
  }
  // every item is counted, so that the main thread knows when nothing is being read any more
  Atomics.store(control, ${DONE}, item + 1);
  Atomics.notify(control, ${DONE});
}
`;

/** `Atomics.waitAsync` (Node 16 and later; in TypeScript's lib from es2024). */
interface AtomicsWaitAsync {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
    timeoutMs: number,
  ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}

interface ReadPlan {
  path: string;
  name: string;
  /** Where in the block. */
  at: number;
  len: number;
  /** Where in the file. */
  pos: number;
}

interface WorkerFailure {
  error: {
    message: string;
    code?: string;
    errno?: number;
    syscall?: string;
    path?: string;
    shrank: boolean;
  };
  name?: string;
  path?: string;
}

/** A hashing thread with its shared blocks, started ahead of the work it will do: a worker thread takes 50-100
 * ms to boot, which the caller spends validating the layout and walking the tree instead of waiting. Used by
 * one {@link hashTarPieces} call at a time; {@link HashThread.close} ends it. */
export class HashThread {
  readonly worker: Worker;
  readonly control = new Int32Array(new SharedArrayBuffer(4 * 4));
  readonly lengths: Int32Array;
  readonly planned: Int32Array;
  readonly blocks: Buffer[];
  readonly digest = Buffer.from(new SharedArrayBuffer(64));
  /** This side of the channel: read plans go out, the worker's failure comes back. */
  readonly port: MessagePort;
  alive = true;
  exitCode: number | undefined;
  private closed = false;

  /** `blockBytes` (default 1 MiB) and `slots` (default 4): few and small, since each block is fresh memory
   * once, and a fresh page costs a fault (on the benchmark machine 8 blocks of 2 MiB cost about 4,000 faults,
   * some 0.1 s of CPU, for no gain in overlap). */
  constructor(options: { blockBytes?: number; slots?: number } = {}) {
    const blockBytes = options.blockBytes ?? 1024 * 1024;
    const slots = options.slots ?? 4;
    this.lengths = new Int32Array(new SharedArrayBuffer(4 * slots));
    this.planned = new Int32Array(new SharedArrayBuffer(4 * slots));
    const shared = Array.from({ length: slots }, () => new SharedArrayBuffer(blockBytes));
    this.blocks = shared.map((b) => Buffer.from(b));
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        control: this.control.buffer,
        lengths: this.lengths.buffer,
        planned: this.planned.buffer,
        blocks: shared,
        digest: this.digest.buffer,
        port: port2,
      },
      transferList: [port2],
    });
    this.worker.on('exit', (code) => {
      this.alive = false;
      this.exitCode = code;
    });
    // a failure to start is seen by the computation that waits for the thread
    this.worker.on('error', () => {});
  }

  /** Hands item number `item` (a block of `length` bytes, or a command) over to the worker. */
  send(item: number, length: number, reads: ReadPlan[] | undefined): void {
    const slot = item % this.blocks.length;
    this.lengths[slot] = length;
    this.planned[slot] = reads && reads.length > 0 ? 1 : 0;
    if (reads && reads.length > 0) this.port.postMessage(reads);
    Atomics.store(this.control, SENT, item + 1);
    Atomics.notify(this.control, SENT);
  }

  /** Stops the thread; once this returns it reads nothing more. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.alive) {
      Atomics.store(this.control, STOP, 1);
      this.send(Atomics.load(this.control, SENT), EXIT, undefined);
    }
    await this.worker.terminate();
    this.port.close();
  }
}

/** Options of {@link hashTarPieces}. */
export interface HashTarPiecesOptions {
  /** Called with the number of bytes laid out so far. */
  onSize?: (bytes: number) => void;
  /** The error for a file that ended before its size (it shrank since it was examined). */
  shrank: (name: string, path: string) => Error;
  signal?: AbortSignal;
  /** Files smaller than this are always read by this thread (default 64 KiB). */
  mainReadBytes?: number;
  /** Files up to a block are read by this thread while the worker has this many blocks or more still to do
   * (default 2); larger ones, and smaller ones while the worker has less to do, by the worker. */
  busyBlocks?: number;
  /** Pieces taken from `pieces` ahead of the blocks, while every block is with the worker (default 4096): the
   * walk (readdir, lstat) goes on meanwhile, above all while the worker boots. */
  maxAhead?: number;
  /** The thread to hash on (started early by the caller); one of its own otherwise, stopped at the end. */
  thread?: HashThread;
}

/** The hex SHA-512 of the tar stream the pieces make. The thread given in the options stays usable for another
 * computation when this one succeeds. */
export async function hashTarPieces(
  pieces: Iterable<TarPiece>,
  options: HashTarPiecesOptions,
): Promise<string> {
  const mainReadBytes = options.mainReadBytes ?? 64 * 1024;
  const busyBlocks = options.busyBlocks ?? 2;
  const maxAhead = options.maxAhead ?? 4096;
  const thread = options.thread ?? new HashThread();
  const { control, blocks } = thread;
  const slots = blocks.length;
  const blockBytes = (blocks[0] as Buffer).length;
  const first = Atomics.load(control, SENT);
  let item = first;
  let ok = false;
  let total = 0;

  const failure = (): Error | undefined => {
    if (Atomics.load(control, FAILED) !== 0) {
      const m = receiveMessageOnPort(thread.port)?.message as WorkerFailure | undefined;
      const e = m?.error;
      if (!e) return new Error('the hashing thread failed');
      return e.shrank
        ? options.shrank(m.name ?? '', m.path ?? '')
        : Object.assign(new Error(e.message), {
            ...(e.code !== undefined ? { code: e.code } : {}),
            ...(e.errno !== undefined ? { errno: e.errno } : {}),
            ...(e.syscall !== undefined ? { syscall: e.syscall } : {}),
            ...(e.path !== undefined ? { path: e.path } : {}),
          });
    }
    if (!thread.alive) return new Error(`the hashing thread stopped (exit code ${thread.exitCode})`);
    return undefined;
  };
  /** Waits until the worker has finished more than `done` items (or a while has passed). */
  const waitPast = async (done: number) => {
    const w = (Atomics as unknown as AtomicsWaitAsync).waitAsync(control, DONE, done, 20);
    if (w.async) await w.value;
    // the worker's exit is seen once the event loop ran
    else await new Promise<void>((resolve) => setImmediate(resolve));
  };

  // pieces taken from the walk ahead of their place in a block
  const it = pieces[Symbol.iterator]();
  const ahead: TarPiece[] = [];
  let aheadAt = 0;
  let walked = false;
  const pull = (): TarPiece | undefined => {
    if (aheadAt < ahead.length) {
      const p = ahead[aheadAt++] as TarPiece;
      if (aheadAt === ahead.length) {
        ahead.length = 0;
        aheadAt = 0;
      }
      return p;
    }
    if (walked) return undefined;
    const r = it.next();
    if (r.done) {
      walked = true;
      return undefined;
    }
    return r.value;
  };

  /** Waits until the block of `item` is free again: walks ahead meanwhile. */
  const free = async () => {
    for (;;) {
      const done = Atomics.load(control, DONE);
      if (item - done < slots) return;
      const e = failure();
      if (e) throw e;
      if (!walked && ahead.length - aheadAt < maxAhead) {
        for (let i = 0; i < 16 && ahead.length - aheadAt < maxAhead; i++) {
          const r = it.next();
          if (r.done) {
            walked = true;
            break;
          }
          ahead.push(r.value);
        }
        continue;
      }
      await waitPast(done);
      options.signal?.throwIfAborted();
    }
  };

  try {
    let block = blocks[item % slots] as Buffer;
    let fill = 0;
    let reads: ReadPlan[] = [];
    const send = async () => {
      const e = failure();
      if (e) throw e;
      thread.send(item, fill, reads);
      item++;
      total += fill;
      options.onSize?.(total);
      reads = [];
      fill = 0;
      await free();
      block = blocks[item % slots] as Buffer;
    };
    await free();
    for (let piece = pull(); piece !== undefined; piece = pull()) {
      if (options.signal?.aborted) options.signal.throwIfAborted();
      // fill is a multiple of 512 below the block's length: a header block fits
      if (piece.header && encodeUstarInto(piece.header, block, fill)) {
        fill += 512;
        if (fill === blockBytes) await send();
      } else {
        const head = piece.head ?? encodeHeader(piece.header as TarWriteHeader);
        for (let off = 0; off < head.length; ) {
          const n = head.copy(block, fill, off);
          fill += n;
          off += n;
          if (fill === blockBytes) await send();
        }
      }
      const file = piece.file;
      if (file && file.size > 0) {
        if (
          file.size < mainReadBytes ||
          (file.size < blockBytes && item - Atomics.load(control, DONE) >= busyBlocks)
        ) {
          const fd = openSync(fsPath(file.path), 'r');
          try {
            let left = file.size;
            while (left > 0) {
              const n = readSync(fd, block, fill, Math.min(left, blockBytes - fill), null);
              if (n === 0) throw options.shrank(file.name, file.path);
              left -= n;
              fill += n;
              if (fill === blockBytes) await send();
            }
          } finally {
            closeSync(fd);
          }
        } else {
          for (let pos = 0; pos < file.size; ) {
            const len = Math.min(file.size - pos, blockBytes - fill);
            reads.push({ path: file.path, name: file.name, at: fill, len, pos });
            fill += len;
            pos += len;
            if (fill === blockBytes) await send();
          }
        }
      }
      if (piece.data) {
        for (let off = 0; off < piece.data.length; ) {
          const n = piece.data.copy(block, fill, off);
          fill += n;
          off += n;
          if (fill === blockBytes) await send();
        }
      }
      for (let pad = piece.pad; pad > 0; ) {
        const n = Math.min(pad, blockBytes - fill);
        block.fill(0, fill, fill + n);
        fill += n;
        pad -= n;
        if (fill === blockBytes) await send();
      }
    }
    if (fill > 0) await send();
    thread.send(item, DIGEST, undefined);
    item++;
    for (let done = Atomics.load(control, DONE); done < item; done = Atomics.load(control, DONE)) {
      const e = failure();
      if (e) throw e;
      await waitPast(done);
    }
    const e = failure();
    if (e) throw e;
    ok = true;
    return thread.digest.toString('hex');
  } finally {
    if (!ok && thread.alive) {
      // given up (abort, error): the worker skips what is queued; wait until it has handed everything back, so
      // that no file of the tree is left open by a thread stopped in the middle of reading it
      Atomics.store(control, STOP, 1);
      for (
        let done = Atomics.load(control, DONE);
        done < item && thread.alive;
        done = Atomics.load(control, DONE)
      )
        await waitPast(done);
    }
    if (!options.thread || !ok) await thread.close();
  }
}
