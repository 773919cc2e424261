#!/usr/bin/env node
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runAdapter } from './adapter.ts';

const usage = `usage: appc-conformance --impl "COMMAND {file}" [--section NAME]... [--json] [--show-passes]

Runs every conformance vector that can be given as a file (manifests, archives) through COMMAND and
compares its verdict with the spec's: exit status 0 means valid, 1 invalid, anything else a crash.
Example: appc-conformance --impl "actool validate {file}"`;

async function main(): Promise<number> {
  let values: { impl?: string; section?: string[]; json?: boolean; 'show-passes'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        impl: { type: 'string' },
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
      counts[r.outcome]++;
      if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else if (
        r.outcome === 'fail' ||
        r.outcome === 'crash' ||
        (values['show-passes'] && r.outcome === 'pass')
      ) {
        const want = r.expectedValid ? 'valid' : 'invalid';
        process.stdout.write(
          `${r.outcome.toUpperCase()} ${r.id} [${r.requirement}] want ${want}, exit ${r.exitCode ?? r.signal}: ${r.title}\n`,
        );
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  process.stderr.write(
    `${counts.pass} passed, ${counts.fail} failed, ${counts.crash} crashed, ${counts.skip} not applicable\n`,
  );
  return counts.fail + counts.crash > 0 ? 1 : 0;
}

process.exitCode = await main();
