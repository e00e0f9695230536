import type { Duplex } from 'node:stream';
import type { Logger } from './log.js';

/** What the instance's credential chain yields (the AWS SDK's AwsCredentialIdentity shape). */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export type CredentialProvider = () => Promise<Credentials>;

/** Refresh this long before expiry, so the enclave never receives credentials about to lapse. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Hands the enclave short-lived credentials from the parent's default provider chain: one JSON
 * object per connection (`{"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}`), then
 * close. Credentials are cached and refreshed before they expire; concurrent requests share one
 * refresh. Nothing about them is ever logged.
 */
export class CredentialsService {
  readonly #provider: CredentialProvider;
  readonly #log: Logger;
  readonly #now: () => number;
  #cached: Credentials | undefined;
  #refreshing: Promise<Credentials> | undefined;

  constructor(provider: CredentialProvider, log: Logger, now: () => number = Date.now) {
    this.#provider = provider;
    this.#log = log;
    this.#now = now;
  }

  async current(): Promise<Credentials> {
    const cached = this.#cached;
    if (cached && (cached.expiration === undefined || cached.expiration.getTime() - REFRESH_MARGIN_MS > this.#now())) return cached;
    this.#refreshing ??= this.#provider()
      .then((c) => {
        this.#cached = c;
        this.#log('info', 'credentials refreshed', { expiration: c.expiration?.toISOString() ?? null });
        return c;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** Answers one enclave connection. */
  async serve(socket: Duplex): Promise<void> {
    socket.on('error', () => undefined);
    socket.resume(); // the request carries nothing; drain whatever the client sends
    try {
      const c = await this.current();
      socket.end(
        `${JSON.stringify({
          AccessKeyId: c.accessKeyId,
          SecretAccessKey: c.secretAccessKey,
          ...(c.sessionToken ? { SessionToken: c.sessionToken } : {}),
          Expiration: c.expiration?.toISOString() ?? null,
        })}\n`,
      );
    } catch (e) {
      this.#log('error', 'credentials unavailable', { error: (e as Error).name });
      socket.end(`${JSON.stringify({ Error: 'CredentialsUnavailable', Message: 'the parent instance has no AWS credentials to hand out' })}\n`);
    }
  }
}
