import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { CmsError, decryptCiphertextForRecipient, InvalidArgumentError, isKeyArn, type Nsm } from '@nitro-datakey/shared';
import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-kms';
import type { HandlerExecutionContext, InitializeHandler, InitializeHandlerArguments, Pluggable } from '@smithy/types';
import { AttestedKmsError } from '../errors.js';
import type { KeyManager, RecipientKey } from './key-manager.js';

/*
 * Attestation as a plugin for any `@aws-sdk/client-kms` KMSClient: code written for the SDK (and
 * libraries built on it, such as the AWS Encryption SDK) runs attested unchanged. For the operations
 * that take a Recipient, the plugin adds one (a fresh NSM document with the key manager's current
 * public key and a fresh nonce), and on the way back refuses plaintext on the wire, requires
 * CiphertextForRecipient addressed to that key, decrypts it inside the enclave, checks the answer
 * against the request and the configured keys, and hands the caller the usual output. A call whose
 * caller set Recipient itself is left as written; every other operation passes through untouched.
 */

/** The operations KMS accepts a Recipient for (FACTS.md), and where each puts its secret. */
const ATTESTED: Readonly<Record<string, { readonly operation: string; readonly secretField: string }>> = {
  GenerateDataKeyCommand: { operation: 'GenerateDataKey', secretField: 'Plaintext' },
  GenerateDataKeyPairCommand: { operation: 'GenerateDataKeyPair', secretField: 'PrivateKeyPlaintext' },
  DecryptCommand: { operation: 'Decrypt', secretField: 'Plaintext' },
  GenerateRandomCommand: { operation: 'GenerateRandom', secretField: 'Plaintext' },
  DeriveSharedSecretCommand: { operation: 'DeriveSharedSecret', secretField: 'SharedSecret' },
};
const PLAINTEXT_FIELDS = ['Plaintext', 'PrivateKeyPlaintext', 'SharedSecret'] as const;

export interface CallTiming {
  readonly operation: string;
  readonly keyWaitMs: number;
  readonly attestMs: number;
  readonly kmsMs: number;
  readonly decryptMs: number;
}

export interface AttestationPluginOptions {
  /** The Nitro Secure Module (the device, or the dev kit's simulator). */
  readonly nsm: Nsm;
  /** Where each call's RSA key pair comes from. */
  readonly keys: KeyManager;
  /**
   * The KMS keys calls may use: each name a caller may pass as KeyId mapped to the full key ARN it must
   * resolve to. Without it, only full key ARNs are accepted. The parent serves the credentials, so it
   * chooses the account: an alias or a bare key id could name a key it owns.
   */
  readonly allowedKeys?: Readonly<Record<string, string>>;
  readonly onTiming?: (timing: CallTiming) => void;
}

type Fields = Record<string, unknown>;

/** Resolves the key ARN an answer about `keyId` must name (one rule for the plugin and every client on it). */
export function keyArnResolver(allowedKeys?: Readonly<Record<string, string>>): (keyId: string | undefined) => string {
  let allowed: Map<string, string> | undefined;
  if (allowedKeys) {
    allowed = new Map();
    for (const [name, arn] of Object.entries(allowedKeys)) {
      if (!isKeyArn(arn)) throw new InvalidArgumentError(`allowedKeys[${JSON.stringify(name)}] must be a full KMS key ARN, got ${JSON.stringify(arn)}`);
      allowed.set(name, arn);
      allowed.set(arn, arn);
    }
  }
  return (keyId) => {
    if (keyId === undefined) {
      const arns = new Set(allowed?.values() ?? []);
      if (arns.size === 1) return [...arns][0] as string;
      throw new AttestedKmsError('ERR_KMS_WRONG_KEY', 'give the KeyId this call expects: without it, the ciphertext alone would choose the key');
    }
    if (allowed) {
      const arn = allowed.get(keyId);
      if (arn === undefined) throw new AttestedKmsError('ERR_KMS_WRONG_KEY', `KeyId ${keyId} is not one of the keys this client may use (allowedKeys)`);
      return arn;
    }
    if (isKeyArn(keyId)) return keyId;
    throw new AttestedKmsError(
      'ERR_KMS_WRONG_KEY',
      `KeyId ${keyId} is not a full key ARN and no ARN is configured for it (allowedKeys): ` +
        'the parent serves the credentials, so an alias or key id could name a key in its own account',
    );
  };
}

/**
 * The plugin: `new KMSClient({ ... }).middlewareStack.use(attestationPlugin({ nsm, keys }))`, or the
 * client's `plugins` option.
 *
 * @example
 * ```ts
 * const kms = new KMSClient({ region, requestHandler, credentials });
 * kms.middlewareStack.use(attestationPlugin({ nsm: openNsmDevice(), keys: new KeyManager(), allowedKeys }));
 * const { Plaintext } = await kms.send(new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256' })); // attested
 * ```
 */
