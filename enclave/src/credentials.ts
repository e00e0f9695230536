import { NitroDatakeyError } from '@nitro-datakey/shared';
import { connectTo } from './transport/net.js';
import type { TransportAddress } from './transport/address.js';

/** The AWS SDK's credential identity shape; `parentCredentialsProvider()` returns a provider of it. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export class CredentialsError extends NitroDatakeyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CREDENTIALS_UNAVAILABLE', message, options);
  }
}

export interface ParentCredentialsOptions {
  /** Where the parent proxy serves credentials, e.g. `vsock:3:8002`. */
  readonly address: string | TransportAddress;
  /** Fetch new credentials this long before the current ones expire. Default 5 minutes. */
  readonly refreshMarginMs?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

const MAX_RESPONSE = 16 * 1024;

/**
 * Credentials from the parent instance's credentials route: fetched on first use, cached, and
 * fetched again before they expire; concurrent callers share one fetch. Usable as the AWS SDK's
 * `credentials` option.
 */
export function parentCredentialsProvider(options: ParentCredentialsOptions): () => Promise<AwsCredentials> {
  const margin = options.refreshMarginMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  let cached: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;
  return async () => {
    if (cached && (cached.expiration === undefined || cached.expiration.getTime() - margin > now())) return cached;
    inflight ??= fetchParentCredentials(options.address, options.timeoutMs ?? 5_000)
      .then((c) => {
        cached = c;
        return c;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

/** One request to the credentials route: connect, read one JSON object until the parent closes. */
export async function fetchParentCredentials(address: string | TransportAddress, timeoutMs = 5_000): Promise<AwsCredentials> {
  let socket;
  try {
    socket = await connectTo(address, { timeoutMs });
  } catch (cause) {
    throw new CredentialsError(`cannot reach the parent's credentials route: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_RESPONSE) socket.destroy(Object.assign(new Error('response too large'), { code: 'ERR_TOO_LARGE' }));
      else chunks.push(d);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
      socket.destroy();
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new CredentialsError(`the credentials route failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e }));
    });
    socket.end();
  });
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CredentialsError('the credentials route answered with something that is not JSON');
  }
  if (typeof body['Error'] === 'string') throw new CredentialsError(`the parent has no credentials: ${String(body['Message'] ?? body['Error'])}`);
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = body;
  if (typeof AccessKeyId !== 'string' || typeof SecretAccessKey !== 'string' || (SessionToken !== undefined && typeof SessionToken !== 'string')) {
    throw new CredentialsError('the credentials route answered without AccessKeyId and SecretAccessKey');
  }
  const expiration = typeof Expiration === 'string' ? new Date(Expiration) : undefined;
  if (expiration && Number.isNaN(expiration.getTime())) throw new CredentialsError('the credentials route sent an invalid Expiration');
  return { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, ...(SessionToken ? { sessionToken: SessionToken } : {}), ...(expiration ? { expiration } : {}) };
}
