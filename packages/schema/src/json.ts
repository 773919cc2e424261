import { type Issue, SchemaError } from './errors.ts';

/** Options of {@link parseJson}. */
export interface ParseJsonOptions {
  /** File name for messages and issues. */
  file?: string;
  /** Deepest nesting of arrays and objects accepted (default 512). */
  maxDepth?: number;
  /** Largest input accepted, in bytes of UTF-8 (default 16 MiB). */
  maxBytes?: number;
}

// Deep enough for any manifest with nested unknown members or isolator values (valid JSON the spec lets through,
// IMG-019), shallow enough that every later step may recurse: JSON.stringify overflows the stack near 2,000
// levels; canonical output stops at 512 too. The reference (Go) stops at 10,000.
const DEFAULT_MAX_DEPTH = 512;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

function fail(message: string, options: ParseJsonOptions, pointer = ''): never {
  const where = options.file === undefined ? '' : `${options.file}: `;
  const issue: Issue = { code: 'ERR_SCHEMA_JSON', pointer, requirement: 'IMG-019', message };
  if (options.file !== undefined) issue.file = options.file;
  throw new SchemaError(`${where}${message}`, {
    code: 'ERR_SCHEMA_JSON',
    requirement: 'IMG-019',
    pointer,
    file: options.file,
    issues: [issue],
  });
}

function position(text: string, offset: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return `line ${line}, column ${col}`;
}

/** Reads JSON text (IMG-019: UTF-8 JSON). The text is checked in one pass without recursion before
 * `JSON.parse` sees it, so no input can exhaust the stack: invalid UTF-8, a byte-order mark, invalid syntax,
 * nesting deeper than `maxDepth`, more than `maxBytes`, and a member name repeated in one object (the spec
 * leaves that open and the reference keeps the last one silently; we refuse it as ambiguous) are all errors.
 * @throws {@link SchemaError} `ERR_SCHEMA_JSON` with one issue saying where and what.
 * @example parseImageManifest(parseJson(await readFile('manifest'), { file: 'manifest' })) */
export function parseJson(input: string | Uint8Array, options: ParseJsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let text: string;
  if (typeof input === 'string') {
    if (input.length > maxBytes || Buffer.byteLength(input, 'utf8') > maxBytes)
      fail(`the JSON text is larger than ${maxBytes} bytes.`, options);
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) fail(`the JSON text is larger than ${maxBytes} bytes.`, options);
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      fail('the text is not valid UTF-8; save the file as UTF-8.', options);
    }
  } else {
    fail(`expected JSON text (a string or bytes), not ${input === null ? 'null' : typeof input}.`, options);
  }
  if (text.charCodeAt(0) === 0xfeff)
    fail('the text starts with a byte-order mark; save it as UTF-8 without BOM.', options);
  scan(text, maxDepth, options);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    // The scanner accepts only what JSON.parse accepts; this is a guard, not a path taken.
    fail(`invalid JSON: ${String(cause)}`, options);
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Strict RFC 8259 scanner with an explicit stack: syntax, depth, duplicate member names. */
function scan(text: string, maxDepth: number, options: ParseJsonOptions): void {
  const n = text.length;
  let i = 0;
  // Stack of containers: for objects, the set of member names seen.
  const stack: { kind: 'object' | 'array'; keys?: Set<string>; index: number; path: string }[] = [];
  const err = (what: string): never => fail(`invalid JSON at ${position(text, i)}: ${what}.`, options);
  const skipWs = () => {
    while (i < n && WS.has(text.charCodeAt(i))) i++;
  };
  const readString = (): string => {
    const start = i;
    i++; // opening quote
    let simple = true;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        const raw = text.slice(start, i);
        return simple ? raw.slice(1, -1) : (JSON.parse(raw) as string);
      }
      if (c === 0x5c) {
        simple = false;
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) err('bad \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else err('bad escape in a string');
      } else if (c < 0x20) err('control character in a string (escape it)');
      else i++;
    }
    return err('unterminated string');
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  // Expecting a value at i.
  const readValue = (path: string): boolean => {
    const c = text[i];
    if (c === '{' || c === '[') {
      if (stack.length >= maxDepth)
        fail(
          `the JSON text is nested deeper than ${maxDepth} levels at ${position(text, i)}.`,
          options,
          path,
        );
      stack.push(
        c === '{' ? { kind: 'object', keys: new Set(), index: 0, path } : { kind: 'array', index: 0, path },
      );
      i++;
      return true; // opened a container
    }
    if (c === '"') {
      readString();
      return false;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return false;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m && m[0].length > 0) {
      i += m[0].length;
      return false;
    }
    return err(c === undefined ? 'unexpected end of text' : `unexpected ${JSON.stringify(c)}`);
  };
  const esc = (k: string) => k.replaceAll('~', '~0').replaceAll('/', '~1');
  skipWs();
  if (i >= n) err('empty text');
  let opened = readValue('');
  for (;;) {
    const top = stack[stack.length - 1];
    if (!top) break;
    skipWs();
    if (opened) {
      // first element or member, or the immediate close
      opened = false;
      const close = top.kind === 'object' ? '}' : ']';
      if (text[i] === close) {
        i++;
        stack.pop();
        continue;
      }
    } else {
      if (text[i] === ',') {
        i++;
        skipWs();
      } else if (text[i] === (top.kind === 'object' ? '}' : ']')) {
        i++;
        stack.pop();
        continue;
      } else err(`expected "," or "${top.kind === 'object' ? '}' : ']'}"`);
    }
    let childPath = top.path;
    if (top.kind === 'object') {
      if (text[i] !== '"') err('expected a member name in double quotes');
      const key = readString();
      if (top.keys?.has(key)) {
        fail(
          `member name ${JSON.stringify(key)} appears twice in one object (${position(text, i)}); keep one.`,
          options,
          `${top.path}/${esc(key)}`,
        );
      }
      top.keys?.add(key);
      childPath = `${top.path}/${esc(key)}`;
      skipWs();
      if (text[i] !== ':') err('expected ":"');
      i++;
      skipWs();
    } else {
      childPath = `${top.path}/${top.index++}`;
    }
    opened = readValue(childPath);
  }
  skipWs();
  if (i < n) err('text after the JSON value');
}
