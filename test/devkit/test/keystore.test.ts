import { describe, expect, it } from 'vitest';
import { KeyStore } from '@nitro-datakey/devkit';

/** A write the test lets through (or fails) when it decides. */
function gatedWrite() {
  let release: (ok: boolean) => void = () => undefined;
  let writes = 0;
  return {
    writeState: () => {
      writes++;
      return new Promise<void>((resolve, reject) => {
        release = (ok) => (ok ? resolve() : reject(new Error('disk full')));
      });
    },
    release: (ok: boolean) => release(ok),
    writes: () => writes,
  };
}
const tick = () => new Promise((r) => setTimeout(r, 10));

describe('the local KMS key store: durable before visible', () => {
  it('shows a change only once it is written', async () => {
    const gate = gatedWrite();
    const store = await KeyStore.open(undefined, { writeState: gate.writeState });
    const key = store.newKey('{}', 'a key', 0);
    const pending = store.commit(() => store.keys.set(key.keyId, key));
    await tick();
    expect(gate.writes()).toBe(1);
    expect(store.keys.has(key.keyId)).toBe(false); // not acknowledged, so not visible to other requests
    gate.release(true);
    await pending;
    expect(store.keys.get(key.keyId)?.description).toBe('a key');
  });

  it('leaves the old state, which nobody saw change, when the write fails', async () => {
    const gate = gatedWrite();
    const store = await KeyStore.open(undefined, { writeState: gate.writeState });
    const key = store.newKey('{}', 'before', 0);
    const first = store.commit(() => store.keys.set(key.keyId, key));
    await tick();
    gate.release(true);
    await first;
    const held = store.keys.get(key.keyId); // a request holding the key it looked up
    const failing = store.commit(() => {
      (store.keys.get(key.keyId) as { description: string }).description = 'after';
    });
    await tick();
    expect(held?.description).toBe('before');
    gate.release(false);
    await expect(failing).rejects.toThrow('disk full');
    expect(store.keys.get(key.keyId)?.description).toBe('before');
    // A later change that succeeds reaches the object the request still holds.
    const later = store.commit(() => {
      (store.keys.get(key.keyId) as { description: string }).description = 'later';
    });
    await tick();
    gate.release(true);
    await later;
    expect(held?.description).toBe('later');
    expect(held).toBe(store.keys.get(key.keyId));
  });
});
