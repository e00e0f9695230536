import {
  DecryptCommand,
  DeriveSharedSecretCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateRandomCommand,
  KMS,
  type DataKeyPairSpec,
  type DataKeySpec,
} from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type AwsCredentials, InvalidArgumentError, type Nsm } from '@nitro-datakey/shared';
import type { TransportAddress } from '@nitro-datakey/native';
import { DataKeyCache, type DataKeyCacheOptions } from './data-key-cache.js';
import type { DataKey, DataKeyPair } from './data-key.js';

export type { DataKey, DataKeyPair } from './data-key.js';
import { AttestedKmsError, type AttestedKmsErrorCode } from '../errors.js';
import { attestationPlugin, type CallTiming, keyArnResolver } from './attestation-plugin.js';
import { KeyManager, type KeyManagerOptions } from './key-manager.js';
import { transportAgent } from './transport-agent.js';

export interface AttestedKmsClientOptions {
  /** The Nitro Secure Module (the device, or a simulator in tests). */
  readonly nsm: Nsm;
  readonly region: string;
  /** Where the SDK's connections go: the parent proxy's KMS route. */
  readonly transport: string | TransportAddress;
  /** The KMS endpoint the requests are addressed to. Default: https://kms.REGION.amazonaws.com. */
  readonly endpoint?: string;
  /** TLS server name. Default: the endpoint's hostname (set it for VPC endpoints). */
  readonly serverName?: string;
  /** Extra trusted CAs (PEM), e.g. the local KMS's. */
  readonly ca?: string | readonly string[];
  readonly credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  readonly keys?: KeyManager | KeyManagerOptions;
  /** Off unless given. */
  readonly dataKeyCache?: DataKeyCacheOptions;
  /** Deadline for a whole call, retries included. Default 10 s. */
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** SDK attempts (with its backoff for throttling and 5xx). Default 3. */
  readonly maxAttempts?: number;
  /**
   * The KMS keys this client may use: each name a caller may pass as KeyId (an alias, a key id, the
   * ARN itself) mapped to the full key ARN it must resolve to. The parent serves the credentials, so
   * it chooses the account: an alias or bare key id could name a key it owns. Without this option,
   * only full key ARNs are accepted; with it, only these. Every attested answer must name that ARN.
   */
  readonly allowedKeys?: Readonly<Record<string, string>>;
  /** Records where each call's time went (attest, key wait, KMS, CMS decrypt). */
  readonly onTiming?: (timing: CallTiming) => void;
  /** Told of every call when it ends: the operation, `ok` or the error code (and KMS's exception), how long it took. */
  readonly onCall?: (call: CallOutcome) => void;
}

/** How one call ended, for metrics: never its input or its answer. */
export interface CallOutcome {
  readonly operation: string;
  readonly outcome: 'ok' | AttestedKmsErrorCode;
  readonly kmsErrorName?: string;
  readonly ms: number;
}

type EncryptionContext = Readonly<Record<string, string>>;
/**
 * The real `@aws-sdk/client-kms`, always attested: a KMSClient with the attestation plugin, whose
 * connections dial the transport (vsock in production) and whose TLS ends inside the enclave. The
 * plugin does the attesting and every check of the answer; this class adds what a caller of the
 * enclave wants on top: one deadline over the whole call, typed errors, results as plain objects,
 * and an optional data-key cache.
 */
export class AttestedKmsClient {
  /**
   * The SDK client, with the attestation plugin: the aggregated `KMS` client (a KMSClient with a method
   * per operation), so libraries that want one, such as the AWS Encryption SDK's KmsKeyringNode, take it as it is.
   */
  readonly sdk: KMS;
  readonly keys: KeyManager;
  readonly #cache: DataKeyCache | undefined;
  readonly #ownsKeys: boolean;
  readonly #timeoutMs: number;
  readonly #expectedKeyArn: (keyId: string | undefined) => string;
  /** Aborted by close(): every call in flight stops waiting at once. */
  readonly #closing = new AbortController();
  /**
   * The deadline of each call in flight, aborted by close(). A set rather than one 'abort' listener
   * per call on #closing: any number of concurrent calls, and no MaxListenersExceededWarning.
   */
  readonly #inFlight = new Set<AbortController>();
  readonly #onCall: ((call: CallOutcome) => void) | undefined;

