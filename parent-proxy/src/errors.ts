import { InvalidArgumentError } from '@nitro-datakey/shared/errors';

/**
 * A configuration the proxy refuses to start with; the message names the key and, from a file, the
 * line. The proxy's only error of its own: transport errors come from @nitro-datakey/native.
 */
export class ProxyConfigError extends InvalidArgumentError {
  declare readonly code: 'ERR_PROXY_CONFIG';

  constructor(message: string) {
    super(message, undefined, 'ERR_PROXY_CONFIG');
  }
}
