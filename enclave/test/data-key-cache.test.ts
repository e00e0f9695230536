import { describe, expect, it } from 'vitest';
import { DataKeyCache, type DataKey } from '@nitro-datakey/enclave';

const key = (fill: number, length = 32): DataKey => ({
  keyId: 'arn:aws:kms:us-east-1:111122223333:key/k',
  plaintext: new Uint8Array(length).fill(fill),
  ciphertextBlob: new Uint8Array([fill]),
});
const input = (context: Record<string, string> = {}) => ({ KeyId: 'alias/app', KeySpec: 'AES_256', EncryptionContext: context });

describe('DataKeyCache', () => {
  it('misses when empty, then answers with copies: zeroing a returned key never corrupts the cache', () => {
    const cache = new DataKeyCache({ maxAgeMs: 1000, maxUses: 5, maxBytes: 1024 });
    expect(cache.get(input())).toBeUndefined();
    cache.put(input(), key(7));
    const a = cache.get(input()) as DataKey;
    a.plaintext.fill(0);
    expect((cache.get(input()) as DataKey).plaintext).toEqual(new Uint8Array(32).fill(7));
  });

  it('answers at most maxUses calls per key (the put counts as the first)', () => {
    const cache = new DataKeyCache({ maxAgeMs: 1000, maxUses: 3, maxBytes: 1024 });
    cache.put(input(), key(1));
    expect(cache.get(input())).toBeDefined();
    expect(cache.get(input())).toBeDefined();
    expect(cache.get(input())).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('expires a key past maxAgeMs by the injected clock', () => {
    let now = 0;
    const cache = new DataKeyCache({ maxAgeMs: 1000, maxUses: 100, maxBytes: 1024, clock: () => new Date(now) });
    cache.put(input(), key(1));
    now = 1000;
    expect(cache.get(input())).toBeDefined();
    now = 1001;
    expect(cache.get(input())).toBeUndefined();
  });

  it('keys entries by KeyId, spec and encryption context (in any key order)', () => {
    const cache = new DataKeyCache({ maxAgeMs: 1000, maxUses: 100, maxBytes: 1024 });
    cache.put(input({ a: '1', b: '2' }), key(1));
    expect(cache.get(input({ b: '2', a: '1' }))).toBeDefined();
    expect(cache.get(input({ a: '1' }))).toBeUndefined();
    expect(cache.get({ ...input({ a: '1', b: '2' }), KeySpec: 'AES_128' })).toBeUndefined();
  });

  it('holds at most maxBytes of plaintext, evicting the oldest first', () => {
    const cache = new DataKeyCache({ maxAgeMs: 1000, maxUses: 100, maxBytes: 64 });
    const first = key(1);
    cache.put(input({ n: '1' }), first);
    cache.put(input({ n: '2' }), key(2));
    cache.put(input({ n: '3' }), key(3));
    expect(cache.size).toBe(2);
    expect(cache.get(input({ n: '1' }))).toBeUndefined();
    expect(cache.get(input({ n: '3' }))).toBeDefined();
    cache.put(input({ big: '1' }), key(9, 65)); // larger than the whole cache: returned, not kept
    expect(cache.get(input({ big: '1' }))).toBeUndefined();
  });

  it("forgets every key on clear() and leaves the caller's copies alone", () => {
    const cache = new DataKeyCache({ maxAgeMs: 1000, maxUses: 100, maxBytes: 1024 });
    const returned = cache.put(input(), key(5));
    cache.clear();
    expect(cache.size).toBe(0);
    expect(returned.plaintext).toEqual(new Uint8Array(32).fill(5)); // the caller's copy is the caller's
  });

  it('refuses an encryption context with a value that is not a string with a typed error, in get and put', () => {
    const cache = new DataKeyCache({ maxAgeMs: 1000, maxUses: 10, maxBytes: 1024 });
    for (const context of [{ n: 1 }, { n: null }, { n: ['a'] }, []] as unknown as Record<string, string>[]) {
      expect(() => cache.get({ KeyId: 'k', EncryptionContext: context })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      const key = { keyId: 'k', plaintext: new Uint8Array(32), ciphertextBlob: new Uint8Array(1) };
      expect(() => cache.put({ KeyId: 'k', EncryptionContext: context }, key)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    }
    expect(cache.size).toBe(0);
  });

  it('refuses bounds that are not positive integers with a typed error', () => {
    for (const bad of [{ maxAgeMs: 0 }, { maxUses: 0 }, { maxBytes: -1 }, { maxUses: Number.NaN }]) {
      expect(() => new DataKeyCache({ maxAgeMs: 1000, maxUses: 1, maxBytes: 1, ...bad })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    }
  });
});
