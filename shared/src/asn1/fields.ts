import { latin1String } from '../bytes.js';
import { Asn1Error, TagClass, type Asn1Node } from './parser.js';

/** Universal tag numbers used here. */
export const UniversalTag = {
  Boolean: 1,
  Integer: 2,
  BitString: 3,
  OctetString: 4,
  Null: 5,
  Oid: 6,
  Utf8String: 12,
  Sequence: 16,
  Set: 17,
  PrintableString: 19,
  Ia5String: 22,
  UtcTime: 23,
  GeneralizedTime: 24,
} as const;

function describe(node: Asn1Node): string {
  const cls = ['universal', 'application', 'context', 'private'][node.tagClass];
  return `${cls} ${node.tagNumber}${node.constructed ? ' (constructed)' : ''} at offset ${node.offset}`;
}

/** Asserts a universal node of the given tag, primitive or constructed as the type requires. */
export function expectUniversal(node: Asn1Node | undefined, tagNumber: number, label: string): Asn1Node {
  if (node === undefined) throw new Asn1Error(`${label}: missing`);
  const constructed = tagNumber === UniversalTag.Sequence || tagNumber === UniversalTag.Set;
  if (node.tagClass !== TagClass.Universal || node.tagNumber !== tagNumber || node.constructed !== constructed) {
    throw new Asn1Error(`${label}: expected universal ${tagNumber}, found ${describe(node)}`);
  }
  return node;
}

export function expectContext(node: Asn1Node | undefined, tagNumber: number, constructed: boolean, label: string): Asn1Node {
  if (node === undefined) throw new Asn1Error(`${label}: missing`);
  if (node.tagClass !== TagClass.Context || node.tagNumber !== tagNumber || node.constructed !== constructed) {
    throw new Asn1Error(`${label}: expected [${tagNumber}]${constructed ? ' constructed' : ''}, found ${describe(node)}`);
  }
  return node;
}

export function isContext(node: Asn1Node | undefined, tagNumber: number): node is Asn1Node {
  return node !== undefined && node.tagClass === TagClass.Context && node.tagNumber === tagNumber;
}

function expectChildren(node: Asn1Node, min: number, max: number, label: string): readonly Asn1Node[] {
  const n = node.children.length;
  if (n < min || n > max) {
    throw new Asn1Error(`${label}: expected ${min === max ? min : `${min} to ${max}`} element(s), found ${n}`);
  }
  return node.children;
}

export function readSequence(node: Asn1Node | undefined, label: string, min = 0, max = Infinity): readonly Asn1Node[] {
  return expectChildren(expectUniversal(node, UniversalTag.Sequence, label), min, max, label);
}

