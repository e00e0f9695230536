import { NitroDatakeyError } from '../errors.js';

/** Messages carry the fixed prefix `ASN.1 decode error:`. */
export class Asn1Error extends NitroDatakeyError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('ERR_ASN1_MALFORMED', `ASN.1 decode error: ${detail}`, options);
  }
}

export const TagClass = { Universal: 0, Application: 1, Context: 2, Private: 3 } as const;
export type TagClass = (typeof TagClass)[keyof typeof TagClass];

/** One decoded TLV. `raw` is the whole encoding (header, content and, for indefinite lengths, the end-of-contents octets). */
export interface Asn1Node {
  readonly tagClass: TagClass;
  readonly tagNumber: number;
  readonly constructed: boolean;
  readonly indefinite: boolean;
  readonly raw: Uint8Array;
  /** Content octets of a primitive node (empty for constructed nodes). */
  readonly content: Uint8Array;
  readonly children: readonly Asn1Node[];
  /** Offset of the node in the top-level input, for error messages. */
  readonly offset: number;
}

export interface Asn1ParseOptions {
  /** 'der': definite, minimal lengths only. 'ber': indefinite lengths on constructed nodes, long forms allowed. */
  readonly encoding: 'der' | 'ber';
  readonly maxDepth?: number;
}

/**
 * Parses exactly one TLV covering all of `bytes` (trailing bytes are an error) into a tree.
 * Nothing is copied: every `raw` and `content` is a view into `bytes`.
 */
export function parseAsn1(bytes: Uint8Array, options: Asn1ParseOptions): Asn1Node {
  const parser = new Parser(bytes, options.encoding === 'ber', options.maxDepth ?? 32);
  const node = parser.node(0, 0);
  const end = node.offset + node.raw.byteLength;
  if (end !== bytes.byteLength) throw new Asn1Error(`${bytes.byteLength - end} trailing byte(s) after offset ${end}`);
  return node;
}

class Parser {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly ber: boolean,
    private readonly maxDepth: number,
  ) {}

  node(start: number, depth: number): Asn1Node {
    if (depth > this.maxDepth) throw new Asn1Error(`nesting deeper than ${this.maxDepth}`);
    const first = this.byte(start);
    const tagClass = (first >> 6) as TagClass;
    const constructed = (first & 0x20) !== 0;
    const tag = this.tagNumber(start, first);
    const lengthByte = this.byte(tag.next);
    if (lengthByte === 0x80) return this.indefinite(start, tag.next + 1, depth, tagClass, tag.number, constructed);
    const { length, next: contentStart } = this.definiteLength(start, tag.next, lengthByte);
    const end = contentStart + length;
    if (end > this.bytes.byteLength) {
      throw new Asn1Error(`length ${length} at offset ${start} runs past the end of the input (${this.bytes.byteLength - contentStart} byte(s) remain)`);
    }
    const raw = this.bytes.subarray(start, end);
    if (!constructed) {
      const content = this.bytes.subarray(contentStart, end);
      return { tagClass, tagNumber: tag.number, constructed, indefinite: false, raw, content, children: NO_CHILDREN, offset: start };
    }
    const children = this.children(start, contentStart, end, depth);
    return { tagClass, tagNumber: tag.number, constructed, indefinite: false, raw, content: EMPTY, children, offset: start };
  }

  /** The tag number (high-tag-number form in at most 4 bytes, minimal), and where the length begins. */
  private tagNumber(start: number, first: number): { number: number; next: number } {
    let pos = start + 1;
    if ((first & 0x1f) !== 0x1f) return { number: first & 0x1f, next: pos };
    let number = 0;
    for (let i = 0; ; i++) {
      const b = this.byte(pos++);
      if (i === 0 && b === 0x80) throw new Asn1Error(`non-minimal tag number at offset ${start}`);
      if (i >= 3) throw new Asn1Error(`tag number too large at offset ${start}`);
      number = number * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    if (number < 31) throw new Asn1Error(`non-minimal tag number at offset ${start}`);
    return { number, next: pos };
  }

  /** A definite length (short or long form; minimal in DER), and where the content begins. */
  private definiteLength(start: number, at: number, lengthByte: number): { length: number; next: number } {
    let pos = at + 1;
    if (lengthByte === 0xff) throw new Asn1Error(`reserved length octet at offset ${start}`);
    if (lengthByte < 0x80) return { length: lengthByte, next: pos };
    const count = lengthByte & 0x7f;
    if (count > 4) throw new Asn1Error(`length of ${count} bytes at offset ${start} is too large`);
    let length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + this.byte(pos++);
    if (!this.ber && (length < 0x80 || this.bytes[pos - count] === 0)) throw new Asn1Error(`non-minimal length encoding at offset ${start}`);
    return { length, next: pos };
  }

  /** BER's indefinite length: children up to an end-of-contents pair (DER forbids it). */
  private indefinite(start: number, at: number, depth: number, tagClass: TagClass, tagNumber: number, constructed: boolean): Asn1Node {
    if (!this.ber) throw new Asn1Error(`indefinite length is not allowed in DER (offset ${start})`);
    if (!constructed) throw new Asn1Error(`indefinite length on a primitive value at offset ${start}`);
    let pos = at;
    const children: Asn1Node[] = [];
    while (!(this.byte(pos) === 0 && this.byte(pos + 1) === 0)) {
      const child = this.node(pos, depth + 1);
      children.push(child);
      pos += child.raw.byteLength;
    }
    pos += 2;
    return { tagClass, tagNumber, constructed, indefinite: true, raw: this.bytes.subarray(start, pos), content: EMPTY, children, offset: start };
  }

  /** A constructed value's children, which must fill its content exactly. */
  private children(start: number, from: number, end: number, depth: number): Asn1Node[] {
    const children: Asn1Node[] = [];
    let pos = from;
    while (pos < end) {
      const child = this.node(pos, depth + 1);
      pos += child.raw.byteLength;
      if (pos > end) throw new Asn1Error(`child at offset ${child.offset} overruns its parent at offset ${start}`);
      children.push(child);
    }
    return children;
  }

  private byte(pos: number): number {
    const b = this.bytes[pos];
    if (b === undefined) throw new Asn1Error(`unexpected end of input at offset ${pos}`);
    return b;
  }
}

const EMPTY = new Uint8Array(0);
const NO_CHILDREN: readonly Asn1Node[] = Object.freeze([]);
