import { connectTo, type TransportAddress } from '@nitro-datakey/native';
import {
  type AwsCredentials,
  cachedCredentialsProvider,
  CREDENTIALS_MAX_RESPONSE_BYTES,
  CredentialsError,
  parseCredentialsResponse,
} from '@nitro-datakey/shared';

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
  let socket: Awaited<ReturnType<typeof connectTo>>;
  try {
    socket = await connectTo(address, { timeoutMs });
  } catch (cause) {
    throw new CredentialsError(
      'ERR_CREDENTIALS_UNAVAILABLE',
      `cannot reach the parent's credentials route: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
      { cause },
    );
  }
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.on('data', (d: Buffer) => {
      size += d.length;
      if (size > CREDENTIALS_MAX_RESPONSE_BYTES) socket.destroy(Object.assign(new Error('response too large'), { code: 'ERR_TOO_LARGE' }));
      else chunks.push(d);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
      socket.destroy();
    });
    // A connection that closes without an orderly end or an error (cut by the parent) fails at once,
    // not when the timer runs out. After 'end' or 'error' this settles nothing: the promise is settled.
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new CredentialsError('ERR_CREDENTIALS_UNAVAILABLE', 'the credentials route closed the connection without an answer'));
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(
        new CredentialsError('ERR_CREDENTIALS_UNAVAILABLE', `the credentials route failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e }),
      );
    });
    socket.end();
  });
  return parseCredentialsResponse(text);
}