/** Dotted-decimal OID. */
export function readOid(node: Asn1Node | undefined, label: string): string {
  const content = expectUniversal(node, UniversalTag.Oid, label).content;
  if (content.byteLength === 0 || (content[content.byteLength - 1] as number) & 0x80) {
    throw new Asn1Error(`${label}: malformed object identifier`);
  }
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.byteLength; i++) {
    const b = content[i] as number;
    if (value === 0 && b === 0x80) throw new Asn1Error(`${label}: non-minimal object identifier arc`);
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new Asn1Error(`${label}: object identifier arc too large`);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

/** A non-negative INTEGER that fits a JS number (versions, path lengths). */
export function readSmallInteger(node: Asn1Node | undefined, label: string): number {
  const content = expectUniversal(node, UniversalTag.Integer, label).content;
  if (content.byteLength === 0) throw new Asn1Error(`${label}: empty integer`);
  if (content.byteLength > 1 && content[0] === 0 && ((content[1] as number) & 0x80) === 0) {
    throw new Asn1Error(`${label}: non-minimal integer`);
  }
  if ((content[0] as number) & 0x80) throw new Asn1Error(`${label}: negative integer`);
  if (content.byteLength > 6) throw new Asn1Error(`${label}: integer too large`);
  let value = 0;
  for (const b of content) value = value * 256 + b;
  return value;
}

/** The raw two's-complement content of an INTEGER (serial numbers), checked for minimality. */
export function readIntegerBytes(node: Asn1Node | undefined, label: string): Uint8Array {
  const content = expectUniversal(node, UniversalTag.Integer, label).content;
  if (content.byteLength === 0) throw new Asn1Error(`${label}: empty integer`);
  if (
    content.byteLength > 1 &&
    ((content[0] === 0 && ((content[1] as number) & 0x80) === 0) || (content[0] === 0xff && ((content[1] as number) & 0x80) !== 0))
  ) {
    throw new Asn1Error(`${label}: non-minimal integer`);
  }
  return content;
}

/** DER BOOLEAN: exactly one octet, 0x00 or 0xff. */
export function readBoolean(node: Asn1Node | undefined, label: string): boolean {
  const content = expectUniversal(node, UniversalTag.Boolean, label).content;
  if (content.byteLength !== 1 || (content[0] !== 0 && content[0] !== 0xff)) throw new Asn1Error(`${label}: malformed boolean`);
  return content[0] === 0xff;
}

/** A primitive BIT STRING with no unused bits (keys, signatures). */
export function readBitStringBytes(node: Asn1Node | undefined, label: string): Uint8Array {
  const content = expectUniversal(node, UniversalTag.BitString, label).content;
  if (content.byteLength === 0 || content[0] !== 0) throw new Asn1Error(`${label}: expected a bit string with no unused bits`);
  return content.subarray(1);
}

/** A primitive BIT STRING as named bits: bit i of the result is bit i of the string (X.509 KeyUsage numbering). */
export function readNamedBits(node: Asn1Node | undefined, label: string): number {
  const content = expectUniversal(node, UniversalTag.BitString, label).content;
  const unused = content[0];
  if (unused === undefined || unused > 7 || (content.byteLength === 1 && unused !== 0) || content.byteLength > 5) {
    throw new Asn1Error(`${label}: malformed bit string`);
  }
  let bits = 0;
  for (let i = 1; i < content.byteLength; i++) {
    const b = content[i] as number;
    for (let j = 0; j < 8; j++) if (b & (0x80 >> j)) bits |= 1 << ((i - 1) * 8 + j);
  }
  return bits >>> 0;
}

/** A primitive OCTET STRING (DER). */
export function readOctetString(node: Asn1Node | undefined, label: string): Uint8Array {
  return expectUniversal(node, UniversalTag.OctetString, label).content;
}

/** UTCTime or GeneralizedTime in the forms RFC 5280 allows (seconds, `Z`), as ms since the epoch. */
export function readTime(node: Asn1Node | undefined, label: string): number {
  if (node === undefined) throw new Asn1Error(`${label}: missing`);
  const text = latin1String(node.content);
  let m: RegExpExecArray | null;
  if (node.tagClass === TagClass.Universal && node.tagNumber === UniversalTag.UtcTime && !node.constructed) {
    m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
    if (m) {
      const yy = Number(m[1]);
      return utc(yy >= 50 ? 1900 + yy : 2000 + yy, m, label);
    }
  } else if (node.tagClass === TagClass.Universal && node.tagNumber === UniversalTag.GeneralizedTime && !node.constructed) {
    m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
    if (m) return utc(Number(m[1]), m, label);
  } else {
    throw new Asn1Error(`${label}: expected UTCTime or GeneralizedTime`);
  }
  throw new Asn1Error(`${label}: malformed time ${JSON.stringify(text)}`);
}

function utc(year: number, m: RegExpExecArray, label: string): number {
  const [month, day, hour, minute, second] = [2, 3, 4, 5, 6].map((i) => Number(m[i])) as [number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new Asn1Error(`${label}: impossible date`);
  }
  return ms;
}
