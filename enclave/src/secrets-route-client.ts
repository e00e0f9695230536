import type { TransportAddress } from '@nitro-datakey/native';
import { encodeSecretRequest, parseSecretAnswer, type SealedSecret, SECRETS_ROUTE_MAX_RESPONSE_BYTES, SecretsRouteError } from '@nitro-datakey/shared';
import { exchangeWithParent } from './parent-exchange.js';

/**
 * Asks the parent's secrets route for the envelope of the secret `name`. What comes back is only a
 * candidate: ciphertext the parent stored, which the enclave opens through KMS and holds to its config
 * (key, name, version) before it believes a byte of it.
 */
export async function fetchSecretEnvelope(address: string | TransportAddress, name: string, timeoutMs = 5_000): Promise<SealedSecret> {
  const text = await exchangeWithParent(
    address,
    encodeSecretRequest(name),
    { maxBytes: SECRETS_ROUTE_MAX_RESPONSE_BYTES, timeoutMs },
    ({ stage, reason, cause }) =>
      stage === 'connect'
        ? new SecretsRouteError('ERR_SECRETS_ROUTE_UNAVAILABLE', `cannot reach the parent's secrets route for ${name}: ${reason}`, { cause })
        : reason === 'ERR_TOO_LARGE'
          ? new SecretsRouteError(
              'ERR_SECRETS_ROUTE_MALFORMED',
              `the secrets route answered for ${name} with more than ${SECRETS_ROUTE_MAX_RESPONSE_BYTES} bytes`,
            )
          : new SecretsRouteError('ERR_SECRETS_ROUTE_UNAVAILABLE', `the secrets route failed for ${name}: ${reason}`, { cause }),
  );
  return parseSecretAnswer(text, name);
}
