import { kmsError } from './errors.js';
import {
  encryptionContext,
  grantTokens,
  KEY_ID_MAX,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalString,
  requireBlob,
  requireString,
  type KmsRequestBody,
} from './validation.js';

/*
 * Typed readers for the requests both servers of KMS's protocol answer: the local KMS (which plays
 * AWS) and the enclave gateway (which answers its workloads). One reader per operation, so both
 * refuse the same inputs with the same exception. Fields are checked in the order AWS checks them:
 * shape and bounds first, the key and its policy later (by the server).
 */

export type EncryptionContext = Readonly<Record<string, string>>;

/** `Recipient` as sent: its shape only; the server verifies the document. */
export interface RecipientField {
  readonly keyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256';
  readonly attestationDocument: Uint8Array;
}

/** FACTS.md: AttestationDocument is 1..262144 bytes; RSAES_OAEP_SHA_256 is the only algorithm. */
export const MAX_ATTESTATION_DOCUMENT_BYTES = 262_144;
export const DATA_KEY_SPECS = ['AES_256', 'AES_128'] as const;
export const KEY_PAIR_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'SM2',
  'ECC_NIST_EDWARDS25519',
] as const;
/**
 * The RSA and ECC key specs AWS offers outside China (data key pairs, signing and key-agreement keys) and
 * what each key is: its type, and its modulus length or curve (OpenSSL's name). The local KMS makes keys
 * by it; the enclave holds KMS's key pairs to it.
 */
export const ASYMMETRIC_KEY_SHAPES = {
  RSA_2048: { type: 'rsa', modulusLength: 2048 },
  RSA_3072: { type: 'rsa', modulusLength: 3072 },
  RSA_4096: { type: 'rsa', modulusLength: 4096 },
  ECC_NIST_P256: { type: 'ec', namedCurve: 'prime256v1' },
  ECC_NIST_P384: { type: 'ec', namedCurve: 'secp384r1' },
  ECC_NIST_P521: { type: 'ec', namedCurve: 'secp521r1' },
  ECC_SECG_P256K1: { type: 'ec', namedCurve: 'secp256k1' },
} as const;
export type AsymmetricKeySpec = keyof typeof ASYMMETRIC_KEY_SHAPES;
export type DataKeySpec = (typeof DATA_KEY_SPECS)[number];
export type KeyPairSpec = (typeof KEY_PAIR_SPECS)[number];

export interface GenerateDataKeyRequest {
  readonly keyId: string;
  /** The data key's length in bytes (KeySpec AES_256 is 32, AES_128 is 16). */
  readonly numberOfBytes: number;
  readonly keySpec?: DataKeySpec;
  readonly encryptionContext: EncryptionContext;
  readonly dryRun: boolean;
  readonly recipient?: RecipientField;
}

/** AWS API model: EncryptionAlgorithmSpec. Only SYMMETRIC_DEFAULT applies to a symmetric key. */
export const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;

export interface DecryptRequest {
  readonly ciphertextBlob: Uint8Array;
  readonly keyId?: string;
  readonly encryptionAlgorithm?: (typeof ENCRYPTION_ALGORITHMS)[number];
  /** With DryRun: IGNORE_CIPHERTEXT checks authorization only (AWS API model, DryRunModifierList). */
  readonly ignoreCiphertext: boolean;
  readonly encryptionContext: EncryptionContext;
  readonly dryRun: boolean;
  readonly recipient?: RecipientField;
}

export interface GenerateDataKeyPairRequest {
  readonly keyId: string;
  readonly keyPairSpec: KeyPairSpec;
  readonly encryptionContext: EncryptionContext;
  readonly dryRun: boolean;
  readonly recipient?: RecipientField;
}

export interface DeriveSharedSecretRequest {
  readonly keyId: string;
  readonly keyAgreementAlgorithm: 'ECDH';
  /** The other party's public key, DER SubjectPublicKeyInfo. */
  readonly publicKey: Uint8Array;
  readonly dryRun: boolean;
  readonly recipient?: RecipientField;
}

export interface GenerateRandomRequest {
  readonly numberOfBytes: number;
  readonly recipient?: RecipientField;
}

export function parseGenerateDataKeyRequest(body: KmsRequestBody): GenerateDataKeyRequest {
  const keyId = requireString(body, 'KeyId', 1, KEY_ID_MAX);
  const keySpec = optionalEnum(body, 'KeySpec', DATA_KEY_SPECS);
  const count = optionalInteger(body, 'NumberOfBytes', 1, 1024);
  // FACTS.md: exactly one of KeySpec / NumberOfBytes (wording unverified).
  if ((keySpec === undefined) === (count === undefined)) throw kmsError.validation('Please specify either number of bytes or key spec.');
  const context = encryptionContext(body);
  grantTokens(body);
  const recipient = readRecipientField(body);
  return {
    keyId,
    numberOfBytes: count ?? (keySpec === 'AES_128' ? 16 : 32),
    ...(keySpec ? { keySpec } : {}),
    encryptionContext: context,
    dryRun: optionalBoolean(body, 'DryRun') === true,
    ...(recipient ? { recipient } : {}),
  };
}

