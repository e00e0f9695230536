import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NsmError } from '@nitro-datakey/shared';
import { loadNativeAddon, NsmDeviceTransport, openNsmDevice } from '@nitro-datakey/native';

describe('the /dev/nsm device transport (native addon)', () => {
  it('the addon is built and exports the NSM calls', () => {
    const addon = loadNativeAddon();
    expect(typeof addon.nsmOpen).toBe('function');
    expect(typeof addon.nsmRequest).toBe('function');
    expect(typeof addon.nsmClose).toBe('function');
  });

  it.skipIf(existsSync('/dev/nsm'))('without /dev/nsm, opening fails with a typed error, not a crash', () => {
    const e = (() => {
      try {
        openNsmDevice();
      } catch (err) {
        return err;
      }
      throw new Error('expected a failure');
    })();
    expect(e).toBeInstanceOf(NsmError);
    expect((e as NsmError).code).toBe('ERR_NSM_DEVICE_UNAVAILABLE');
    expect((e as NsmError).message).toMatch(/ENOENT.*Nitro Enclave/);
  });

  it('a device that is not an NSM fails the ioctl with ERR_NSM_DEVICE_IO, and the transport closes', async () => {
    const transport = NsmDeviceTransport.open('/dev/null');
    await expect(transport.request(new Uint8Array([0x69, 0x47, 0x65, 0x74, 0x52, 0x61, 0x6e, 0x64, 0x6f, 0x6d]))).rejects.toMatchObject({
      code: 'ERR_NSM_DEVICE_IO',
    });
    await transport.close();
    await transport.close(); // idempotent
    await expect(transport.request(new Uint8Array([1]))).rejects.toMatchObject({ code: 'ERR_NSM_DEVICE_UNAVAILABLE' });
  });

  it('close() refuses new requests at once but closes the fd only after queued ioctls return', async () => {
    const events: string[] = [];
    let finish: (b: Buffer) => void = () => undefined;
    const fakeKernel = {
      nsmOpen: () => 42,
      nsmRequest: () =>
        new Promise<Buffer>((resolve) => {
          events.push('ioctl queued');
          finish = resolve;
        }),
      nsmClose: (fd: number) => events.push(`close ${fd}`),
    };
    const transport = NsmDeviceTransport.open('/dev/nsm-fake', fakeKernel);
    const pending = transport.request(new Uint8Array([0x60]));
    const closed = transport.close();
    await expect(transport.request(new Uint8Array([1]))).rejects.toMatchObject({ code: 'ERR_NSM_DEVICE_UNAVAILABLE' });
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(['ioctl queued']); // the fd is still open under the running ioctl
    finish(Buffer.from([0xa0]));
    await expect(pending).resolves.toEqual(new Uint8Array([0xa0]));
    await closed;
    expect(events).toEqual(['ioctl queued', 'close 42']);
  });

  it('the native layer refuses bad arguments with Node-style errors instead of crashing', () => {
    const addon = loadNativeAddon();
    expect(() => addon.nsmOpen('')).toThrow(TypeError);
    expect(() => addon.nsmRequest(-1, new Uint8Array(1))).toThrow(TypeError);
    const fd = addon.nsmOpen('/dev/null');
    try {
      expect(() => addon.nsmRequest(fd, new Uint8Array(0x1001))).toThrow(RangeError);
      expect(() => addon.nsmRequest(fd, new Uint8Array(0))).toThrow(RangeError);
    } finally {
      addon.nsmClose(fd);
    }
    expect(() => addon.nsmClose(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
