import { NsmClient, NsmError, type Nsm, type NsmTransport } from '@nitro-datakey/shared/nsm';
import { loadNativeAddon, type NativeAddon, type SystemError } from './addon.js';

export const NSM_DEVICE_PATH = '/dev/nsm';

/**
 * The real Nitro Secure Module: requests go to `/dev/nsm` through one ioctl, run on libuv's thread
 * pool. Outside an enclave there is no device and `open` fails with ERR_NSM_DEVICE_UNAVAILABLE.
 */
export class NsmDeviceTransport implements NsmTransport {
  readonly #addon: Pick<NativeAddon, 'nsmOpen' | 'nsmRequest' | 'nsmClose'>;
  #fd: number | undefined;
  /** ioctls queued on libuv's thread pool: the fd must outlive every one of them. */
  readonly #inflight = new Set<Promise<unknown>>();
  readonly path: string;

  private constructor(addon: Pick<NativeAddon, 'nsmOpen' | 'nsmRequest' | 'nsmClose'>, fd: number, path: string) {
    this.#addon = addon;
    this.#fd = fd;
    this.path = path;
  }

  /** Opens the device; `addon` is for tests that stand in for the kernel. */
  static open(path: string = NSM_DEVICE_PATH, nativeAddon?: Pick<NativeAddon, 'nsmOpen' | 'nsmRequest' | 'nsmClose'>): NsmDeviceTransport {
    let addon: Pick<NativeAddon, 'nsmOpen' | 'nsmRequest' | 'nsmClose'>;
    try {
      addon = nativeAddon ?? loadNativeAddon();
    } catch (cause) {
      throw new NsmError('ERR_NSM_DEVICE_UNAVAILABLE', `cannot reach the NSM: ${(cause as Error).message}`, { cause });
    }
    try {
      return new NsmDeviceTransport(addon, addon.nsmOpen(path), path);
    } catch (cause) {
      const code = (cause as SystemError).code;
      const hint = code === 'ENOENT' ? ': not running inside a Nitro Enclave? (elsewhere use the simulated NSM of @nitro-datakey/devkit)' : '';
      throw new NsmError('ERR_NSM_DEVICE_UNAVAILABLE', `cannot open the NSM device ${path} (${code ?? 'error'})${hint}`, { cause });
    }
  }

  async request(bytes: Uint8Array): Promise<Uint8Array> {
    if (this.#fd === undefined) throw new NsmError('ERR_NSM_DEVICE_UNAVAILABLE', `the NSM device ${this.path} is closed`);
    const call = this.#addon.nsmRequest(this.#fd, bytes);
    this.#inflight.add(call);
    try {
      return new Uint8Array(await call);
    } catch (cause) {
      const code = (cause as SystemError).code ?? 'error';
      throw new NsmError('ERR_NSM_DEVICE_IO', `the NSM device call failed (ioctl on ${this.path}: ${code})`, { cause });
    } finally {
      this.#inflight.delete(call);
    }
  }

  /**
   * Refuses new requests at once, and closes the fd only after every queued ioctl has returned:
   * closing it under a running ioctl would let the kernel hand the number to another file.
   */
  async close(): Promise<void> {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    await Promise.allSettled([...this.#inflight]);
    this.#addon.nsmClose(fd);
  }
}

/** An `Nsm` on the real device. */
export function openNsmDevice(path: string = NSM_DEVICE_PATH): Nsm {
  return new NsmClient(NsmDeviceTransport.open(path));
}
