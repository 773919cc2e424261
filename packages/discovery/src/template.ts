/** The two values of `{ext}` (DISC-006): the image and its detached signature. */
export type Ext = 'aci' | 'aci.asc';

function replaceAll(text: string, token: string, value: string): string {
  // split/join: no `$&` surprises from String.prototype.replace
  return text.split(token).join(value);
}

/** Fills an `ac-discovery` URL template (DISC-006): `{name}` first, then `{L}` for every label L given (so a
 * label called `name` cannot change `{name}`), then `{ext}`; plain text substitution, values inserted verbatim.
 * Returns undefined when any `{…}` is left (a label the template needs was not given): such a template is
 * skipped, not an error. Does not default `version`; discovery does that before calling it. */
export function renderTemplate(
  template: string,
  name: string,
  labels: Readonly<Record<string, string>>,
  ext: Ext | string,
): string | undefined {
  let out = replaceAll(template, '{name}', name);
  for (const [key, value] of Object.entries(labels)) out = replaceAll(out, `{${key}}`, value);
  out = replaceAll(out, '{ext}', ext);
  return /\{.*?\}/.test(out) ? undefined : out;
}
