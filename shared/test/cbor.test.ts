import { describe, expect, it } from 'vitest';
import { CborError, decodeCbor, encodeCbor, CborTag as Tag } from '@nitro-datakey/shared';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CborError);
    expect((e as Error).message).toMatch(/^CBOR decode error: /);
    return (e as CborError).code;
  }
  throw new Error('expected a CborError');
}

describe('strict CBOR decoding', () => {
  it('decodes definite and indefinite maps to the same Map', () => {
    const definite = decodeCbor(hex('a2 61 61 01 61 62 42 0102'));
    const indefinite = decodeCbor(hex('bf 61 61 01 61 62 42 0102 ff'));
    expect(definite).toEqual(
      new Map<string, unknown>([
        ['a', 1],
        ['b', new Uint8Array([1, 2])],
      ]),
    );
    expect(indefinite).toEqual(definite);
  });

  it('returns byte strings as plain Uint8Arrays and 64-bit integers as bigint', () => {
    const value = decodeCbor(hex('82 43 010203 1b 0000017cc68a5b5d')) as unknown[];
    expect(value[0]?.constructor).toBe(Uint8Array);
    expect(value[1]).toBe(1635418528605n);
  });

  it('accepts indefinite arrays', () => {
    expect(decodeCbor(hex('9f 01 02 ff'))).toEqual([1, 2]);
    expect(decodeCbor(hex('9f 9f ff 01 ff'))).toEqual([[], 1]);
  });

  it.each([
    ['trailing bytes', '01 02', 'ERR_CBOR_TRAILING_BYTES'],
    ['truncated string', '43 0102', 'ERR_CBOR_MALFORMED'],
    ['huge array count from a 9-byte header', '9b 0000000100000000 01', 'ERR_CBOR_MALFORMED'],
    ['huge map count', 'bb 0000ffffffffffff 01', 'ERR_CBOR_MALFORMED'],
    ['huge string length', '5b ffffffffffffffff 00', 'ERR_CBOR_MALFORMED'],
    ['duplicate map key', 'a2 61 61 01 61 61 02', 'ERR_CBOR_DUPLICATE_KEY'],
    ['duplicate key in an indefinite map', 'bf 01 01 01 02 ff', 'ERR_CBOR_DUPLICATE_KEY'],
    ['reserved additional info', '1c', 'ERR_CBOR_MALFORMED'],
    ['stray break', 'ff', 'ERR_CBOR_MALFORMED'],
    ['indefinite integer', '1f', 'ERR_CBOR_MALFORMED'],
    ['unterminated indefinite map', 'bf 01 01', 'ERR_CBOR_MALFORMED'],
    ['a chunked byte string', '5f 41 01 41 02 ff', 'ERR_CBOR_UNSUPPORTED'],
    ['a chunked text string', '7f 61 61 ff', 'ERR_CBOR_UNSUPPORTED'],
    ['invalid UTF-8', '62 c328', 'ERR_CBOR_MALFORMED'],
    ['a tag not on the allow-list', 'c1 01', 'ERR_CBOR_UNSUPPORTED'],
    ['undefined', 'f7', 'ERR_CBOR_UNSUPPORTED'],
    ['a float', 'fb 3ff0000000000000', 'ERR_CBOR_UNSUPPORTED'],
    ['a simple value', 'f8 20', 'ERR_CBOR_UNSUPPORTED'],
    ['empty input', '', 'ERR_CBOR_MALFORMED'],
  ])('rejects %s', (_name, input, code) => {
    expect(codeOf(() => decodeCbor(hex(input)))).toBe(code);
  });

  it('bounds depth and size before decoding', () => {
    expect(codeOf(() => decodeCbor(hex(`${'81'.repeat(40)}01`)))).toBe('ERR_CBOR_TOO_DEEP');
    expect(codeOf(() => decodeCbor(new Uint8Array(33), { maxBytes: 32 }))).toBe('ERR_CBOR_TOO_LARGE');
  });

  it('allows listed tags only', () => {
    const value = decodeCbor(hex('d2 80'), { allowedTags: [18] });
    expect(value).toBeInstanceOf(Tag);
    expect((value as Tag).tag).toBe(18);
  });

  it('encodes maps minimally, byte strings untagged and big integers as uints', () => {
    expect(Buffer.from(encodeCbor(new Map([[1, -35]]))).toString('hex')).toBe('a1013822');
    expect(Buffer.from(encodeCbor(new Uint8Array([1]))).toString('hex')).toBe('4101');
    expect(Buffer.from(encodeCbor(1635440522077n)).toString('hex')).toBe('1b0000017cc7d9f35d');
  });

  it('never throws anything but CborError on random and truncated input', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 16) & 0xff;
    };
    const good = encodeCbor({ a: [1, 2, new Uint8Array(10)], b: new Map([[1, 'x']]) });
    for (let i = 0; i < 3000; i++) {
      const input =
        i % 2 === 0
          ? new Uint8Array(Array.from({ length: 1 + (rand() % 40) }, rand))
          : (() => {
              const c = good.slice(0, rand() % good.length);
              if (c.length) c[rand() % c.length] = rand();
              return c;
            })();
      try {
        decodeCbor(input);
      } catch (e) {
        if (!(e instanceof CborError)) throw e;
      }
    }
  });
});

describe('one encoding per value (parser differentials)', () => {
  it('refuses integers and lengths that are not in their shortest form', () => {
    for (const [input, what] of [
      ['1817', '23 in one extra byte'],
      ['190017', '23 in two extra bytes'],
      ['1a00000017', '23 in four'],
      ['1b0000000000000017', '23 in eight'],
      ['1900ff', '255 in two bytes'],
      ['1b00000000ffffffff', '2^32-1 in eight bytes'],
      ['3817', '-24 in one extra byte'],
      ['5801 00', 'a 1-byte string with a 1-byte length'],
      ['7801 61', 'a 1-char text with a 1-byte length'],
      ['9801 00', 'an array of 1 with a 1-byte count'],
      ['b801 00 00', 'a map of 1 with a 1-byte count'],
      ['d80000', 'tag 0 in one extra byte'],
    ] as const) {
      expect(
        codeOf(() => decodeCbor(hex(input), { allowedTags: [0] })),
        what,
      ).toBe('ERR_CBOR_NOT_SHORTEST');
    }
    // The shortest forms of the boundary values still decode.
    expect(decodeCbor(hex('1818'))).toBe(24);
    expect(decodeCbor(hex('190100'))).toBe(256);
    expect(decodeCbor(hex('1a00010000'))).toBe(65536);
    expect(decodeCbor(hex('1b0000000100000000'))).toBe(2n ** 32n);
  });

  it('so a key cannot appear twice under two encodings (PCR 0 as 00 and 18 00)', () => {
    // Before shortest forms were required, byte comparison saw two keys and the last one won.
    expect(codeOf(() => decodeCbor(hex('a2 00 41 01 1800 41 02')))).toBe('ERR_CBOR_NOT_SHORTEST');
    expect(codeOf(() => decodeCbor(hex('a2 00 41 01 00 41 02')))).toBe('ERR_CBOR_DUPLICATE_KEY');
  });

  it('caps the depth a caller may allow, before the stack could overflow', () => {
    const deep = hex(`${'81'.repeat(100_000)}01`);
    expect(() => decodeCbor(deep, { maxDepth: 1_000_000 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(codeOf(() => decodeCbor(deep, { maxDepth: 64 }))).toBe('ERR_CBOR_TOO_DEEP');
  });
});
