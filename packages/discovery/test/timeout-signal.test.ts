// The per-request and overall timeouts of discovery and downloads are signals combined with AbortSignal.any. A
// timeout signal that only such a composite refers to could be collected before it fired (Node 20), and the request
// then waited on: this checks that ours fire through collections.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { timeoutSignal } from '../src/fetch-document.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('timeoutSignal (DISC-002)', () => {
  it('DISC-002 a composite of a caller signal and a request timeout aborts on time through garbage collections', async () => {
    for (let i = 0; i < 5; i++) {
      const caller = new AbortController();
      const composite = AbortSignal.any([caller.signal, timeoutSignal(50)]);
      const fired = new Promise<unknown>((resolve) =>
        composite.addEventListener('abort', () => resolve(composite.reason)),
      );
      const collecting = setInterval(gc, 2);
      const out = await Promise.race([fired, new Promise((r) => setTimeout(() => r('never fired'), 1000))]);
      clearInterval(collecting);
      expect(out).toMatchObject({ name: 'TimeoutError' });
    }
  });
});
