import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateRandomCommand,
  KMSClient,
  type DataKeyPairSpec,
  type DataKeySpec,
  type RecipientInfo,
} from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type AwsCredentials, CmsError, decryptCiphertextForRecipient, InvalidArgumentError, isKeyArn, type Nsm } from '@nitro-datakey/shared';
import type { TransportAddress } from '@nitro-datakey/native';
import { DataKeyCache, type DataKeyCacheOptions } from './data-key-cache.js';
import { AttestedKmsError } from '../errors.js';
import { KeyManager, type KeyManagerOptions, type RecipientKey } from './key-manager.js';
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
}

export interface CallTiming {
  readonly operation: string;
  readonly keyWaitMs: number;
  readonly attestMs: number;
  readonly kmsMs: number;
  readonly decryptMs: number;
}

export interface DataKey {
  readonly keyId: string;
  /** The data key; zero it when done. */
  readonly plaintext: Uint8Array;
  readonly ciphertextBlob: Uint8Array;
}

export interface DataKeyPair {
  readonly keyId: string;
  readonly keyPairSpec: string;
  /** PKCS#8 DER private key; zero it when done. */
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly privateKeyCiphertextBlob: Uint8Array;
}

type EncryptionContext = Readonly<Record<string, string>>;
const PLAINTEXT_FIELDS = ['Plaintext', 'PrivateKeyPlaintext'] as const;

/**
 * The real `@aws-sdk/client-kms`, always attested. Each call takes a fresh RSA key pair (by
 * policy), asks the NSM for a document with a fresh nonce carrying its public key, sends it as
 * `Recipient`, and opens `CiphertextForRecipient` with the private key. A response with any plaintext
 * field is refused and discarded; so is one without CiphertextForRecipient or addressed to another key.
 */
export class AttestedKmsClient {
  readonly sdk: KMSClient;
  readonly keys: KeyManager;
  readonly #nsm: Nsm;
  readonly #cache: DataKeyCache | undefined;
  readonly #onTiming: ((t: CallTiming) => void) | undefined;
  readonly #ownsKeys: boolean;
  readonly #timeoutMs: number;
  readonly #allowedKeys: ReadonlyMap<string, string> | undefined;
  /** Aborted by close(): every call in flight stops waiting at once. */
  readonly #closing = new AbortController();