  constructor(options: AttestedKmsClientOptions) {
    const endpoint = options.endpoint ?? `https://kms.${options.region}.amazonaws.com`;
    const url = new URL(endpoint);
    if (url.protocol !== 'https:') throw new InvalidArgumentError('the KMS endpoint must be https: TLS ends inside the enclave');
    this.#expectedKeyArn = keyArnResolver(options.allowedKeys);
    this.#ownsKeys = !(options.keys instanceof KeyManager);
    this.keys = options.keys instanceof KeyManager ? options.keys : new KeyManager(options.keys);
    this.#cache = options.dataKeyCache ? new DataKeyCache(options.dataKeyCache) : undefined;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#onCall = options.onCall;
    const agent = transportAgent({
      transport: options.transport,
      serverName: options.serverName ?? url.hostname,
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
    this.sdk = new KMS({
      region: options.region,
      endpoint,
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: new NodeHttpHandler({
        httpsAgent: agent,
        requestTimeout: options.requestTimeoutMs ?? 10_000,
        connectionTimeout: options.connectTimeoutMs ?? 5_000,
      }),
    });
    this.sdk.middlewareStack.use(
      attestationPlugin({
        nsm: options.nsm,
        keys: this.keys,
        ...(options.allowedKeys ? { allowedKeys: options.allowedKeys } : {}),
        ...(options.onTiming ? { onTiming: options.onTiming } : {}),
      }),
    );
  }

  /** The key ARN every answer about `keyId` must name; refused before any call when it cannot be known. */
  expectedKeyArn(keyId: string | undefined): string {
    return this.#expectedKeyArn(keyId);
  }

  async generateDataKey(input: { KeyId: string; KeySpec?: DataKeySpec; NumberOfBytes?: number; EncryptionContext?: EncryptionContext }): Promise<DataKey> {
    const expected = this.expectedKeyArn(input.KeyId);
    const cached = this.#cache?.get(input);
    if (cached) return cached;
    const out = await this.#call('GenerateDataKey', (abortSignal) => this.sdk.send(new GenerateDataKeyCommand({ ...input }), { abortSignal }));
    const dataKey = { keyId: expected, plaintext: out.Plaintext as Uint8Array, ciphertextBlob: out.CiphertextBlob as Uint8Array };
    return this.#cache ? this.#cache.put(input, dataKey) : dataKey;
  }

  async generateDataKeyPair(input: { KeyId: string; KeyPairSpec: DataKeyPairSpec; EncryptionContext?: EncryptionContext }): Promise<DataKeyPair> {
    const expected = this.expectedKeyArn(input.KeyId);
    const out = await this.#call('GenerateDataKeyPair', (abortSignal) => this.sdk.send(new GenerateDataKeyPairCommand({ ...input }), { abortSignal }));
    return {
      keyId: expected,
      keyPairSpec: input.KeyPairSpec,
      privateKey: out.PrivateKeyPlaintext as Uint8Array,
      publicKey: out.PublicKey as Uint8Array,
      privateKeyCiphertextBlob: out.PrivateKeyCiphertextBlob as Uint8Array,
    };
  }

  /** Decrypt under the key the caller expects (KMS is told, and the answer must name it). */
  async decrypt(input: {
    CiphertextBlob: Uint8Array;
    EncryptionContext?: EncryptionContext;
    KeyId?: string;
  }): Promise<{ keyId: string; plaintext: Uint8Array }> {
    const expected = this.expectedKeyArn(input.KeyId);
    const out = await this.#call('Decrypt', (abortSignal) => this.sdk.send(new DecryptCommand({ ...input, KeyId: expected }), { abortSignal }));
    return { keyId: expected, plaintext: out.Plaintext as Uint8Array };
  }

  /** ECDH between a KMS key-agreement key and `PublicKey` (the other party's SPKI); the secret is opened in the enclave. */
  async deriveSharedSecret(input: { KeyId: string; PublicKey: Uint8Array }): Promise<{ keyId: string; sharedSecret: Uint8Array }> {
    const expected = this.expectedKeyArn(input.KeyId);
    const out = await this.#call('DeriveSharedSecret', (abortSignal) =>
      this.sdk.send(new DeriveSharedSecretCommand({ ...input, KeyAgreementAlgorithm: 'ECDH' }), { abortSignal }),
    );
    return { keyId: expected, sharedSecret: out.SharedSecret as Uint8Array };
  }

  async generateRandom(input: { NumberOfBytes: number }): Promise<Uint8Array> {
    const out = await this.#call('GenerateRandom', (abortSignal) => this.sdk.send(new GenerateRandomCommand({ ...input }), { abortSignal }));
    return out.Plaintext as Uint8Array;
  }

  close(): void {
    this.#closing.abort();
    for (const deadline of this.#inFlight) deadline.abort();
    this.#cache?.clear();
    if (this.#ownsKeys) this.keys.close();
    this.sdk.destroy();
  }

  /**
   * One deadline over the whole call: the key wait and the NSM (inside the plugin) and KMS with its
   * retries. A stuck NSM or an empty key pool cannot hold a caller past it, and close() releases
   * everyone at once. Errors leave as AttestedKmsError.
   */
  async #call<R>(operation: string, send: (signal: AbortSignal) => Promise<R>): Promise<R> {
    const started = performance.now();
    try {
      const result = await this.#deadlined(operation, send);
      this.#onCall?.({ operation, outcome: 'ok', ms: performance.now() - started });
      return result;
    } catch (e) {
      const error = e as AttestedKmsError;
      this.#onCall?.({ operation, outcome: error.code, ...(error.kmsErrorName ? { kmsErrorName: error.kmsErrorName } : {}), ms: performance.now() - started });
      throw e;
    }
  }

  async #deadlined<R>(operation: string, send: (signal: AbortSignal) => Promise<R>): Promise<R> {
    if (this.#closing.signal.aborted) throw new AttestedKmsError('ERR_KMS_CLIENT_CLOSED', `the client is closed: ${operation} refused`);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.#timeoutMs);
    this.#inFlight.add(deadline);
    const stopped = (cause?: unknown): AttestedKmsError =>
      this.#closing.signal.aborted
        ? new AttestedKmsError('ERR_KMS_CLIENT_CLOSED', `the client was closed during ${operation}`, { cause })
        : new AttestedKmsError('ERR_KMS_TIMEOUT', `no answer to ${operation} within ${this.#timeoutMs} ms`, { cause });
    try {
      return await untilAborted(send(deadline.signal), deadline.signal, stopped);
    } catch (e) {
      if (e instanceof AttestedKmsError) throw e;
      if (deadline.signal.aborted) throw stopped(e);
      throw mapSdkError(operation, e);
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(deadline);
    }
  }
}

/** `promise`, or a rejection from `error()` as soon as `signal` aborts (the promise itself runs on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, error: () => Error): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(error());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => undefined);
      reject(error());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const CONNECTION_CUT = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ENOTCONN', 'ECONNABORTED']);

function mapSdkError(operation: string, e: unknown): AttestedKmsError {
  const error = e as Error & { $metadata?: { httpStatusCode?: number }; code?: string };
  const name = error.name ?? 'Error';
  if (name === 'ThrottlingException')
    return new AttestedKmsError('ERR_KMS_THROTTLED', `KMS throttled ${operation} after the retries: ${error.message}`, { cause: e, kmsErrorName: name });
  // The SDK names a cut connection TimeoutError ("socket hang up", ECONNRESET): it is the transport
  // failing at once (a parent that closes the connection), not a deadline running out.
  if (error.code !== undefined && CONNECTION_CUT.has(error.code))
    return new AttestedKmsError('ERR_KMS_TRANSPORT', `the connection to KMS was cut during ${operation}: ${error.code}: ${error.message}`, { cause: e });
  if (name === 'TimeoutError' || error.code === 'ETIMEDOUT' || /timed? ?out/i.test(error.message ?? ''))
    return new AttestedKmsError('ERR_KMS_TIMEOUT', `no answer from KMS to ${operation} in time`, { cause: e });
  if (error.$metadata?.httpStatusCode !== undefined && error.$metadata.httpStatusCode > 0 && name !== 'Error') {
    return new AttestedKmsError('ERR_KMS_REQUEST_FAILED', `KMS refused ${operation}: ${name}: ${error.message}`, { cause: e, kmsErrorName: name });
  }
  return new AttestedKmsError('ERR_KMS_TRANSPORT', `the connection to KMS failed during ${operation}: ${error.code ?? name}: ${error.message}`, { cause: e });
}
