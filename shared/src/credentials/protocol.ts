import { NitroDatakeyError } from '../errors.js';

/*
 * The credentials route between the parent and the enclave: the enclave connects, the parent writes
 * one JSON object and a newline, then closes. Both ends use this module, so the format is written
 * once: `{"AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration": ISO-8601 | null}` or
 * `{"Error", "Message"}` when the parent has nothing to hand out.
 */

/** The AWS SDK's credential identity shape (usable as its `credentials` option). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export type CredentialsErrorCode =
  /** The route could not be reached, or the parent has no credentials. */
  | 'ERR_CREDENTIALS_UNAVAILABLE'
  /** The answer is not the route's format. */
  | 'ERR_CREDENTIALS_MALFORMED';

export class CredentialsError extends NitroDatakeyError {
  declare readonly code: CredentialsErrorCode;

  constructor(code: CredentialsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** An answer larger than this is not credentials: the reader stops. */
export const CREDENTIALS_MAX_RESPONSE_BYTES = 16 * 1024;

/** The parent's answer: one JSON line. */
export function encodeCredentialsResponse(credentials: AwsCredentials): string {
  return `${JSON.stringify({
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { SessionToken: credentials.sessionToken } : {}),
    Expiration: credentials.expiration?.toISOString() ?? null,
  })}\n`;
}

/** The parent's answer when its own credential chain failed. */
export function encodeCredentialsUnavailable(): string {
  return `${JSON.stringify({ Error: 'CredentialsUnavailable', Message: 'the parent instance has no AWS credentials to hand out' })}\n`;
}

/** Strict reading of the parent's answer. */
export function parseCredentialsResponse(text: string): AwsCredentials {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CredentialsError('ERR_CREDENTIALS_MALFORMED', 'the credentials route answered with something that is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CredentialsError('ERR_CREDENTIALS_MALFORMED', 'the credentials route answered with something that is not a JSON object');
  }
  const b = body as Record<string, unknown>;
  if (typeof b['Error'] === 'string') {
    throw new CredentialsError('ERR_CREDENTIALS_UNAVAILABLE', `the parent has no credentials: ${String(b['Message'] ?? b['Error'])}`);
  }
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = b;
  if (typeof AccessKeyId !== 'string' || AccessKeyId === '' || typeof SecretAccessKey !== 'string' || SecretAccessKey === '') {
    throw new CredentialsError('ERR_CREDENTIALS_MALFORMED', 'the credentials route answered without AccessKeyId and SecretAccessKey');
  }
  if (SessionToken !== undefined && typeof SessionToken !== 'string') throw new CredentialsError('ERR_CREDENTIALS_MALFORMED', 'SessionToken must be a string');
  if (Expiration !== undefined && Expiration !== null && typeof Expiration !== 'string')
    throw new CredentialsError('ERR_CREDENTIALS_MALFORMED', 'Expiration must be a string');
  const expiration = typeof Expiration === 'string' ? new Date(Expiration) : undefined;
  if (expiration && Number.isNaN(expiration.getTime()))
    throw new CredentialsError('ERR_CREDENTIALS_MALFORMED', 'the credentials route sent an invalid Expiration');
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    ...(SessionToken ? { sessionToken: SessionToken } : {}),
    ...(expiration ? { expiration } : {}),
  };
}

/** Refresh this long before expiry by default, so nobody is handed credentials about to lapse. */
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

export interface CachedCredentialsOptions {
  /** Fetch new credentials this long before the current ones expire. Default 5 minutes. */
  readonly refreshMarginMs?: number;
  readonly clock?: () => Date;
  /** Called with each fresh set (for a log line; never log the secret). */
  readonly onRefresh?: (credentials: AwsCredentials) => void;
}

/**
 * Wraps a fetch of credentials in a cache: fetched on first use, reused until `refreshMarginMs`
 * before they expire, and concurrent callers share one fetch. A failed fetch is not cached.
 * Both ends use it: the parent over its chain, the enclave over the route.
 */
export function cachedCredentialsProvider(fetch: () => Promise<AwsCredentials>, options: CachedCredentialsOptions = {}): () => Promise<AwsCredentials> {
  const margin = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
  const clock = options.clock ?? (() => new Date());
  let cached: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;
  return async () => {
    if (cached && (cached.expiration === undefined || cached.expiration.getTime() - margin > clock().getTime())) return cached;
    inflight ??= fetch()
      .then((c) => {
        cached = c;
        options.onRefresh?.(c);
        return c;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}
