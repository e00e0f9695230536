import { NsmClient, NsmError, type Nsm, type NsmTransport } from '@nitro-datakey/shared';
import { loadNativeAddon, type NativeAddon, type SystemError } from './addon.js';

export const NSM_DEVICE_PATH = '/dev/nsm';

/**
 * The real Nitro Secure Module: requests go to `/dev/nsm` through one ioctl, run on libuv's thread
 * pool. Outside an enclave there is no device and `open` fails with ERR_NSM_DEVICE_UNAVAILABLE.
 */
export class NsmDeviceTransport implements NsmTransport {
  readonly #addon: NativeAddon;
  #fd: number | undefined;
  readonly path: string;

  private constructor(addon: NativeAddon, fd: number, path: string) {
    this.#addon = addon;
    this.#fd = fd;
    this.path = path;
  }

  static open(path: string = NSM_DEVICE_PATH): NsmDeviceTransport {
    let addon: NativeAddon;
    try {
      addon = loadNativeAddon();
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
    try {
      return new Uint8Array(await this.#addon.nsmRequest(this.#fd, bytes));
    } catch (cause) {
      const code = (cause as SystemError).code ?? 'error';
      throw new NsmError('ERR_NSM_DEVICE_IO', `the NSM device call failed (ioctl on ${this.path}: ${code})`, { cause });
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    this.#addon.nsmClose(fd);
  }
}

/** An `Nsm` on the real device. */
export function openNsmDevice(path: string = NSM_DEVICE_PATH): Nsm {
  return new NsmClient(NsmDeviceTransport.open(path));
}
