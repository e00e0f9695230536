import { InvalidArgumentError } from '../errors.js';
import { latin1String } from '../bytes.js';
import { CborError } from './errors.js';

/** What the strict pre-scan allows beyond plain CBOR data items (ints, byte/text strings, arrays, maps, false/true/null). */
export interface CborScanOptions {
  /** Tags allowed anywhere (every other tag is rejected). Default: none. */
  readonly allowedTags?: readonly number[];
  /** Deepest nesting of arrays, maps and tags. Default 16, at most MAX_CBOR_DEPTH. */
  readonly maxDepth?: number;
  /** Half, single and double floats. Default false: no format this project reads has floats. */
  readonly allowFloats?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The deepest nesting a caller may ask for. The scan and cbor-x both recurse per level: a cap far
 * below the stack's limit keeps a hostile input (or a careless option) from overflowing it.
 */
export const MAX_CBOR_DEPTH = 64;

/**
 * Walks an encoded item once, before any decoder allocates, and rejects what a strict reader must:
 * truncation, declared lengths larger than the input, reserved additional info, stray breaks, chunked strings,
 * invalid UTF-8, integers and lengths not in their shortest form, duplicate map keys, disallowed tags and
 * simple values, excessive depth and trailing bytes.
 *
 * Shortest forms are required (as the NSM's serde encoder writes them) so that every value has one
 * encoding: duplicate keys are then found by comparing bytes, and no second parser can read a key
 * this one counted as distinct (`pcrs` twice, PCR 0 as 0x00 and 0x1800).
 *
 * Every declared length is bounded by the bytes that remain, so a decoder that runs after a
 * successful scan never allocates more than the input's size (cbor-x itself would pre-allocate
 * arrays of up to 112 million entries from a 9-byte header).
 */
export function scanCbor(bytes: Uint8Array, options: CborScanOptions = {}): void {
  const scanner = new Scanner(bytes, options);
  const end = scanner.item(0, 0);
  if (end !== bytes.byteLength) {
    throw new CborError('ERR_CBOR_TRAILING_BYTES', `${bytes.byteLength - end} byte(s) after the end of the top-level item`);
  }
}

const BREAK = -1;

class Scanner {
  readonly #bytes: Uint8Array;
  readonly #tags: ReadonlySet<number>;
  readonly #maxDepth: number;
  readonly #floats: boolean;

  constructor(bytes: Uint8Array, options: CborScanOptions) {
    this.#bytes = bytes;
    this.#tags = new Set(options.allowedTags ?? []);
    const maxDepth = options.maxDepth ?? 16;
    if (!Number.isSafeInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_CBOR_DEPTH) {
      throw new InvalidArgumentError(`maxDepth must be an integer from 1 to ${MAX_CBOR_DEPTH}, got ${String(maxDepth)}`);
    }
    this.#maxDepth = maxDepth;
    this.#floats = options.allowFloats ?? false;
  }

  /** Scans one item at `pos`; returns the position after it, or BREAK for a break code where one is allowed. */
  item(pos: number, depth: number, breakAllowed = false): number {
    const bytes = this.#bytes;
    if (pos >= bytes.byteLength) throw truncated(pos);
    const initial = bytes[pos] as number;
    const major = initial >> 5;
    const info = initial & 0x1f;
    pos += 1;

    if (info === 31) return this.#indefinite(major, pos, depth, breakAllowed);
    if (info >= 28) throw new CborError('ERR_CBOR_MALFORMED', `reserved additional information ${info} at offset ${pos - 1}`);

    if (major === 7) return this.#simple(info, pos);

    const [argument, next] = this.#argument(info, pos);
    pos = next;
    const remaining = bytes.byteLength - pos;
    switch (major) {
      case 0:
      case 1:
        return pos;
      case 2:
      case 3:
        if (argument > remaining) throw tooLong(major, argument, remaining, pos);
        if (major === 3) this.#checkUtf8(pos, argument);
        return pos + argument;
      case 4: {
        // Every item takes at least one byte: a count above what remains cannot be honest.
        if (argument > remaining) throw tooLong(major, argument, remaining, pos);
        this.#enter(depth);
        for (let i = 0; i < argument; i++) pos = this.item(pos, depth + 1);
        return pos;
      }
      case 5: {
        if (argument * 2 > remaining) throw tooLong(major, argument, remaining, pos);
        this.#enter(depth);
        const keys = new Set<string>();
        for (let i = 0; i < argument; i++) pos = this.#entry(pos, depth, keys);
        return pos;
      }
      default: {
        // major 6: a tag
        if (!this.#tags.has(argument)) {
          throw new CborError('ERR_CBOR_UNSUPPORTED', `tag ${argument} is not allowed here (offset ${pos})`);
        }
        this.#enter(depth);
        return this.item(pos, depth + 1);
      }
    }
  }

