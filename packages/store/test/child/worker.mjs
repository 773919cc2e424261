// A second (third…) process using the same store, driven by the tests: one JSON command per stdin line, one
// JSON answer per stdout line. Usage: node worker.mjs STORE_DIR
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadStore } from './load.mjs';

const [storeDir] = process.argv.slice(2);
const m = await loadStore();
const store = await m.openStore(storeDir);
const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

/** The file's bytes in small chunks with a pause between them, as a slow download. */
async function* slowly(bytes, chunk, pauseMs) {
  for (let i = 0; i < bytes.length; i += chunk) {
    yield bytes.subarray(i, i + chunk);
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

async function put(file, pauseMs) {
  const bytes = await readFile(file);
  const r = await store.put(slowly(bytes, 4096, pauseMs), { file });
  return { id: r.image.id, stored: r.stored };
}

async function run(cmd) {
  switch (cmd.op) {
    case 'put':
      return put(cmd.file, cmd.pauseMs ?? 0);
    case 'render': {
      const tree = await new m.TreeStore(store).render(cmd.id);
      return { rootfs: tree.rootfs, cached: tree.cached };
    }
    case 'loop': {
      // puts, removes and collects forever, until the test kills this process
      for (let n = 0; ; n++) {
        const file = cmd.files[n % cmd.files.length];
        const { id } = await put(file, cmd.pauseMs ?? 1);
        say({ progress: n, id });
        if (n % 3 === 2) await store.rm(id);
        if (n % 5 === 4) await store.gc({ gracePeriodMs: 60_000 });
      }
    }
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

say({ ready: true, pid: process.pid });
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const cmd = JSON.parse(line);
  try {
    say({ ok: true, ...(await run(cmd)) });
  } catch (e) {
    say({ ok: false, code: e?.code, message: String(e?.message ?? e) });
  }
}
store.close();
