import { createPublicKey, type KeyObject } from 'node:crypto';
import { AttestationError, toHex, type AttestationVerifier, type VerifiedAttestation } from '@nitro-datakey/shared';
import { kmsError } from './errors.js';
import type { Body } from './validation.js';

export interface VerifiedRecipient {
  readonly publicKey: KeyObject;
  readonly document: VerifiedAttestation;
  /** kms:RecipientAttestation:ImageSha384 and kms:RecipientAttestation:PCR<n>, lower-case hex. */
  readonly conditions: ReadonlyMap<string, string>;
}

const MAX_DOCUMENT = 262_144;

/** Checks the shape of `Recipient` without verifying it (validation runs before key lookup). */
export function readRecipient(body: Body): { algorithm: string; document: Uint8Array } | undefined {
  const value = body['Recipient'];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw kmsError.serialization('Recipient must be an object');
  const r = value as Record<string, unknown>;
  const algorithm = r['KeyEncryptionAlgorithm'];
  if (algorithm !== undefined && algorithm !== 'RSAES_OAEP_SHA_256') {
    throw kmsError.validation(`1 validation error detected: Value '${String(algorithm)}' at 'recipient.keyEncryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_256]`);
  }
  const doc = r['AttestationDocument'];
  if (typeof doc !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(doc)) throw kmsError.validation('Recipient.AttestationDocument is required and must be base64.');
  const bytes = new Uint8Array(Buffer.from(doc, 'base64'));
  if (bytes.byteLength < 1 || bytes.byteLength > MAX_DOCUMENT) {
    throw kmsError.validation(`1 validation error detected: Value at 'recipient.attestationDocument' failed to satisfy constraint: Member must have length between 1 and ${MAX_DOCUMENT}`);
  }
  return { algorithm: 'RSAES_OAEP_SHA_256', document: bytes };
}

/**
 * Verifies the attestation document as KMS does: signature and chain to a trusted root at the
 * server's clock, and an RSA public key of 2048 to 4096 bits to encrypt the answer to.
 * (unverified: the exception type AWS uses for a document it rejects is not documented; ValidationException is our choice.)
 */
export function verifyRecipient(recipient: { document: Uint8Array }, verifier: AttestationVerifier): VerifiedRecipient {
  let document: VerifiedAttestation;
  try {
    document = verifier.verify(recipient.document);
  } catch (e) {
    if (e instanceof AttestationError) throw kmsError.validation(`The attestation document in Recipient is not valid (${e.code}): ${e.message}`);
    throw e;
  }
  if (document.publicKey === null) throw kmsError.validation('The attestation document in Recipient does not contain a public key.');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(document.publicKey), format: 'der', type: 'spki' });
  } catch {
    throw kmsError.validation('The public key in the attestation document is not a DER SubjectPublicKeyInfo.');
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (publicKey.asymmetricKeyType !== 'rsa' || bits < 2048 || bits > 4096) {
    throw kmsError.validation('The public key in the attestation document must be an RSA key of 2048 to 4096 bits.');
  }
  const conditions = new Map<string, string>();
  for (const [index, value] of document.pcrs) conditions.set(`kms:recipientattestation:pcr${index}`, toHex(value));
  const pcr0 = document.pcrs.get(0);
  if (pcr0) conditions.set('kms:recipientattestation:imagesha384', toHex(pcr0));
  return { publicKey, document, conditions };
}
