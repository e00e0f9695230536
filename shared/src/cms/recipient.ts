import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  KeyObject,
} from 'node:crypto';
import { bytesEqual, concatWiping } from '../bytes.js';
import { InvalidArgumentError } from '../errors.js';
import { encodeCiphertextForRecipient, parseCiphertextForRecipient, type EncodeOptions, type ParseOptions } from './enveloped-data.js';
import { CmsError } from './errors.js';

export interface DecryptOptions extends ParseOptions {
  /**
   * The recipient's public key (KeyObject or DER SubjectPublicKeyInfo, cheapest). The rid must equal
   * SHA-256 of its SPKI. Default: derived from the private key, so a message for another key is always refused.
   */
  readonly publicKey?: KeyObject | Uint8Array;
}

/** One message for every decryption failure: RSA and padding errors must not be told apart. */
const DECRYPT_FAILED = 'could not decrypt CiphertextForRecipient: wrong private key or damaged ciphertext';

/**
 * Decrypts a KMS `CiphertextForRecipient` (CMS EnvelopedData, RSAES-OAEP-SHA-256 key transport,
 * AES-256-CBC content) with the recipient's RSA private key. Returns the plaintext; the content key
 * is zeroed before returning.
 */
export function decryptCiphertextForRecipient(bytes: Uint8Array, key: KeyObject | string | Uint8Array, options: DecryptOptions = {}): Uint8Array {
  if (typeof bytes === 'string') {
    // KMS's JSON carries it as base64; the SDK hands over bytes. A string here is base64 not yet decoded.
    throw new InvalidArgumentError('the CiphertextForRecipient must be bytes (Uint8Array), not a string: decode the base64 first (fromBase64)');
  }
  const privateKey = rsaPrivateKey(key);
  const parts = parseCiphertextForRecipient(bytes, options);
  const { rid } = parts.recipient;
  if (rid.type === 'subjectKeyIdentifier') {
    const expected = subjectKeyIdentifier(options.publicKey ?? privateKey);
    if (!bytesEqual(rid.keyIdentifier, expected)) {
      throw new CmsError(
        'ERR_CMS_RECIPIENT_MISMATCH',
        'CiphertextForRecipient is addressed to another key (its subjectKeyIdentifier is not SHA-256 of our public key)',
      );
    }
  }

  let contentKey: Buffer | undefined;
  try {
    contentKey = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, parts.recipient.encryptedKey);
    if (contentKey.byteLength !== 32) throw new Error('content key is not 32 bytes');
    const decipher = createDecipheriv('aes-256-cbc', contentKey, parts.iv);
    // Unpooled output, intermediates zeroed: the plaintext is key material.
    return concatWiping([decipher.update(parts.encryptedContent), decipher.final()]);
  } catch (cause) {
    // The cause is kept off the error: its text would distinguish OAEP from padding failures.
    void cause;
    throw new CmsError('ERR_CMS_DECRYPT_FAILED', DECRYPT_FAILED);
  } finally {
    contentKey?.fill(0);
  }
}

/**
 * Builds a `CiphertextForRecipient` as KMS does: a random AES-256 content key and IV, the key
 * wrapped with RSAES-OAEP-SHA-256 to `recipientPublicKey`, rid = SHA-256 of its SubjectPublicKeyInfo.
 */
export function buildCiphertextForRecipient(plaintext: Uint8Array, recipientPublicKey: KeyObject | Uint8Array, options: EncodeOptions = {}): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) throw new InvalidArgumentError('plaintext must be a Uint8Array');
  const publicKey = toRsaPublicKey(recipientPublicKey);
  const contentKey = randomBytes(32);
  const iv = randomBytes(16);
  try {
    const cipher = createCipheriv('aes-256-cbc', contentKey, iv);
    const encryptedContent = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const encryptedKey = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, contentKey);
    return encodeCiphertextForRecipient(
      {
        version: 2,
        recipient: {
          version: 2,
          // Given DER, its own hash: no re-encoding of a key just parsed from those bytes.
          rid: { type: 'subjectKeyIdentifier', keyIdentifier: subjectKeyIdentifier(recipientPublicKey instanceof KeyObject ? publicKey : recipientPublicKey) },
          encryptedKey: new Uint8Array(encryptedKey),
        },
        iv: new Uint8Array(iv),
        encryptedContent: new Uint8Array(encryptedContent),
      },
      options,
    );
  } finally {
    contentKey.fill(0);
  }
}

// KeyObjects are immutable, and exporting a key's SPKI costs about 0.2 ms (OpenSSL's encoder): more
// than a quarter of the RSA decrypt itself. Remember each key's identifier for as long as the key lives.
const identifierCache = new WeakMap<KeyObject, Uint8Array>();

/** SHA-256 of the key's DER SubjectPublicKeyInfo: the rid KMS puts in CiphertextForRecipient. */
export function subjectKeyIdentifier(key: KeyObject | Uint8Array): Uint8Array {
  if (key instanceof KeyObject) {
    let identifier = identifierCache.get(key);
    if (identifier === undefined) {
      identifier = spkiSha256(key.type === 'private' ? createPublicKey(key) : key);
      identifierCache.set(key, identifier);
    }
    return identifier.slice();
  }
  // DER SubjectPublicKeyInfo bytes: their hash is the identifier; no need to parse and re-export them.
  return new Uint8Array(createHash('sha256').update(key).digest());
}

function spkiSha256(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(
    createHash('sha256')
      .update(publicKey.export({ format: 'der', type: 'spki' }))
      .digest(),
  );
}

function toRsaPublicKey(key: KeyObject | Uint8Array): KeyObject {
  let publicKey: KeyObject;
  try {
    publicKey =
      key instanceof KeyObject
        ? key.type === 'private'
          ? createPublicKey(key)
          : key
        : createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new InvalidArgumentError('the recipient key must be a KeyObject or DER SubjectPublicKeyInfo', { cause });
  }
  if (publicKey.asymmetricKeyType !== 'rsa') throw new InvalidArgumentError(`the recipient key must be RSA, not ${publicKey.asymmetricKeyType}`);
  return publicKey;
}

/** The key as a KeyObject: a KeyObject as it is, PEM text, or PKCS#8 DER bytes (as the CLI reads key files). */
function rsaPrivateKey(key: KeyObject | string | Uint8Array): KeyObject {
  let privateKey: KeyObject | undefined;
  try {
    if (key instanceof KeyObject) privateKey = key;
    else if (typeof key === 'string') privateKey = createPrivateKey(key);
    else if (key instanceof Uint8Array) privateKey = createPrivateKey({ key: Buffer.from(key), format: 'der', type: 'pkcs8' });
  } catch {
    privateKey = undefined;
  }
  if (privateKey?.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') {
    throw new InvalidArgumentError('privateKey must be an RSA private key: a KeyObject, PEM text, or PKCS#8 DER bytes');
  }
  return privateKey;
}
