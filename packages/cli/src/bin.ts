#!/usr/bin/env node
// The only module that touches `process`: everything else gets streams, the environment and a signal.
import { main } from './main.ts';

let settled = false;

// The first Ctrl-C (or SIGTERM, or SIGHUP when the terminal goes away) aborts the running operation, which removes
// what it half wrote and stops a pod it runs; a second one ends the process at once.
const interrupt = new AbortController();
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupt.signal.aborted) {
    settled = true;
    process.exit(130);
  }
  interrupt.abort(new Error(`interrupted by ${signal}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('SIGHUP', onSignal);

// A reader that goes away (`appc image list | head -1`) is no error of the command's: what is left to print goes
// nowhere and the command finishes as it would have (a pod still stops and is cleaned up), instead of a stack trace.
// Any other failure to write the output is an I/O error: exit status 2.
let outputFailed = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
    if (!outputFailed && stream === process.stdout)
      process.stderr.write(`appc: the output could not be written (${e.code ?? e.message}).\n`);
    outputFailed = true;
    // (a write's error can arrive after the command's result)
    if (settled && process.exitCode === 0) process.exitCode = 2;
  });
}

// A command that never settles (a bug: some promise nobody will resolve) must not end as a success when the event
// loop runs dry: until main's result is known, the exit status says so.
process.exitCode = 2;
process.on('exit', () => {
  if (!settled)
    process.stderr.write(
      'appc: internal error: the command stopped before it finished; nothing it reported can be trusted. Please report this.\n',
    );
});

// No top-level await: the bundle (dist/appc.cjs) is CommonJS, which starts sooner than an ES module entry.
void main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  // read only when a command asks a question: opening stdin early would keep some pipes open
  get stdin() {
    return process.stdin;
  },
  env: process.env,
  cwd: process.cwd(),
  signal: interrupt.signal,
}).then((code) => {
  settled = true;
  process.exitCode = outputFailed && code === 0 ? 2 : code;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
});
