import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesWildcard } from '@nitro-datakey/shared';

/*
 * IAM's wildcard match (`*`, `?`), as the local KMS evaluates policies with it. Oracle: the regular
 * expression the matcher replaced, on inputs small enough for its backtracking.
 */
const oracle = (pattern: string, value: string, ignoreCase: boolean) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    ignoreCase ? 'is' : 's',
  ).test(value);

describe('matchesWildcard', () => {
  it('agrees with the regular-expression oracle', () => {
    const text = (alphabet: string[], max: number) => fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((a) => a.join(''));
    fc.assert(
      fc.property(text(['a', 'b', 'A', '*', '?', '.', ':'], 10), text(['a', 'b', 'A', '.', ':', '\n'], 12), fc.boolean(), (pattern, value, ignoreCase) => {
        expect(matchesWildcard(pattern, value, { ignoreCase })).toBe(oracle(pattern, value, ignoreCase));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['kms:*', 'kms:Decrypt', true],
    ['kms:Decrypt', 'kms:decrypt', false],
    ['arn:aws:kms:*:111122223333:key/*', 'arn:aws:kms:us-east-1:111122223333:key/abc', true],
    ['*', '', true],
    ['?', '', false],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
  ])('%s against %s: %s', (pattern, value, expected) => {
    expect(matchesWildcard(pattern, value)).toBe(expected);
  });

  it('ignores case only when asked', () => {
    expect(matchesWildcard('KMS:decrypt', 'kms:Decrypt', { ignoreCase: true })).toBe(true);
    expect(matchesWildcard('KMS:decrypt', 'kms:Decrypt')).toBe(false);
  });

  it('answers a pathological pattern on a long value (a backtracking regex would not, in any time we have)', () => {
    // `*?` x 20 then a character the value lacks: the regex tries every split of 2,000 characters.
    const pattern = `${'*?'.repeat(20)}!`;
    const value = 'a'.repeat(2000);
    expect(matchesWildcard(pattern, value)).toBe(false);
    expect(matchesWildcard(pattern, `${value}!`)).toBe(true);
  });
});
