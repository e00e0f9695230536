import { loadNativeAddon } from './addon.js';

/**
 * Brings the loopback interface up, as `ip link set dev lo up` does (the kernel then assigns
 * 127.0.0.1/8 itself). A Nitro Enclave boots with lo down; the gateway listens on it. Returns true if
 * it was down. Needs CAP_NET_ADMIN only when it has to change something.
 *
 * @example
 * ```ts
 * if (bringUpLoopback()) log('info', 'loopback brought up');
 * ```
 */
export function bringUpLoopback(): boolean {
  return loadNativeAddon().loopbackUp();
}
