import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./child/worker.mjs', import.meta.url));

/** A child Node process that opens the store in `storeDir` and runs commands sent to it (test/child/worker.mjs). */
export class Worker {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';

  private constructor(storeDir: string) {
    this.child = spawn(process.execPath, [script, storeDir], { stdio: 'pipe' });
    createInterface({ input: this.child.stdout }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.child.on('exit', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Starts a worker and waits until its store is open. */
  static async start(storeDir: string): Promise<Worker> {
    const w = new Worker(storeDir);
    const first = await w.next();
    if (!first.ready) throw new Error(`worker did not start: ${w.stderr}`);
    return w;
  }

  /** The next JSON line the worker printed. */
  async next(timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`worker exited (${this.child.exitCode ?? this.child.signalCode}): ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`worker gave no answer in ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return JSON.parse(this.lines.shift() as string) as Record<string, unknown>;
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  async call(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.send(cmd);
    return this.next();
  }

  /** Ends the worker (stdin closed) and waits for its exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await exited;
  }

  /** SIGKILL, and wait until it is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}
