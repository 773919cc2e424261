import { SchemaError } from './errors.ts';

/** Which suffix family a quantity was written with (as the reference names them). */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

const SHAPE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const DECIMAL_SUFFIX: Readonly<Record<string, number>> = {
  '': 0,
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  K: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIX: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const NANO = 1_000_000_000n;
/** Binary amounts saturate here, as in the reference (TYPES-017). */
const MAX_BINARY_NANO = (2n ** 63n - 1n) * NANO;
/** Bounds that keep BigInt arithmetic small whatever the input. */
const MAX_TEXT = 128;
const MAX_EXPONENT = 100;

/** An exact resource quantity (TYPES-016, TYPES-017): the amount in billionths of the base unit, rounded up
 * (away from zero) below that precision as the reference does. Never a float. */
export class ResourceQuantity {
  /** Amount × 10^9, exact. */
  readonly nano: bigint;
  readonly format: QuantityFormat;
  /** The text it was read from (after trimming). */
  readonly text: string;

  constructor(nano: bigint, format: QuantityFormat, text: string) {
    this.nano = nano;
    this.format = format;
    this.text = text;
  }

  /** Whole base units (bytes, cores, operations), rounded up away from zero: `0.3` is 1, `1.5Gi` is 1610612736. */
  toBytes(): bigint {
    return ceilDivSigned(this.nano, NANO);
  }

  /** Whole base units; the same as {@link toBytes} under a unit-neutral name. */
  toUnits(): bigint {
    return this.toBytes();
  }

  /** Thousandths of the base unit (millicores for CPU), rounded up away from zero: `0.3` is 300. */
  toMillis(): bigint {
    return ceilDivSigned(this.nano, 1_000_000n);
  }

  /** True below zero (quantities parse with a sign; isolators reject negative ones). */
  isNegative(): boolean {
    return this.nano < 0n;
  }

  /** Compares amounts: negative, zero or positive. */
  compare(other: ResourceQuantity): number {
    return this.nano < other.nano ? -1 : this.nano > other.nano ? 1 : 0;
  }

  /** The canonical text of the reference: the largest suffix that keeps an integer mantissa in the same family
   * (`1024Mi` -> `1Gi`, `1000M` -> `1G`, `.001Ki` -> `1024m`). */
  toString(): string {
    if (this.nano === 0n) return '0';
    const sign = this.nano < 0n ? '-' : '';
    const abs = this.nano < 0n ? -this.nano : this.nano;
    if (this.format === 'BinarySI' && abs % NANO === 0n) {
      let units = abs / NANO;
      let k = 0;
      const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
      while (k < 6 && units % 1024n === 0n) {
        units /= 1024n;
        k++;
      }
      return `${sign}${units}${suffixes[k]}`;
    }
    let m = abs;
    let j = 0; // exponent of 10 in steps of 3, from -9
    while (j < 9 && m % 1000n === 0n) {
      m /= 1000n;
      j++;
    }
    const exp = (j - 3) * 3;
    if (this.format === 'DecimalExponent') return `${sign}${m}${exp === 0 ? '' : `e${exp}`}`;
    const suffix = {
      '-9': 'n',
      '-6': 'u',
      '-3': 'm',
      '0': '',
      '3': 'k',
      '6': 'M',
      '9': 'G',
      '12': 'T',
      '15': 'P',
      '18': 'E',
    }[String(exp)];
    return `${sign}${m}${suffix ?? ''}`;
  }

  toJSON(): string {
    return this.text;
  }
}

function ceilDivSigned(a: bigint, b: bigint): bigint {
  if (a < 0n) return -ceilDiv(-a, b);
  return ceilDiv(a, b);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Reads a quantity without throwing: the value, or the reason it is not one. Strings are taken as they are
 * (no trimming); numbers are written in JavaScript's shortest form first. */
export function tryParseResourceQuantity(input: string | number): ResourceQuantity | { problem: string } {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { problem: 'not a finite number' };
    text = String(input);
  } else if (typeof input === 'string') {
    text = input;
  } else {
    return { problem: 'not a string or number' };
  }
  if (text === '') return { problem: 'empty' };
  if (text.length > MAX_TEXT) return { problem: `longer than ${MAX_TEXT} characters` };
  const m = SHAPE.exec(text);
  if (!m) return { problem: 'not a number with an optional suffix' };
  const numberPart = m[1] as string;
  const suffix = m[2] as string;
  let negative = false;
  let digits = numberPart;
  if (digits[0] === '+' || digits[0] === '-') {
    negative = digits[0] === '-';
    digits = digits.slice(1);
  }
  const parts = digits.split('.');
  if (parts.length > 2) return { problem: 'more than one decimal point' };
  const whole = parts[0] as string;
  const frac = parts[1] ?? '';
  if (whole === '' && frac === '') return { problem: 'no digits' };
  let exp10 = 0;
  let exp2 = 0;
  let format: QuantityFormat;
  if (suffix in DECIMAL_SUFFIX) {
    exp10 = DECIMAL_SUFFIX[suffix] as number;
    format = 'DecimalSI';
  } else if (suffix in BINARY_SUFFIX) {
    exp2 = BINARY_SUFFIX[suffix] as number;
    format = 'BinarySI';
  } else if (/^[eE][-+]?[0-9]+$/.test(suffix)) {
    const e = Number(suffix.slice(1));
    if (!Number.isSafeInteger(e) || Math.abs(e) > MAX_EXPONENT)
      return { problem: `exponent beyond ±${MAX_EXPONENT}` };
    exp10 = e;
    format = 'DecimalExponent';
  } else {
    return {
      problem: `unknown suffix "${suffix}" (use n u m k K M G T P E Ki Mi Gi Ti Pi Ei or e<exponent>)`,
    };
  }
  const mantissa = BigInt(`${whole}${frac}` || '0') * 2n ** BigInt(exp2);
  const e = 9 + exp10 - frac.length;
  let nano = e >= 0 ? mantissa * 10n ** BigInt(e) : ceilDiv(mantissa, 10n ** BigInt(-e));
  if (format === 'BinarySI') {
    if (nano > MAX_BINARY_NANO) nano = MAX_BINARY_NANO;
    if (nano > 0n && nano < NANO) format = 'DecimalSI';
  }
  return new ResourceQuantity(negative ? -nano : nano, format, text);
}

/** Parses a resource quantity (TYPES-016) into an exact value (TYPES-017).
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` with one `ERR_SCHEMA_QUANTITY` issue.
 * @example parseResourceQuantity('1.5Gi').toBytes() === 1610612736n */
export function parseResourceQuantity(input: string | number): ResourceQuantity {
  const q = tryParseResourceQuantity(input);
  if (q instanceof ResourceQuantity) return q;
  const message = `${JSON.stringify(input)} is not a resource quantity: ${q.problem}; write e.g. "500m", "1.5Gi" or "100M".`;
  throw new SchemaError(message, {
    code: 'ERR_SCHEMA_INVALID',
    requirement: 'TYPES-016',
    pointer: '',
    issues: [{ code: 'ERR_SCHEMA_QUANTITY', pointer: '', requirement: 'TYPES-016', message }],
  });
}

/** Regular expression of the quantity syntax, as used in the JSON Schemas (suffix checked too). */
export const QUANTITY_PATTERN =
  '^\\s*[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[numkKMGTPE]|[KMGTPE]i|[eE][-+]?[0-9]+)?\\s*$';
