import type { Duplex } from 'node:stream';
import { type AwsCredentials, cachedCredentialsProvider, encodeCredentialsResponse, encodeCredentialsUnavailable } from '@nitro-datakey/shared';
import type { Logger } from '@nitro-datakey/shared/cli';

export type CredentialProvider = () => Promise<AwsCredentials>;

/**
 * Hands the enclave short-lived credentials from the parent's default provider chain, in the shared
 * credentials format: one JSON line per connection, then close. Credentials are cached and refreshed
 * before they expire; concurrent requests share one refresh. Nothing secret is ever logged.
 */
export class CredentialsService {
  readonly #current: () => Promise<AwsCredentials>;
  readonly #log: Logger;

  constructor(provider: CredentialProvider, log: Logger, clock: () => Date = () => new Date()) {
    this.#log = log;
    this.#current = cachedCredentialsProvider(provider, {
      clock,
      onRefresh: (c) => log('info', 'credentials refreshed', { expiration: c.expiration?.toISOString() ?? null }),
    });
  }

  current(): Promise<AwsCredentials> {
    return this.#current();
  }

  /** Answers one enclave connection. */
  async serve(socket: Duplex): Promise<void> {
    socket.on('error', () => undefined);
    socket.resume(); // the request carries nothing; drain whatever the client sends
    try {
      socket.end(encodeCredentialsResponse(await this.current()));
    } catch (e) {
      this.#log('error', 'credentials unavailable', { error: (e as Error).name });
      socket.end(encodeCredentialsUnavailable());
    }
  }
}
