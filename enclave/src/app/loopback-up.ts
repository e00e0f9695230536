import { bringUpLoopback } from '@nitro-datakey/native';
import type { Logger } from '@nitro-datakey/shared/cli';

/**
 * A Nitro Enclave boots with lo down, and the gateway (and the workload's own servers) need it. This
 * is done here rather than with iproute2 in the image: no apt install, no PCR2 drift. Where lo is up
 * already (anywhere but a fresh enclave) this changes nothing and needs no privilege.
 */
export function loopbackUp(log: Logger): void {
  try {
    if (bringUpLoopback()) log('info', 'loopback interface brought up');
  } catch (e) {
    // Not fatal by itself: a gateway on loopback then fails to listen, with its own error.
    log('warn', 'cannot bring up the loopback interface', { error: (e as Error).message });
  }
}
