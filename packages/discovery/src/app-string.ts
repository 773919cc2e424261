import { isAcIdentifier } from '@appc/schema';
import { DiscoveryError } from './errors.ts';

/** An image asked for by name: an AC Identifier plus labels such as version, os and arch (DISC-014). */
export interface AppString {
  name: string;
  labels: Record<string, string>;
}

const MAX_APP_STRING = 4096;

function bad(input: string, why: string, what: string): DiscoveryError {
  return new DiscoveryError(
    `Image string ${JSON.stringify(input.length > 200 ? `${input.slice(0, 200)}…` : input)}: ${why}. ${what}`,
    { code: 'ERR_DISC_BAD_APP_STRING', requirement: 'DISC-014' },
  );
}

const FORM = 'Write NAME[:VERSION][,LABEL=VALUE]..., e.g. example.com/app:1.0,os=linux.';

/** Splits `k=v,k2=v2` into pairs, each part holding an `=` (DISC-014; the reference's command-line form).
 * @throws {@link DiscoveryError} `ERR_DISC_BAD_APP_STRING` on an empty string or a part without `=`. */
export function parseLabelPairs(input: string): [string, string][] {
  if (input === '') throw bad(input, 'it is empty', 'Give at least one KEY=VALUE.');
  return input.split(',').map((part) => {
    const eq = part.indexOf('=');
    if (eq < 0)
      throw bad(input, `the part ${JSON.stringify(part)} has no "="`, 'Write every part as KEY=VALUE.');
    return [part.slice(0, eq), part.slice(eq + 1)];
  });
}

// Go's url.QueryEscape: unreserved bytes stay, space becomes '+', every other byte is %XX (upper-case hex).
function queryEscape(value: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(value)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Turns a `k=v,k2=v2` string into the URL query the reference builds from it (`k=v&k2=v2`, each value
 * query-escaped, keys as given), e.g. for logging or for servers that take labels as a query (DISC-014).
 * @throws {@link DiscoveryError} `ERR_DISC_BAD_APP_STRING` as {@link parseLabelPairs}. */
export function toQueryString(input: string): string {
  return parseLabelPairs(input)
    .map(([k, v]) => `${k}=${queryEscape(v)}`)
    .join('&');
}

/** Parses an image string as users type it: `NAME[:VERSION][,LABEL=VALUE]...` (DISC-014). `:V` is short for
 * `,version=V` and may appear once, right after the name; values are taken literally but may hold neither `,`
 * nor `:` (the reference rejects a colon after the first comma).
 * @throws {@link DiscoveryError} `ERR_DISC_BAD_APP_STRING` naming what is wrong.
 * @example parseAppString('example.com/app:1.0,os=linux')
 * // { name: 'example.com/app', labels: { version: '1.0', os: 'linux' } } */
export function parseAppString(input: string): AppString {
  if (typeof input !== 'string') throw bad(String(input), 'it is not a string', FORM);
  if (input.length > MAX_APP_STRING) throw bad(input, `it is longer than ${MAX_APP_STRING} characters`, FORM);
  const firstComma = input.indexOf(',');
  const firstColon = input.indexOf(':');
  if (firstComma >= 0 && firstColon > firstComma) {
    throw bad(
      input,
      'a ":" appears after a label',
      'The ":VERSION" shorthand goes right after the name; write ",version=V" otherwise.',
    );
  }
  if (firstColon >= 0 && input.indexOf(':', firstColon + 1) >= 0) {
    throw bad(input, '":" appears more than once', 'Give the version once, as NAME:VERSION.');
  }
  const head = firstComma >= 0 ? input.slice(0, firstComma) : input;
  const rest = firstComma >= 0 ? input.slice(firstComma + 1) : undefined;
  const name = firstColon >= 0 ? head.slice(0, firstColon) : head;
  const labels: Record<string, string> = Object.create(null);
  if (firstColon >= 0) labels.version = head.slice(firstColon + 1);
  if (!isAcIdentifier(name)) {
    throw bad(
      input,
      `the name ${JSON.stringify(name)} is not an AC Identifier`,
      'Use lower-case letters and digits joined by single "-._~/", e.g. example.com/app.',
    );
  }
  if (rest !== undefined) {
    for (const [key, value] of parseLabelPairs(rest)) {
      if (key === 'name')
        throw bad(input, 'it gives "name" as a label', 'Put the name first, without "name=".');
      if (!isAcIdentifier(key)) {
        throw bad(input, `the label name ${JSON.stringify(key)} is not an AC Identifier`, FORM);
      }
      if (Object.hasOwn(labels, key)) {
        throw bad(
          input,
          `the label ${JSON.stringify(key)} is given twice`,
          'Give each label once (":V" counts as version).',
        );
      }
      labels[key] = value;
    }
  }
  return { name, labels: { ...labels } };
}

/** Writes an image back as a string that {@link parseAppString} reads to the same value: the name, `:version`
 * when there is one, then the other labels sorted by name.
 * @throws {@link DiscoveryError} `ERR_DISC_BAD_APP` when the name or a label name is not an AC Identifier, or a
 * value holds `,` or `:`, which the string form cannot carry. */
export function formatAppString(app: AppString): string {
  checkApp(app);
  const { version, ...others } = app.labels;
  let out = app.name;
  if (version !== undefined) out += `:${version}`;
  for (const key of Object.keys(others).sort()) out += `,${key}=${others[key]}`;
  if (Object.hasOwn(others, 'name')) {
    throw new DiscoveryError(`${app.name} has a label called "name", which an image string cannot carry.`, {
      code: 'ERR_DISC_BAD_APP',
      requirement: 'DISC-014',
      pointer: '/labels/name',
    });
  }
  for (const value of Object.values(app.labels)) {
    if (/[,:]/.test(value)) {
      throw new DiscoveryError(
        `Label value ${JSON.stringify(value)} of ${app.name} holds "," or ":", which an image string cannot carry; pass the labels as an object instead.`,
        { code: 'ERR_DISC_BAD_APP', requirement: 'DISC-014' },
      );
    }
  }
  return out;
}

/** Checks a `{name, labels}` given by a program (DISC-014 rules without the string syntax).
 * @throws {@link DiscoveryError} `ERR_DISC_BAD_APP`. */
export function checkApp(app: AppString): void {
  if (typeof app !== 'object' || app === null || !isAcIdentifier(app.name)) {
    throw new DiscoveryError(
      `Image name ${JSON.stringify((app as { name?: unknown } | null)?.name)} is not an AC Identifier; use lower-case letters and digits joined by single "-._~/", e.g. example.com/app.`,
      { code: 'ERR_DISC_BAD_APP', requirement: 'DISC-014', pointer: '/name' },
    );
  }
  const labels = app.labels ?? {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new DiscoveryError(`Labels of ${app.name} must be an object of strings.`, {
      code: 'ERR_DISC_BAD_APP',
      requirement: 'DISC-014',
      pointer: '/labels',
    });
  }
  for (const [key, value] of Object.entries(labels)) {
    if (!isAcIdentifier(key) || typeof value !== 'string') {
      throw new DiscoveryError(
        `Label ${JSON.stringify(key)} of ${app.name}: the name must be an AC Identifier and the value a string.`,
        {
          code: 'ERR_DISC_BAD_APP',
          requirement: 'DISC-014',
          pointer: `/labels/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`,
        },
      );
    }
  }
}