/** DryRunModifiers (Decrypt, ReEncrypt): only IGNORE_CIPHERTEXT exists; whether it is given. */
export function ignoresCiphertext(body: KmsRequestBody): boolean {
  const modifiers = body['DryRunModifiers'];
  if (modifiers !== undefined && modifiers !== null && (!Array.isArray(modifiers) || modifiers.some((m) => m !== 'IGNORE_CIPHERTEXT'))) {
    throw kmsError.validation(
      "1 validation error detected: Value at 'dryRunModifiers' failed to satisfy constraint: Member must satisfy enum value set: [IGNORE_CIPHERTEXT]",
    );
  }
  return Array.isArray(modifiers) && modifiers.includes('IGNORE_CIPHERTEXT');
}

export function parseDecryptRequest(body: KmsRequestBody): DecryptRequest {
  const ciphertextBlob = requireBlob(body, 'CiphertextBlob', 1, 6144);
  const context = encryptionContext(body);
  grantTokens(body);
  const keyId = optionalString(body, 'KeyId', 1, KEY_ID_MAX);
  const encryptionAlgorithm = optionalEnum(body, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHMS);
  const ignoreCiphertext = ignoresCiphertext(body);
  const recipient = readRecipientField(body);
  return {
    ciphertextBlob,
    ...(keyId !== undefined ? { keyId } : {}),
    ...(encryptionAlgorithm !== undefined ? { encryptionAlgorithm } : {}),
    ignoreCiphertext,
    encryptionContext: context,
    dryRun: optionalBoolean(body, 'DryRun') === true,
    ...(recipient ? { recipient } : {}),
  };
}

export function parseGenerateDataKeyPairRequest(body: KmsRequestBody): GenerateDataKeyPairRequest {
  const keyId = requireString(body, 'KeyId', 1, KEY_ID_MAX);
  const keyPairSpec = optionalEnum(body, 'KeyPairSpec', KEY_PAIR_SPECS) ?? (requireString(body, 'KeyPairSpec', 1, 32) as never);
  const context = encryptionContext(body);
  grantTokens(body);
  const recipient = readRecipientField(body);
  return { keyId, keyPairSpec, encryptionContext: context, dryRun: optionalBoolean(body, 'DryRun') === true, ...(recipient ? { recipient } : {}) };
}

/** AWS API model: KeyId, KeyAgreementAlgorithm (ECDH) and PublicKey (1..8192 bytes) required. */
export function parseDeriveSharedSecretRequest(body: KmsRequestBody): DeriveSharedSecretRequest {
  const keyId = requireString(body, 'KeyId', 1, KEY_ID_MAX);
  const keyAgreementAlgorithm =
    optionalEnum(body, 'KeyAgreementAlgorithm', ['ECDH'] as const) ?? (requireString(body, 'KeyAgreementAlgorithm', 1, 16) as never);
  const publicKey = requireBlob(body, 'PublicKey', 1, 8192);
  grantTokens(body);
  const recipient = readRecipientField(body);
  return { keyId, keyAgreementAlgorithm, publicKey, dryRun: optionalBoolean(body, 'DryRun') === true, ...(recipient ? { recipient } : {}) };
}

export function parseGenerateRandomRequest(body: KmsRequestBody): GenerateRandomRequest {
  const count = optionalInteger(body, 'NumberOfBytes', 1, 1024);
  optionalString(body, 'CustomKeyStoreId', 1, 64);
  const recipient = readRecipientField(body);
  if (count === undefined)
    throw kmsError.validation("1 validation error detected: Value null at 'numberOfBytes' failed to satisfy constraint: Member must not be null");
  return { numberOfBytes: count, ...(recipient ? { recipient } : {}) };
}

/** Checks the shape of `Recipient` without verifying the document (validation runs before key lookup). */
export function readRecipientField(body: KmsRequestBody): RecipientField | undefined {
  const value = body['Recipient'];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw kmsError.serialization('Recipient must be an object');
  const r = value as Record<string, unknown>;
  const algorithm = r['KeyEncryptionAlgorithm'];
  if (algorithm !== undefined && algorithm !== 'RSAES_OAEP_SHA_256') {
    throw kmsError.validation(
      `1 validation error detected: Value '${String(algorithm)}' at 'recipient.keyEncryptionAlgorithm' failed to satisfy constraint: ` +
        'Member must satisfy enum value set: [RSAES_OAEP_SHA_256]',
    );
  }
  const doc = r['AttestationDocument'];
  if (typeof doc !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(doc))
    throw kmsError.validation('Recipient.AttestationDocument is required and must be base64.');
  const bytes = new Uint8Array(Buffer.from(doc, 'base64'));
  if (bytes.byteLength < 1 || bytes.byteLength > MAX_ATTESTATION_DOCUMENT_BYTES) {
    throw kmsError.validation(
      "1 validation error detected: Value at 'recipient.attestationDocument' failed to satisfy constraint: " +
        `Member must have length between 1 and ${MAX_ATTESTATION_DOCUMENT_BYTES}`,
    );
  }
  return { keyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', attestationDocument: bytes };
}