  #entry(pos: number, depth: number, keys: Set<string>): number {
    const keyStart = pos;
    const keyEnd = this.item(pos, depth + 1);
    // Two keys are duplicates when their encodings are equal; comparing bytes is exact for the
    // ints and texts these formats use as keys.
    const key = latin1String(this.#bytes.subarray(keyStart, keyEnd));
    if (keys.has(key)) throw new CborError('ERR_CBOR_DUPLICATE_KEY', `duplicate map key at offset ${keyStart}`);
    keys.add(key);
    return this.item(keyEnd, depth + 1);
  }

  #indefinite(major: number, pos: number, depth: number, breakAllowed: boolean): number {
    switch (major) {
      case 2:
      case 3:
        // Legal CBOR, but nothing we read uses chunked strings and cbor-x cannot decode them.
        throw new CborError('ERR_CBOR_UNSUPPORTED', `indefinite-length strings are not supported (offset ${pos - 1})`);
      case 4: {
        this.#enter(depth);
        for (;;) {
          const next = this.item(pos, depth + 1, true);
          if (next === BREAK) return pos + 1;
          pos = next;
        }
      }
      case 5: {
        this.#enter(depth);
        const keys = new Set<string>();
        for (;;) {
          if (pos >= this.#bytes.byteLength) throw truncated(pos);
          if (this.#bytes[pos] === 0xff) return pos + 1;
          pos = this.#entry(pos, depth, keys);
        }
      }
      case 7:
        if (breakAllowed) return BREAK;
        throw new CborError('ERR_CBOR_MALFORMED', `unexpected break code at offset ${pos - 1}`);
      default:
        throw new CborError('ERR_CBOR_MALFORMED', `indefinite length is not allowed for major type ${major} (offset ${pos - 1})`);
    }
  }

  #simple(info: number, pos: number): number {
    if (info >= 20 && info <= 22) return pos; // false, true, null
    if (info >= 25 && info <= 27) {
      if (!this.#floats) throw new CborError('ERR_CBOR_UNSUPPORTED', `floating-point values are not allowed (offset ${pos - 1})`);
      const size = 1 << (info - 24);
      if (pos + size > this.#bytes.byteLength) throw truncated(pos);
      return pos + size;
    }
    throw new CborError('ERR_CBOR_UNSUPPORTED', `simple value ${info === 24 ? this.#bytes[pos] : info} is not allowed (offset ${pos - 1})`);
  }

  /** Reads the argument; lengths beyond 2^53 cannot fit any input and are reported as too large. */
  #argument(info: number, pos: number): [number, number] {
    if (info < 24) return [info, pos];
    const size = 1 << (info - 24);
    if (pos + size > this.#bytes.byteLength) throw truncated(pos);
    const view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset + pos, size);
    switch (size) {
      case 1:
        return [shortest(view.getUint8(0), 24, pos), pos + 1];
      case 2:
        return [shortest(view.getUint16(0), 0x100, pos), pos + 2];
      case 4:
        return [shortest(view.getUint32(0), 0x1_0000, pos), pos + 4];
      default: {
        const high = view.getUint32(0);
        if (high === 0) shortest(view.getUint32(4), 0x1_0000_0000, pos);
        // Integers may be that big; a length may not, and a caller compares against remaining bytes.
        return [high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 0x1_0000_0000 + view.getUint32(4), pos + 8];
      }
    }
  }

  #checkUtf8(pos: number, length: number): void {
    try {
      utf8.decode(this.#bytes.subarray(pos, pos + length));
    } catch (cause) {
      throw new CborError('ERR_CBOR_MALFORMED', `invalid UTF-8 in a text string at offset ${pos}`, { cause });
    }
  }

  #enter(depth: number): void {
    if (depth + 1 > this.#maxDepth) throw new CborError('ERR_CBOR_TOO_DEEP', `nesting deeper than ${this.#maxDepth}`);
  }
}

/** The value, when it needed this many bytes; a value below `min` had a shorter encoding. */
function shortest(value: number, min: number, pos: number): number {
  if (value < min) throw new CborError('ERR_CBOR_NOT_SHORTEST', `the integer or length ${value} at offset ${pos - 1} is not in its shortest form`);
  return value;
}

function truncated(pos: number): CborError {
  return new CborError('ERR_CBOR_MALFORMED', `unexpected end of input at offset ${pos}`);
}

function tooLong(major: number, declared: number, remaining: number, pos: number): CborError {
  const what = major === 4 ? 'array of' : major === 5 ? 'map of' : 'string of';
  const unit = major === 4 || major === 5 ? 'entries' : 'bytes';
  return new CborError('ERR_CBOR_MALFORMED', `${what} ${declared} ${unit} declared at offset ${pos} but only ${remaining} byte(s) remain`);
}
