import { matchesWildcard } from './wildcard.js';

/*
 * IAM's condition operators ("IAM JSON policy elements: Condition operators"): each one's test of a request
 * value against a policy value, and the check a policy value must pass to be accepted at all (a Numeric
 * operator with "ten", an IpAddress with "10.0.0.0/33" is a malformed policy, never a silent no-match).
 */

interface Operator {
  /** A negated operator matches when no policy value matches, and matches a missing key. */
  readonly negated: boolean;
  /** What is wrong with a policy value, if anything. */
  readonly invalid?: (value: string) => string | undefined;
  /** Whether the request value matches one policy value. */
  readonly matches: (policyValue: string, requestValue: string) => boolean;
}

const number = (text: string): number | undefined => (/^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : undefined);
/** ISO 8601 or seconds since the epoch (aws:EpochTime), as milliseconds. */
const date = (text: string): number | undefined => {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const ms = Date.parse(text);
  return /^\d{4}-\d\d-\d\d/.test(text) && !Number.isNaN(ms) ? ms : undefined;
};
const numeric = (compare: (a: number, b: number) => boolean, negated = false): Operator => ({
  negated,
  invalid: (v) => (number(v) === undefined ? `${JSON.stringify(v)} is not a number` : undefined),
  matches: (p, r) => {
    const a = number(r);
    const b = number(p);
    return a !== undefined && b !== undefined && compare(a, b);
  },
});
const dated = (compare: (a: number, b: number) => boolean, negated = false): Operator => ({
  negated,
  invalid: (v) => (date(v) === undefined ? `${JSON.stringify(v)} is not a date (ISO 8601 or epoch seconds)` : undefined),
  matches: (p, r) => {
    const a = date(r);
    const b = date(p);
    return a !== undefined && b !== undefined && compare(a, b);
  },
});
const bool: Operator = {
  negated: false,
  invalid: (v) => (v === 'true' || v === 'false' ? undefined : 'takes "true" or "false"'),
  matches: (p, r) => p === r.toLowerCase(),
};
const ip = (negated: boolean): Operator => ({
  negated,
  invalid: (v) => (parseCidr(v) === undefined ? `${JSON.stringify(v)} is not an IP address or CIDR block` : undefined),
  matches: (p, r) => inCidr(r, p),
});

/** Every operator IAM accepts on string, number, date, boolean, IP and ARN values; `Null` is handled apart. */
export const CONDITION_OPERATORS: Readonly<Record<string, Operator>> = {
  StringEquals: { negated: false, matches: (p, r) => p === r },
  StringNotEquals: { negated: true, matches: (p, r) => p === r },
  StringEqualsIgnoreCase: { negated: false, matches: (p, r) => p.toLowerCase() === r.toLowerCase() },
  StringNotEqualsIgnoreCase: { negated: true, matches: (p, r) => p.toLowerCase() === r.toLowerCase() },
  StringLike: { negated: false, matches: (p, r) => matchesWildcard(p, r) },
  StringNotLike: { negated: true, matches: (p, r) => matchesWildcard(p, r) },
  // ARNs match segment-wise with wildcards; a whole-string wildcard match is the same on well-formed ARNs.
  ArnEquals: { negated: false, matches: (p, r) => matchesWildcard(p, r) },
  ArnLike: { negated: false, matches: (p, r) => matchesWildcard(p, r) },
  ArnNotEquals: { negated: true, matches: (p, r) => matchesWildcard(p, r) },
  ArnNotLike: { negated: true, matches: (p, r) => matchesWildcard(p, r) },
  NumericEquals: numeric((a, b) => a === b),
  NumericNotEquals: numeric((a, b) => a === b, true),
  NumericLessThan: numeric((a, b) => a < b),
  NumericLessThanEquals: numeric((a, b) => a <= b),
  NumericGreaterThan: numeric((a, b) => a > b),
  NumericGreaterThanEquals: numeric((a, b) => a >= b),
  DateEquals: dated((a, b) => a === b),
  DateNotEquals: dated((a, b) => a === b, true),
  DateLessThan: dated((a, b) => a < b),
  DateLessThanEquals: dated((a, b) => a <= b),
  DateGreaterThan: dated((a, b) => a > b),
  DateGreaterThanEquals: dated((a, b) => a >= b),
  Bool: bool,
  IpAddress: ip(false),
  NotIpAddress: ip(true),
};

/** One request value against a condition's values: any of them for a positive operator, none for a negated one. */
export function operatorMatches(operator: string, policyValues: readonly string[], requestValue: string): boolean {
  const op = CONDITION_OPERATORS[operator];
  if (op === undefined) return false;
  const any = policyValues.some((p) => op.matches(p, requestValue));
  return op.negated ? !any : any;
}

export const isNegatedOperator = (operator: string): boolean => CONDITION_OPERATORS[operator]?.negated === true;

/** What is wrong with a policy value for this operator, if anything. */
export function invalidOperatorValue(operator: string, value: string): string | undefined {
  return CONDITION_OPERATORS[operator]?.invalid?.(value);
}

/** An IPv4 or IPv6 address or CIDR block as its bytes and prefix length. */
function parseCidr(text: string): { bytes: number[]; bits: number } | undefined {
  const [address, prefix, ...rest] = text.split('/');
  if (address === undefined || rest.length > 0) return undefined;
  const bytes = address.includes(':') ? ipv6(address) : ipv4(address);
  if (bytes === undefined) return undefined;
  const max = bytes.length * 8;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
  return bits >= 0 && bits <= max ? { bytes, bits } : undefined;
}

function ipv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.map(Number);
}

function ipv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.flatMap((g) => [Number.parseInt(g, 16) >> 8, Number.parseInt(g, 16) & 0xff]);
}

/** Whether `address` lies in the block `cidr` (same family only). */
function inCidr(address: string, cidr: string): boolean {
  const block = parseCidr(cidr);
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d: it is the IPv4 address.
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const mapped = v4mapped ? ipv4(v4mapped) : address.includes(':') ? ipv6(address) : ipv4(address);
  if (block === undefined || mapped === undefined || mapped.length !== block.bytes.length) return false;
  for (let bit = 0; bit < block.bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((mapped[byte] as number) & mask) !== ((block.bytes[byte] as number) & mask)) return false;
  }
  return true;
}