export function attestationPlugin(options: AttestationPluginOptions): Pluggable<ServiceInputTypes, ServiceOutputTypes> {
  const expectedKeyArn = keyArnResolver(options.allowedKeys);
  const middleware =
    (
      next: InitializeHandler<ServiceInputTypes, ServiceOutputTypes>,
      context: HandlerExecutionContext,
    ): InitializeHandler<ServiceInputTypes, ServiceOutputTypes> =>
    async (args: InitializeHandlerArguments<ServiceInputTypes>) => {
      const attested = context.commandName === undefined ? undefined : ATTESTED[context.commandName];
      const input = args.input as unknown as Fields;
      if (!attested || input['Recipient'] !== undefined) return next(args);
      const { operation, secretField } = attested;
      // What the answer must name, fixed before anything is sent; Decrypt tells KMS which key it expects.
      const expected = operation === 'GenerateRandom' ? undefined : expectedKeyArn(input['KeyId'] as string | undefined);
      const t0 = performance.now();
      const key: RecipientKey = await options.keys.acquire();
      const t1 = performance.now();
      const document = await options.nsm.attest({ publicKey: key.spki, nonce: new Uint8Array(randomBytes(32)) });
      const t2 = performance.now();
      const sent = {
        ...input,
        ...(operation === 'Decrypt' ? { KeyId: expected } : {}),
        Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: document },
      };
      const result = await next({ ...args, input: sent as unknown as ServiceInputTypes });
      const t3 = performance.now();
      const output = result.output as unknown as Fields;
      const secret = openAnswer(operation, output, key);
      try {
        checkAnswer(operation, input, output, secret, expected);
      } catch (e) {
        secret.fill(0);
        throw e;
      }
      delete output['CiphertextForRecipient'];
      output[secretField] = secret;
      options.onTiming?.({ operation, keyWaitMs: t1 - t0, attestMs: t2 - t1, kmsMs: t3 - t2, decryptMs: performance.now() - t3 });
      return result;
    };
  return {
    applyToStack: (stack) => {
      stack.add(middleware, { step: 'initialize', name: 'nitroDatakeyAttestation', override: true });
    },
  };
}

/** Refuses plaintext on the wire and opens CiphertextForRecipient with this call's key. */
function openAnswer(operation: string, output: Fields, key: RecipientKey): Uint8Array {
  // AWS documents the plaintext field beside CiphertextForRecipient as "null or empty": zero bytes is
  // absence (the SDK turns "" into an empty array); any byte at all is plaintext on the wire.
  const leaked = PLAINTEXT_FIELDS.filter(
    (f) => output[f] !== undefined && output[f] !== null && !(output[f] instanceof Uint8Array && output[f].byteLength === 0),
  );
  if (leaked.length > 0) {
    // Whatever it carried is discarded; a KMS (or anything posing as one) that sends plaintext is not trusted.
    for (const f of leaked) if (output[f] instanceof Uint8Array) (output[f] as Uint8Array).fill(0);
    throw new AttestedKmsError(
      'ERR_KMS_PLAINTEXT_IN_RESPONSE',
      `KMS answered an attested ${operation} with ${leaked.join(' and ')}: refused, the response is discarded`,
    );
  }
  const forRecipient = output['CiphertextForRecipient'];
  if (!(forRecipient instanceof Uint8Array) || forRecipient.byteLength === 0) {
    throw new AttestedKmsError('ERR_KMS_NO_CIPHERTEXT_FOR_RECIPIENT', `KMS answered an attested ${operation} without CiphertextForRecipient`);
  }
  try {
    return decryptCiphertextForRecipient(forRecipient, key.privateKey, { publicKey: key.spki });
  } catch (e) {
    if (e instanceof CmsError) {
      throw new AttestedKmsError('ERR_KMS_RECIPIENT_MISMATCH', `CiphertextForRecipient of ${operation} cannot be opened with this call's key (${e.code})`, {
        cause: e,
      });
    }
    throw e;
  }
}

/** The answer against the request and the configured key: CMS has no integrity of its own. */
function checkAnswer(operation: string, input: Fields, output: Fields, secret: Uint8Array, expected: string | undefined): void {
  if (expected !== undefined && output['KeyId'] !== expected) {
    const answered = output['KeyId'];
    throw new AttestedKmsError(
      'ERR_KMS_WRONG_KEY',
      answered === undefined ? `KMS answered ${operation} without a KeyId` : `KMS answered ${operation} for ${String(answered)}, not the expected ${expected}`,
    );
  }
  switch (operation) {
    case 'GenerateDataKey': {
      const size = (input['NumberOfBytes'] as number | undefined) ?? (input['KeySpec'] === 'AES_128' ? 16 : 32);
      if (secret.byteLength !== size) badResponse(`GenerateDataKey returned a ${secret.byteLength}-byte data key, not the ${size} bytes asked for`);
      required(output['CiphertextBlob'], 'CiphertextBlob');
      return;
    }
    case 'GenerateRandom':
      if (secret.byteLength !== input['NumberOfBytes'])
        badResponse(`GenerateRandom returned ${secret.byteLength} bytes, not the ${String(input['NumberOfBytes'])} asked for`);
      return;
    case 'GenerateDataKeyPair': {
      if (output['KeyPairSpec'] !== input['KeyPairSpec'])
        badResponse(`GenerateDataKeyPair returned a ${String(output['KeyPairSpec'])} pair, not ${String(input['KeyPairSpec'])}`);
      checkKeyPair(secret, required(output['PublicKey'], 'PublicKey'));
      required(output['PrivateKeyCiphertextBlob'], 'PrivateKeyCiphertextBlob');
      return;
    }
    default:
      return;
  }
}

function required(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength === 0) badResponse(`KMS answered without ${name}`);
  return value;
}

function badResponse(message: string): never {
  throw new AttestedKmsError('ERR_KMS_BAD_RESPONSE', `${message}: refused, the answer is discarded`);
}

/** The private key must be the one whose public half KMS returned. */
function checkKeyPair(privateKeyDer: Uint8Array, publicKeyDer: Uint8Array): void {
  let derived: Buffer;
  try {
    derived = createPublicKey(createPrivateKey({ key: Buffer.from(privateKeyDer), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  } catch {
    badResponse('GenerateDataKeyPair returned a private key that is not PKCS#8 DER');
  }
  if (!derived.equals(publicKeyDer)) badResponse('GenerateDataKeyPair returned a private key that does not match its PublicKey');
}
