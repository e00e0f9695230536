import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_KEY_POLICY, KeyManager } from '@nitro-datakey/enclave';

// Real RSA keys (the manager warms each one with an OAEP round trip), made once: the fake generator
// hands them out instantly and in order, so the tests control when and how many pairs appear.
let keys: { publicKey: KeyObject; privateKey: KeyObject }[] = [];
beforeAll(() => {
  keys = Array.from({ length: 6 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 }));
});

function instantGenerator(): { generate: () => Promise<{ publicKey: KeyObject; privateKey: KeyObject }>; calls: () => number } {
  let calls = 0;
  return {
    generate: async () => keys[calls++ % keys.length] as { publicKey: KeyObject; privateKey: KeyObject },
    calls: () => calls,
  };
}

/** A generator whose pairs appear only when the test releases them. */
function gatedGenerator(): { generate: () => Promise<{ publicKey: KeyObject; privateKey: KeyObject }>; release: (n?: number) => void; pending: () => number } {
  const waiting: Array<() => void> = [];
  let next = 0;
  return {
    generate: () =>
      new Promise((resolve) => {
        waiting.push(() => resolve(keys[next++ % keys.length] as { publicKey: KeyObject; privateKey: KeyObject }));
      }),
    release: (n = 1) => {
      for (let i = 0; i < n; i++) waiting.shift()?.();
    },
    pending: () => waiting.length,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));
const spkiHex = (k: { spki: Uint8Array }) => Buffer.from(k.spki).toString('hex');

describe('KeyManager', () => {
  it('in the strict mode (maxUses: 1) hands out a new key pair for every call, and keeps the pool topped up', async () => {
    const gen = instantGenerator();
    const km = new KeyManager({ maxUses: 1, poolSize: 2, generateKeyPair: gen.generate });
    await km.warm(2);
    const a = await km.acquire();
    const b = await km.acquire();
    expect(spkiHex(a)).not.toBe(spkiHex(b));
    await settle();
    expect(km.stats().ready).toBe(2);
    expect(gen.calls()).toBe(4);
    km.close();
  });

  it('reuses one pair up to maxUses, then moves to a fresh one', async () => {
    const km = new KeyManager({ maxUses: 3, poolSize: 1, generateKeyPair: instantGenerator().generate });
    await km.warm(1);
    const uses = [await km.acquire(), await km.acquire(), await km.acquire(), await km.acquire()];
    expect(new Set(uses.slice(0, 3).map(spkiHex)).size).toBe(1);
    expect(spkiHex(uses[3] as { spki: Uint8Array })).not.toBe(spkiHex(uses[0] as { spki: Uint8Array }));
    km.close();
  });

  it('retires a pair past maxAgeMs by the injected clock, and never hands out an aged ready pair', async () => {
    let now = 1_000_000;
    const km = new KeyManager({ maxUses: 100, maxAgeMs: 60_000, poolSize: 2, clock: () => new Date(now), generateKeyPair: instantGenerator().generate });
    await km.warm(2);
    const first = await km.acquire();
    expect(spkiHex(await km.acquire())).toBe(spkiHex(first));
    now += 60_001; // the current pair and both pooled ones (made at the same instant) are now too old
    const later = await km.acquire();
    expect(spkiHex(later)).not.toBe(spkiHex(first));
    expect(km.stats().waits).toBe(1); // the aged pool was discarded, so this call waited for a new pair
    km.close();
  });

  it('makes a cold caller wait for generation and counts the wait', async () => {
    const gen = gatedGenerator();
    const km = new KeyManager({ poolSize: 1, generateKeyPair: gen.generate });
    let got = false;
    const pending = km.acquire().then((k) => {
      got = true;
      return k;
    });
    await settle();
    expect(got).toBe(false);
    expect(km.stats().waits).toBe(1);
    gen.release(gen.pending());
    expect((await pending).spki.byteLength).toBeGreaterThan(256);
    km.close();
  });

  it('retries after a failed generation instead of leaving callers hanging', async () => {
    let failures = 1;
    const ok = instantGenerator();
    const km = new KeyManager({
      poolSize: 1,
      generateKeyPair: () => (failures-- > 0 ? Promise.reject(new Error('entropy')) : ok.generate()),
    });
    const key = await km.acquire();
    expect(key.privateKey.asymmetricKeyType).toBe('rsa');
    km.close();
  });

  it('refuses options it cannot honour with a typed error', () => {
    for (const bad of [{ maxUses: 0 }, { maxUses: 1.5 }, { poolSize: 0 }, { maxAgeMs: -1 }, { modulusLength: 1024 }]) {
      expect(() => new KeyManager({ ...bad, generateKeyPair: instantGenerator().generate }), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
    }
  });

  it('drops its ready pairs on close', async () => {
    const km = new KeyManager({ poolSize: 2, generateKeyPair: instantGenerator().generate });
    await km.warm(2);
    km.close();
    expect(km.stats().ready).toBe(0);
  });
});

describe('KeyManager, closed', () => {
  it('rejects callers still waiting for a pair, and refuses new ones, with a typed error', async () => {
    const km = new KeyManager({ poolSize: 1, generateKeyPair: () => new Promise(() => undefined) });
    const waiting = km.acquire();
    await new Promise((r) => setTimeout(r, 10));
    km.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_KMS_CLIENT_CLOSED' });
    await expect(km.acquire()).rejects.toMatchObject({ code: 'ERR_KMS_CLIENT_CLOSED' });
  });
});

describe('KeyManager, the default policy', () => {
  it('serves 1,000 calls with one pair, then hands over to a spare made in the background, without waiting', async () => {
    expect(DEFAULT_KEY_POLICY).toEqual({ maxUses: 1000, maxAgeMs: 300_000 });
    const gen = instantGenerator();
    const km = new KeyManager({ generateKeyPair: gen.generate });
    await km.warm(2);
    const first = spkiHex(await km.acquire());
    for (let i = 1; i < 1000; i++) expect(spkiHex(await km.acquire())).toBe(first);
    const next = spkiHex(await km.acquire());
    expect(next).not.toBe(first);
    expect(km.stats().waits).toBe(0);
    expect(km.stats().generated).toBeLessThanOrEqual(4); // a handful of pairs for 1,001 calls
    km.close();
  });

  it('retires a pair after 5 minutes, and keeps its spares young so the successor is never near its end', async () => {
    let now = 0;
    const gen = instantGenerator();
    const km = new KeyManager({ clock: () => new Date(now), generateKeyPair: gen.generate });
    await km.warm(2);
    const first = spkiHex(await km.acquire());
    now = 200_000; // the spares are older than half the maximum age: the next refill replaces them
    expect(spkiHex(await km.acquire())).toBe(first);
    await km.warm(2);
    now = 300_001;
    const second = await km.acquire();
    expect(spkiHex(second)).not.toBe(first);
    expect(km.stats().waits).toBe(0);
    km.close();
  });
});
