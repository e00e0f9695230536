import { createPrivateKey, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { ASYMMETRIC_KEY_SHAPES, type AsymmetricKeySpec, CmsError, decryptCiphertextForRecipient, type Nsm } from '@nitro-datakey/shared';
import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-kms';
import type { HandlerExecutionContext, InitializeHandler, InitializeHandlerArguments, Pluggable } from '@smithy/types';
import { AttestedKmsError } from '../errors.js';
import type { KeyManager, RecipientKey } from './key-manager.js';
import { checkAnswerKeys, keyArnResolver, type PinnedKeys, pinRequestKeys } from './key-pinning.js';

export { keyArnResolver } from './key-pinning.js';

/*
 * Attestation as a plugin for any `@aws-sdk/client-kms` KMSClient: code written for the SDK (and
 * libraries built on it, such as the AWS Encryption SDK) runs attested unchanged. For the operations
 * that take a Recipient, the plugin adds one (a fresh NSM document with the key manager's current
 * public key and a fresh nonce), and on the way back refuses plaintext on the wire, requires
 * CiphertextForRecipient addressed to that key, decrypts it inside the enclave, checks the answer
 * against the request and the configured keys, and hands the caller the usual output.
 *
 * Every operation, attested or not, has its keys pinned (key-pinning.ts): each key the request names
 * is sent as the ARN allowedKeys maps it to, a key outside allowedKeys is refused before anything is
 * sent, and every key the answer names must be that ARN. A caller who sets a Recipient with a
 * document of its own gets CiphertextForRecipient back as it is (still pinned, still refused if
 * plaintext comes with it); an empty Recipient (null, {}, no document) is no Recipient: the plugin attests.
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
      const commandName = context.commandName;
      if (commandName === undefined) return next(args);
      const operation = commandName.replace(/Command$/, '');
      const input = args.input as unknown as Fields;
      // Fixed before anything is sent: the keys of the request, and so what the answer must name.
      const { sent, pinned } = pinRequestKeys(operation, input, expectedKeyArn);
      const attested = ATTESTED[commandName];
      if (!attested) return checked(await next({ ...args, input: sent as unknown as ServiceInputTypes }), operation, pinned);
      if (hasOwnRecipient(input['Recipient'])) {
        const result = checked(await next({ ...args, input: sent as unknown as ServiceInputTypes }), operation, pinned);
        refusePlaintext(operation, result.output as unknown as Fields);
        return result;
      }
      const { secretField } = attested;
      const t0 = performance.now();
      const key: RecipientKey = await options.keys.acquire();
      const t1 = performance.now();
      const document = await options.nsm.attest({ publicKey: key.spki, nonce: new Uint8Array(randomBytes(32)) });
      const t2 = performance.now();
      sent['Recipient'] = { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: document };
      const result = checked(await next({ ...args, input: sent as unknown as ServiceInputTypes }), operation, pinned);
      const t3 = performance.now();
      const output = result.output as unknown as Fields;
      const secret = openAnswer(operation, output, key);
      try {
        checkAnswer(operation, input, output, secret);
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

/** The answer, once every key it names is the pinned one. */
function checked<R extends { output: unknown }>(result: R, operation: string, pinned: PinnedKeys): R {
  checkAnswerKeys(operation, pinned, result.output as Fields);
  return result;
}

/** A Recipient the caller filled in (with a document); null, undefined, {} or an empty document count as none. */
function hasOwnRecipient(recipient: unknown): boolean {
  if (recipient === undefined || recipient === null || typeof recipient !== 'object') return false;
  const document = (recipient as Fields)['AttestationDocument'];
  return document instanceof Uint8Array && document.byteLength > 0;
}

/** Refuses plaintext on the wire and opens CiphertextForRecipient with this call's key. */
function openAnswer(operation: string, output: Fields, key: RecipientKey): Uint8Array {
  refusePlaintext(operation, output);
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

/** An attested answer carries no plaintext field: any byte of one is plaintext on the wire. */
function refusePlaintext(operation: string, output: Fields): void {
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
}

/** The secret against the request: CMS has no integrity of its own, and the parent chose the account. */
function checkAnswer(operation: string, input: Fields, output: Fields, secret: Uint8Array): void {
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
      checkKeyPair(String(input['KeyPairSpec']), secret, required(output['PublicKey'], 'PublicKey'));
      required(output['PrivateKeyCiphertextBlob'], 'PrivateKeyCiphertextBlob');
      return;
    }
    case 'DeriveSharedSecret': {
      // ECDH's shared secret is the x coordinate: exactly the field size of the curve both keys are on.
      const size = sharedSecretLength(input['PublicKey']);
      if (secret.byteLength !== size) badResponse(`DeriveSharedSecret returned ${secret.byteLength} bytes, not the ${size} of the curve of PublicKey`);
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

/** Field size in bytes of each curve KMS does ECDH on (OpenSSL's names, as Node reports them). */
const CURVE_BYTES: Readonly<Record<string, number>> = { prime256v1: 32, secp384r1: 48, secp521r1: 66, secp256k1: 32 };

/** The shared secret's length for the other party's EC public key (SPKI DER). */
function sharedSecretLength(publicKey: unknown): number {
  let curve: string | undefined;
  try {
    curve = createPublicKey({ key: Buffer.from(publicKey as Uint8Array), format: 'der', type: 'spki' }).asymmetricKeyDetails?.namedCurve;
  } catch {
    curve = undefined;
  }
  const size = curve === undefined ? undefined : CURVE_BYTES[curve];
  // KMS refuses such a PublicKey; an answer to one was not made by KMS.
  if (size === undefined) badResponse('DeriveSharedSecret answered for a PublicKey that is not on a curve KMS supports');
  return size;
}

/** The private key must be of the spec asked for, and the one whose public half KMS returned. */
function checkKeyPair(spec: string, privateKeyDer: Uint8Array, publicKeyDer: Uint8Array): void {
  const want: { readonly type: string; readonly modulusLength?: number; readonly namedCurve?: string } | undefined = Object.hasOwn(ASYMMETRIC_KEY_SHAPES, spec)
    ? ASYMMETRIC_KEY_SHAPES[spec as AsymmetricKeySpec]
    : undefined;
  // SM2 (China regions only) has no key type in Node: refused rather than accepted unchecked.
  if (want === undefined) badResponse(`GenerateDataKeyPair with KeyPairSpec ${spec} cannot be checked in the enclave`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(privateKeyDer), format: 'der', type: 'pkcs8' });
  } catch {
    badResponse('GenerateDataKeyPair returned a private key that is not PKCS#8 DER');
  }
  const details = privateKey.asymmetricKeyDetails ?? {};
  if (
    privateKey.asymmetricKeyType !== want.type ||
    (want.modulusLength !== undefined && details.modulusLength !== want.modulusLength) ||
    (want.namedCurve !== undefined && details.namedCurve !== want.namedCurve)
  ) {
    const got = `${privateKey.asymmetricKeyType ?? 'unknown'} ${details.modulusLength ?? details.namedCurve ?? ''}`.trim();
    badResponse(`GenerateDataKeyPair returned a ${got} private key, not the ${spec} asked for`);
  }
  const derived = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  if (!derived.equals(publicKeyDer)) badResponse('GenerateDataKeyPair returned a private key that does not match its PublicKey');
}
