// openpgp takes tens of milliseconds to load: it is loaded when a key or a signature is first read, so that a
// command that only lists the trust store (or a fetch that finds its image unchanged) never pays for it.
let loading: Promise<typeof import('openpgp')> | undefined;

/** The openpgp module, loaded on first use. */
export function openpgp(): Promise<typeof import('openpgp')> {
  loading ??= import('openpgp');
  return loading;
}
