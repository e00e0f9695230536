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
    const bytes = this.bytes;
    let pos = start;
    const first = this.byte(pos++);
    const tagClass = (first >> 6) as TagClass;
    const constructed = (first & 0x20) !== 0;
    let tagNumber = first & 0x1f;
    if (tagNumber === 0x1f) {
      tagNumber = 0;
      for (let i = 0; ; i++) {
        const b = this.byte(pos++);
        if (i === 0 && b === 0x80) throw new Asn1Error(`non-minimal tag number at offset ${start}`);
        if (i >= 3) throw new Asn1Error(`tag number too large at offset ${start}`);
        tagNumber = tagNumber * 128 + (b & 0x7f);
        if ((b & 0x80) === 0) break;
      }
      if (tagNumber < 31) throw new Asn1Error(`non-minimal tag number at offset ${start}`);
    }

    const lengthByte = this.byte(pos++);
    if (lengthByte === 0x80) {
      if (!this.ber) throw new Asn1Error(`indefinite length is not allowed in DER (offset ${start})`);
      if (!constructed) throw new Asn1Error(`indefinite length on a primitive value at offset ${start}`);
      const children: Asn1Node[] = [];
      for (;;) {
        if (this.byte(pos) === 0 && this.byte(pos + 1) === 0) {
          pos += 2;
          break;
        }
        const child = this.node(pos, depth + 1);
        children.push(child);
        pos += child.raw.byteLength;
      }
      return { tagClass, tagNumber, constructed, indefinite: true, raw: bytes.subarray(start, pos), content: EMPTY, children, offset: start };
    }

    let length = lengthByte;
    if (lengthByte > 0x80) {
      const count = lengthByte & 0x7f;
      if (count > 4) throw new Asn1Error(`length of ${count} bytes at offset ${start} is too large`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + this.byte(pos++);
      if (!this.ber && (length < 0x80 || this.bytes[pos - count] === 0)) {
        throw new Asn1Error(`non-minimal length encoding at offset ${start}`);
      }
    } else if (lengthByte === 0xff) {
      throw new Asn1Error(`reserved length octet at offset ${start}`);
    }
    const end = pos + length;
    if (end > bytes.byteLength) {
      throw new Asn1Error(`length ${length} at offset ${start} runs past the end of the input (${bytes.byteLength - pos} byte(s) remain)`);
    }
    if (!constructed) {
      return {
        tagClass,
        tagNumber,
        constructed,
        indefinite: false,
        raw: bytes.subarray(start, end),
        content: bytes.subarray(pos, end),
        children: NO_CHILDREN,
        offset: start,
      };
    }
    const children: Asn1Node[] = [];
    while (pos < end) {
      const child = this.node(pos, depth + 1);
      pos += child.raw.byteLength;
      if (pos > end) throw new Asn1Error(`child at offset ${child.offset} overruns its parent at offset ${start}`);
      children.push(child);
    }
    return { tagClass, tagNumber, constructed, indefinite: false, raw: bytes.subarray(start, end), content: EMPTY, children, offset: start };
  }

  private byte(pos: number): number {
    const b = this.bytes[pos];
    if (b === undefined) throw new Asn1Error(`unexpected end of input at offset ${pos}`);
    return b;
  }
}

const EMPTY = new Uint8Array(0);
const NO_CHILDREN: readonly Asn1Node[] = Object.freeze([]);
