import type { TransportAddress } from '@nitro-datakey/native';
import {
  type AwsCredentials,
  cachedCredentialsProvider,
  CREDENTIALS_MAX_RESPONSE_BYTES,
  CredentialsError,
  parseCredentialsResponse,
} from '@nitro-datakey/shared';
import { exchangeWithParent } from './parent-exchange.js';

export interface ParentCredentialsOptions {
  /** Where the parent proxy serves credentials, e.g. `vsock:3:8002`. */
  readonly address: string | TransportAddress;
  /** Fetch new credentials this long before the current ones expire. Default 5 minutes. */
  readonly refreshMarginMs?: number;
  readonly timeoutMs?: number;
  readonly clock?: () => Date;
}

/**
 * Credentials from the parent instance's credentials route: fetched on first use, cached, and
 * fetched again before they expire; concurrent callers share one fetch. Usable as the AWS SDK's
 * `credentials` option.
 *
 * @example
 * ```ts
 * const kms = new KMSClient({ credentials: parentCredentialsProvider({ address: 'vsock:3:8002' }) });
 * ```
 */
export function parentCredentialsProvider(options: ParentCredentialsOptions): () => Promise<AwsCredentials> {
  return cachedCredentialsProvider(() => fetchParentCredentials(options.address, options.timeoutMs ?? 5_000), {
    ...(options.refreshMarginMs !== undefined ? { refreshMarginMs: options.refreshMarginMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

/** One request to the credentials route: connect, read one JSON object until the parent closes. */
export async function fetchParentCredentials(address: string | TransportAddress, timeoutMs = 5_000): Promise<AwsCredentials> {
  const text = await exchangeWithParent(address, '', { maxBytes: CREDENTIALS_MAX_RESPONSE_BYTES, timeoutMs }, ({ stage, reason, cause }) =>
    stage === 'connect'
      ? new CredentialsError('ERR_CREDENTIALS_UNAVAILABLE', `cannot reach the parent's credentials route: ${reason}`, { cause })
      : reason === 'closed without an answer'
        ? new CredentialsError('ERR_CREDENTIALS_UNAVAILABLE', 'the credentials route closed the connection without an answer')
        : new CredentialsError('ERR_CREDENTIALS_UNAVAILABLE', `the credentials route failed: ${reason}`, { cause }),
  );
  return parseCredentialsResponse(text);
}
