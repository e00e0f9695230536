import { NitroDatakeyError } from '@nitro-datakey/shared';

/** A configuration the proxy refuses to start with. The message names the key and, from a file, the line. */
export class ProxyConfigError extends NitroDatakeyError {
  constructor(message: string) {
    super('ERR_PROXY_CONFIG', message);
  }
}
