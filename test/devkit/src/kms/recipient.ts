import { createPublicKey, type KeyObject } from 'node:crypto';
import { AttestationError, kmsError, toHex, type AttestationVerifier, type VerifiedAttestation } from '@nitro-datakey/shared';
import { recipientConditions } from '@nitro-datakey/shared/policy';

export interface VerifiedRecipient {
  /**
   * The RSA key to encrypt the answer to, as the document carries it: DER SubjectPublicKeyInfo, checked
   * here once. Its SHA-256 is the CMS recipient identifier, with no re-encoding per answer.
   */
  readonly spki: Uint8Array;
  readonly document: VerifiedAttestation;
  /** kms:RecipientAttestation:ImageSha384 and kms:RecipientAttestation:PCR<n>, lower-case hex. */
  readonly conditions: ReadonlyMap<string, string>;
}

/**
 * Verifies the attestation document as KMS does: signature and chain to a trusted root at the
 * server's clock, and an RSA public key of 2048 to 4096 bits to encrypt the answer to.
 * (unverified: the exception type AWS uses for a document it rejects is not documented; ValidationException is our choice.)
 */
export function verifyRecipient(
  recipient: { document: Uint8Array },
  verifier: AttestationVerifier,
  options: { readonly rsa2048Only?: boolean } = {},
): VerifiedRecipient {
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
  // For testing an enclave against the strictest reading of AWS's documentation, which names RSA-2048 keys.
  if (options.rsa2048Only === true && bits !== 2048) {
    throw kmsError.validation(`The public key in the attestation document must be an RSA-2048 key (this server accepts only 2048 bits; it has ${bits}).`);
  }
  // With e = 1 "encryption" is the identity: anyone could read the data key off the wire. An even or
  // tiny exponent is no RSA key either. (unverified: AWS documents no such check; refusing is the safe side.)
  const exponent = publicKey.asymmetricKeyDetails?.publicExponent ?? 0n;
  if (exponent < 65537n || exponent % 2n === 0n) {
    throw kmsError.validation('The public key in the attestation document must have an odd public exponent of at least 65537.');
  }
  const conditions = recipientConditions(new Map([...document.pcrs].map(([index, value]) => [index, toHex(value)])));
  return { spki: document.publicKey, document, conditions };
}
