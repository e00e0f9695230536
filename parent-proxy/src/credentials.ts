import type { Duplex } from 'node:stream';
import { type AwsCredentials, cachedCredentialsProvider, encodeCredentialsResponse, encodeCredentialsUnavailable } from '@nitro-datakey/shared/credentials';
import type { Logger } from '@nitro-datakey/shared/cli';

export type CredentialProvider = () => Promise<AwsCredentials>;

/** A credentials connection is closed after this long, whatever the caller or the chain does. */
const ANSWER_DEADLINE_MS = 10_000;

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

  /**
   * Answers one enclave connection and closes it: the answer is written, then the socket is destroyed,
   * so no caller can hold a credentials connection open. Every hand-out is logged with the peer and the
   * access key id (never the secret).
   */
  async serve(socket: Duplex, peer: string): Promise<void> {
    socket.on('error', () => undefined);
    socket.resume(); // the request carries nothing; drain whatever the client sends
    const deadline = setTimeout(() => socket.destroy(), ANSWER_DEADLINE_MS);
    deadline.unref();
    const finish = (text: string) => socket.end(text, () => socket.destroy());
    socket.once('close', () => clearTimeout(deadline));
    try {
      const credentials = await this.current();
      finish(encodeCredentialsResponse(credentials));
      this.#log('info', 'credentials handed out', { peer, accessKeyId: credentials.accessKeyId });
    } catch (e) {
      this.#log('error', 'credentials unavailable', { peer, error: (e as Error).name });
      finish(encodeCredentialsUnavailable());
    }
  }
}
