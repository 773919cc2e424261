#!/usr/bin/env node
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runAce } from './ace.ts';
import { runAdapter } from './adapter.ts';

const usage = `usage: appc-conformance --impl "COMMAND {file}" [--section NAME]... [--json] [--show-passes]
       appc-conformance --ace "EXECUTOR ... {main} {sidekick}" [--work DIR] [--json] [--show-passes]

--impl runs every conformance vector that can be given as a file (manifests, archives) through COMMAND
and compares its verdict with the spec's: exit status 0 means valid, 1 invalid, anything else a crash.
Example: appc-conformance --impl "actool validate {file}"

--ace builds the in-pod validator's two images and runs them as one pod with EXECUTOR, which must give
both apps one volume for their "database" mount point; inside, the validator checks the environment,
volumes, namespaces, event handlers and metadata service and prints one line per requirement.
Example: appc-conformance --ace "rkt run --insecure-options=image --volume database,kind=empty {main} {sidekick}"`;

// A reader that goes away (`appc-conformance ... --json | head -2`) ends the run: the vectors still to come are not
// run, nothing more is printed, the work directory is removed, and no stack trace is printed for the closed pipe.
// Any other failure to write (a full disk) ends it the same way, with exit status 2.
let outputGone = false;
let outputFailed = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    outputGone = true;
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') outputFailed = true;
  });
}

/** Writes to stdout unless its reader has gone. */
function out(text: string): void {
  if (!outputGone) process.stdout.write(text);
}

/** Writes to stderr unless its reader has gone. */
function err(text: string): void {
  if (!outputGone) process.stderr.write(text);
}

async function main(): Promise<number> {
  let values: {
    impl?: string;
    ace?: string;
    work?: string;
    section?: string[];
    json?: boolean;
    'show-passes'?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      options: {
        impl: { type: 'string' },
        ace: { type: 'string' },
        work: { type: 'string' },
        section: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        'show-passes': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (values.ace !== undefined) return ace(values.ace, values.work, values.json, values['show-passes']);
  if (!values.impl?.includes('{file}')) {
    process.stderr.write(`--impl must be a command containing {file}\n${usage}\n`);
    return 2;
  }
  const workDir = await mkdtemp(join(tmpdir(), 'appc-conformance-'));
  const counts = { pass: 0, fail: 0, crash: 0, skip: 0 };
  try {
    for await (const r of runAdapter({
      impl: values.impl,
      workDir,
      ...(values.section ? { sections: values.section } : {}),
    })) {
      if (outputGone) break;
      counts[r.outcome]++;
      if (values.json) out(`${JSON.stringify(r)}\n`);
      else if (
        r.outcome === 'fail' ||
        r.outcome === 'crash' ||
        (values['show-passes'] && r.outcome === 'pass')
      ) {
        const want = r.expectedValid ? 'valid' : 'invalid';
        out(
          `${r.outcome.toUpperCase()} ${r.id} [${r.requirement}] want ${want}, exit ${r.exitCode ?? r.signal}: ${r.title}\n`,
        );
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  err(
    `${counts.pass} passed, ${counts.fail} failed, ${counts.crash} crashed, ${counts.skip} not applicable\n`,
  );
  return counts.fail + counts.crash > 0 ? 1 : 0;
}

async function ace(
  command: string,
  work: string | undefined,
  json: boolean | undefined,
  showPasses: boolean | undefined,
): Promise<number> {
  if (!command.includes('{main}') || !command.includes('{sidekick}')) {
    process.stderr.write(`--ace must be a command containing {main} and {sidekick}\n${usage}\n`);
    return 2;
  }
  const workDir = work ?? (await mkdtemp(join(tmpdir(), 'appc-ace-')));
  try {
    const report = await runAce({ run: command, workDir });
    for (const c of report.checks) {
      if (json) out(`${JSON.stringify(c)}\n`);
      else if (!c.ok || showPasses)
        out(`${c.skipped ? 'SKIP' : c.ok ? 'PASS' : 'FAIL'} ${c.requirement} (${c.mode}) ${c.what}\n`);
    }
    for (const [mode, verdict] of Object.entries(report.modes))
      if (verdict !== 'ok')
        out(`FAIL ${mode}: ${verdict === 'missing' ? 'printed no verdict (did it run?)' : 'failed'}\n`);
    if (!report.passed && (report.exitCode !== 0 || report.timedOut)) {
      out(
        `the executor ${report.timedOut ? 'was stopped after the time limit' : `exited with ${report.exitCode ?? report.signal}`}; its stderr:\n${report.stderr.slice(-4000)}\n`,
      );
    }
    const failed = report.checks.filter((c) => !c.ok).length;
    err(
      `${report.checks.length - failed} checks passed, ${failed} failed; ${Object.entries(report.modes)
        .map(([m, v]) => `${m} ${v}`)
        .join(', ')}\n`,
    );
    return report.passed ? 0 : 1;
  } finally {
    if (work === undefined) await rm(workDir, { recursive: true, force: true });
  }
}

const status = await main();
process.exitCode = outputFailed ? 2 : status;
