import { randomBytes } from 'node:crypto';
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
import { type AwsCredentials, CmsError, decryptCiphertextForRecipient, InvalidArgumentError, type Nsm } from '@nitro-datakey/shared';
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

  async generateDataKey(input: { KeyId: string; KeySpec?: DataKeySpec; NumberOfBytes?: number; EncryptionContext?: EncryptionContext }): Promise<DataKey> {
    const cached = this.#cache?.get(input);
    if (cached) return cached;
    const result = await this.#attested('GenerateDataKey', async (Recipient, abortSignal) =>
      this.sdk.send(new GenerateDataKeyCommand({ ...input, Recipient }), { abortSignal }),
    );
    const dataKey = {
      keyId: result.response.KeyId as string,
      plaintext: result.plaintext,
      ciphertextBlob: required(result.response.CiphertextBlob, 'CiphertextBlob'),
    };
    return this.#cache ? this.#cache.put(input, dataKey) : dataKey;
  }

  async generateDataKeyPair(input: { KeyId: string; KeyPairSpec: DataKeyPairSpec; EncryptionContext?: EncryptionContext }): Promise<DataKeyPair> {
    const result = await this.#attested('GenerateDataKeyPair', async (Recipient, abortSignal) =>
      this.sdk.send(new GenerateDataKeyPairCommand({ ...input, Recipient }), { abortSignal }),
    );
    return {
      keyId: result.response.KeyId as string,
      keyPairSpec: String(result.response.KeyPairSpec),
      privateKey: result.plaintext,
      publicKey: required(result.response.PublicKey, 'PublicKey'),
      privateKeyCiphertextBlob: required(result.response.PrivateKeyCiphertextBlob, 'PrivateKeyCiphertextBlob'),
    };
  }

  async decrypt(input: {
    CiphertextBlob: Uint8Array;
    EncryptionContext?: EncryptionContext;
    KeyId?: string;
  }): Promise<{ keyId: string; plaintext: Uint8Array }> {
    const result = await this.#attested('Decrypt', async (Recipient, abortSignal) =>
      this.sdk.send(new DecryptCommand({ ...input, Recipient }), { abortSignal }),
    );
    return { keyId: result.response.KeyId as string, plaintext: result.plaintext };
  }

  async generateRandom(input: { NumberOfBytes: number }): Promise<Uint8Array> {
    return (
      await this.#attested('GenerateRandom', async (Recipient, abortSignal) =>
        this.sdk.send(new GenerateRandomCommand({ ...input, Recipient }), { abortSignal }),
      )
    ).plaintext;
  }

  close(): void {
    this.#cache?.clear();
    if (this.#ownsKeys) this.keys.close();
    this.sdk.destroy();
  }

  async #attested<R extends object>(
    operation: string,
    send: (recipient: RecipientInfo, signal: AbortSignal) => Promise<R>,
  ): Promise<{ response: R; plaintext: Uint8Array }> {
    const t0 = performance.now();
    const key: RecipientKey = await this.keys.acquire();
    const t1 = performance.now();
    const document = await this.#nsm.attest({ publicKey: key.spki, nonce: new Uint8Array(randomBytes(32)) });
    const t2 = performance.now();
    let response: R;
    // Our own deadline over the whole call (retries included): it holds whatever the socket does.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.#timeoutMs);
    try {
      response = await send({ KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: document }, deadline.signal);
    } catch (e) {
      if (deadline.signal.aborted)
        throw new AttestedKmsError('ERR_KMS_TIMEOUT', `no answer from KMS to ${operation} within ${this.#timeoutMs} ms`, { cause: e });
      throw mapSdkError(operation, e);
    } finally {
      clearTimeout(timer);
    }
    const t3 = performance.now();
    const fields = response as Record<string, unknown>;
    const leaked = PLAINTEXT_FIELDS.filter((f) => fields[f] !== undefined && fields[f] !== null);
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

function required(value: Uint8Array | undefined, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new AttestedKmsError('ERR_KMS_REQUEST_FAILED', `KMS answered without ${name}`);
  return value;
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