  constructor(options: AttestedKmsClientOptions) {
    const endpoint = options.endpoint ?? `https://kms.${options.region}.amazonaws.com`;
    const url = new URL(endpoint);
    if (url.protocol !== 'https:') throw new InvalidArgumentError('the KMS endpoint must be https: TLS ends inside the enclave');
    this.#nsm = options.nsm;
    this.#ownsKeys = !(options.keys instanceof KeyManager);
    this.keys = options.keys instanceof KeyManager ? options.keys : new KeyManager(options.keys);
    this.#cache = options.dataKeyCache ? new DataKeyCache(options.dataKeyCache) : undefined;
    this.#onTiming = options.onTiming;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
    if (options.allowedKeys) {
      const allowed = new Map<string, string>();
      for (const [name, arn] of Object.entries(options.allowedKeys)) {
        if (!isKeyArn(arn)) throw new InvalidArgumentError(`allowedKeys[${JSON.stringify(name)}] must be a full KMS key ARN, got ${JSON.stringify(arn)}`);
        allowed.set(name, arn);
        allowed.set(arn, arn);
      }
      this.#allowedKeys = allowed;
    }
    const agent = transportAgent({
      transport: options.transport,
      serverName: options.serverName ?? url.hostname,
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
    this.sdk = new KMSClient({
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
  }

  /**
   * The key ARN every answer about `keyId` must name; refused before any call when it cannot be known
   * from the client's own configuration.
   */
  expectedKeyArn(keyId: string | undefined): string {
    if (keyId === undefined) {
      const arns = new Set(this.#allowedKeys?.values() ?? []);
      if (arns.size === 1) return [...arns][0] as string;
      throw new AttestedKmsError('ERR_KMS_WRONG_KEY', 'give the KeyId this call expects: without it, the ciphertext alone would choose the key');
    }
    if (this.#allowedKeys) {
      const arn = this.#allowedKeys.get(keyId);
      if (arn === undefined) throw new AttestedKmsError('ERR_KMS_WRONG_KEY', `KeyId ${keyId} is not one of the keys this client may use (allowedKeys)`);
      return arn;
    }
    if (isKeyArn(keyId)) return keyId;
    throw new AttestedKmsError(
      'ERR_KMS_WRONG_KEY',
      `KeyId ${keyId} is not a full key ARN and no ARN is configured for it (allowedKeys): ` +
        'the parent serves the credentials, so an alias or key id could name a key in its own account',
    );
  }

  async generateDataKey(input: { KeyId: string; KeySpec?: DataKeySpec; NumberOfBytes?: number; EncryptionContext?: EncryptionContext }): Promise<DataKey> {
    const expected = this.expectedKeyArn(input.KeyId);
    const cached = this.#cache?.get(input);
    if (cached) return cached;
    const result = await this.#attested('GenerateDataKey', async (Recipient, abortSignal) =>
      this.sdk.send(new GenerateDataKeyCommand({ ...input, Recipient }), { abortSignal }),
    );
    const size = input.NumberOfBytes ?? (input.KeySpec === 'AES_128' ? 16 : 32);
    const dataKey = checked(result.plaintext, () => {
      checkKeyId('GenerateDataKey', result.response.KeyId, expected);
      if (result.plaintext.byteLength !== size)
        badResponse(`GenerateDataKey returned a ${result.plaintext.byteLength}-byte data key, not the ${size} bytes asked for`);
      return { keyId: expected, plaintext: result.plaintext, ciphertextBlob: required(result.response.CiphertextBlob, 'CiphertextBlob') };
    });
    return this.#cache ? this.#cache.put(input, dataKey) : dataKey;
  }

  async generateDataKeyPair(input: { KeyId: string; KeyPairSpec: DataKeyPairSpec; EncryptionContext?: EncryptionContext }): Promise<DataKeyPair> {
    const expected = this.expectedKeyArn(input.KeyId);
    const result = await this.#attested('GenerateDataKeyPair', async (Recipient, abortSignal) =>
      this.sdk.send(new GenerateDataKeyPairCommand({ ...input, Recipient }), { abortSignal }),
    );
    return checked(result.plaintext, () => {
      checkKeyId('GenerateDataKeyPair', result.response.KeyId, expected);
      if (result.response.KeyPairSpec !== input.KeyPairSpec)
        badResponse(`GenerateDataKeyPair returned a ${String(result.response.KeyPairSpec)} pair, not ${input.KeyPairSpec}`);
      const publicKey = required(result.response.PublicKey, 'PublicKey');
      checkKeyPair(result.plaintext, publicKey);
      return {
        keyId: expected,
        keyPairSpec: input.KeyPairSpec,
        privateKey: result.plaintext,
        publicKey,
        privateKeyCiphertextBlob: required(result.response.PrivateKeyCiphertextBlob, 'PrivateKeyCiphertextBlob'),
      };
    });
  }

  /** Decrypt under the key the caller expects (KMS is told, and the answer must name it). */
  async decrypt(input: {
    CiphertextBlob: Uint8Array;
    EncryptionContext?: EncryptionContext;
    KeyId?: string;
  }): Promise<{ keyId: string; plaintext: Uint8Array }> {
    const expected = this.expectedKeyArn(input.KeyId);
    const result = await this.#attested('Decrypt', async (Recipient, abortSignal) =>
      this.sdk.send(new DecryptCommand({ ...input, KeyId: expected, Recipient }), { abortSignal }),
    );
    return checked(result.plaintext, () => {
      checkKeyId('Decrypt', result.response.KeyId, expected);
      return { keyId: expected, plaintext: result.plaintext };
    });
  }

  async generateRandom(input: { NumberOfBytes: number }): Promise<Uint8Array> {
    const { plaintext } = await this.#attested('GenerateRandom', async (Recipient, abortSignal) =>
      this.sdk.send(new GenerateRandomCommand({ ...input, Recipient }), { abortSignal }),
    );
    return checked(plaintext, () => {
      if (plaintext.byteLength !== input.NumberOfBytes)
        badResponse(`GenerateRandom returned ${plaintext.byteLength} bytes, not the ${input.NumberOfBytes} asked for`);
      return plaintext;
    });
  }

  close(): void {
    this.#closing.abort();
    this.#cache?.clear();
    if (this.#ownsKeys) this.keys.close();
    this.sdk.destroy();
  }

  async #attested<R extends object>(
    operation: string,
    send: (recipient: RecipientInfo, signal: AbortSignal) => Promise<R>,
  ): Promise<{ response: R; plaintext: Uint8Array }> {
    if (this.#closing.signal.aborted) throw new AttestedKmsError('ERR_KMS_CLIENT_CLOSED', `the client is closed: ${operation} refused`);
    // One deadline over the whole call: the key wait, the NSM, and KMS with its retries. A stuck NSM
    // or an empty key pool cannot hold a caller past it, and close() releases everyone at once.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.#timeoutMs);
    const onClose = () => deadline.abort();
    this.#closing.signal.addEventListener('abort', onClose, { once: true });
    const stopped = (cause?: unknown): AttestedKmsError =>
      this.#closing.signal.aborted
        ? new AttestedKmsError('ERR_KMS_CLIENT_CLOSED', `the client was closed during ${operation}`, { cause })
        : new AttestedKmsError('ERR_KMS_TIMEOUT', `no answer to ${operation} within ${this.#timeoutMs} ms`, { cause });
    try {
      const t0 = performance.now();
      const key: RecipientKey = await untilAborted(this.keys.acquire(), deadline.signal, stopped);
      const t1 = performance.now();
      const document = await untilAborted(this.#nsm.attest({ publicKey: key.spki, nonce: new Uint8Array(randomBytes(32)) }), deadline.signal, stopped);
      const t2 = performance.now();
      let response: R;
      try {
        response = await send({ KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: document }, deadline.signal);
      } catch (e) {
        if (deadline.signal.aborted) throw stopped(e);
        throw mapSdkError(operation, e);
      }
      return this.#open(operation, response, key, { t0, t1, t2 });
    } finally {
      clearTimeout(timer);
      this.#closing.signal.removeEventListener('abort', onClose);
    }
  }

  #open<R extends object>(
    operation: string,
    response: R,
    key: RecipientKey,
    t: { t0: number; t1: number; t2: number },
  ): { response: R; plaintext: Uint8Array } {
    const { t0, t1, t2 } = t;
    const t3 = performance.now();
    const fields = response as Record<string, unknown>;
    // AWS documents the plaintext field beside CiphertextForRecipient as "null or empty": zero bytes is
    // absence (the SDK turns "" into an empty array); any byte at all is plaintext on the wire.
    const leaked = PLAINTEXT_FIELDS.filter(
      (f) => fields[f] !== undefined && fields[f] !== null && !(fields[f] instanceof Uint8Array && fields[f].byteLength === 0),
    );
    if (leaked.length > 0) {
      // Whatever it carried is discarded; a KMS (or anything posing as one) that sends plaintext is not trusted.
      for (const f of leaked) if (fields[f] instanceof Uint8Array) (fields[f] as Uint8Array).fill(0);
      throw new AttestedKmsError(
        'ERR_KMS_PLAINTEXT_IN_RESPONSE',
        `KMS answered an attested ${operation} with ${leaked.join(' and ')}: refused, the response is discarded`,
      );
    }
    const forRecipient = fields['CiphertextForRecipient'];
    if (!(forRecipient instanceof Uint8Array) || forRecipient.byteLength === 0) {
      throw new AttestedKmsError('ERR_KMS_NO_CIPHERTEXT_FOR_RECIPIENT', `KMS answered an attested ${operation} without CiphertextForRecipient`);
    }
    let plaintext: Uint8Array;
    try {
      plaintext = decryptCiphertextForRecipient(forRecipient, key.privateKey, { publicKey: key.spki });
    } catch (e) {
      if (e instanceof CmsError)
        throw new AttestedKmsError('ERR_KMS_RECIPIENT_MISMATCH', `CiphertextForRecipient of ${operation} cannot be opened with this call's key (${e.code})`, {
          cause: e,
        });
      throw e;
    }
    this.#onTiming?.({ operation, keyWaitMs: t1 - t0, attestMs: t2 - t1, kmsMs: t3 - t2, decryptMs: performance.now() - t3 });
    return { response, plaintext };
  }
}

/** `promise`, or a rejection from `error()` as soon as `signal` aborts (the promise itself runs on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, error: () => Error): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(error());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(error());
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

function required(value: Uint8Array | undefined, name: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength === 0) badResponse(`KMS answered without ${name}`);
  return value;
}

function badResponse(message: string): never {
  throw new AttestedKmsError('ERR_KMS_BAD_RESPONSE', `${message}: refused, the answer is discarded`);
}

/** Runs the checks of an answer; if any fails, the key material it carried is zeroed before the error leaves. */
function checked<T>(plaintext: Uint8Array, check: () => T): T {
  try {
    return check();
  } catch (e) {
    plaintext.fill(0);
    throw e;
  }
}

function checkKeyId(operation: string, answered: string | undefined, expected: string): void {
  if (answered !== expected) {
    throw new AttestedKmsError(
      'ERR_KMS_WRONG_KEY',
      answered === undefined ? `KMS answered ${operation} without a KeyId` : `KMS answered ${operation} for ${answered}, not the expected ${expected}`,
    );
  }
}

/** CMS has no integrity of its own: the private key must be the one whose public half KMS returned. */
function checkKeyPair(privateKeyDer: Uint8Array, publicKeyDer: Uint8Array): void {
  let derived: Buffer;
  try {
    derived = createPublicKey(createPrivateKey({ key: Buffer.from(privateKeyDer), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  } catch {
    badResponse('GenerateDataKeyPair returned a private key that is not PKCS#8 DER');
  }
  if (!derived.equals(publicKeyDer)) badResponse('GenerateDataKeyPair returned a private key that does not match its PublicKey');
}

function mapSdkError(operation: string, e: unknown): AttestedKmsError {
  const error = e as Error & { $metadata?: { httpStatusCode?: number }; code?: string };
  const name = error.name ?? 'Error';
  if (name === 'ThrottlingException')
    return new AttestedKmsError('ERR_KMS_THROTTLED', `KMS throttled ${operation} after the retries: ${error.message}`, { cause: e, kmsErrorName: name });
  if (name === 'TimeoutError' || error.code === 'ETIMEDOUT' || /timed? ?out/i.test(error.message ?? ''))
    return new AttestedKmsError('ERR_KMS_TIMEOUT', `no answer from KMS to ${operation} in time`, { cause: e });
  if (error.$metadata?.httpStatusCode !== undefined && error.$metadata.httpStatusCode > 0 && name !== 'Error') {
    return new AttestedKmsError('ERR_KMS_REQUEST_FAILED', `KMS refused ${operation}: ${name}: ${error.message}`, { cause: e, kmsErrorName: name });
  }
  return new AttestedKmsError('ERR_KMS_TRANSPORT', `the connection to KMS failed during ${operation}: ${error.code ?? name}: ${error.message}`, { cause: e });
}
