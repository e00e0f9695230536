import { InvalidArgumentError } from '../errors.js';

/*
 * The condition keys KMS sets from a verified Recipient document (FACTS.md: values are lower-case
 * hex, compared with StringEqualsIgnoreCase; ImageSha384 is PCR0). The policy generator writes them,
 * the local KMS evaluates them: both spell them from here.
 */

/** PCR0, the enclave image. */
export const RECIPIENT_ATTESTATION_IMAGE_SHA384 = 'kms:RecipientAttestation:ImageSha384';

/** `kms:RecipientAttestation:PCR<index>` for PCR 0 to 31. */
export function recipientAttestationPcrKey(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 31) throw new InvalidArgumentError(`PCR index ${index} is not 0 to 31`);
  return `kms:RecipientAttestation:PCR${index}`;
}

/** Whether `key` (any case, as IAM compares condition keys) is one of the keys above. */
export function isRecipientAttestationKey(key: string): boolean {
  const lower = key.toLowerCase();
  if (lower === RECIPIENT_ATTESTATION_IMAGE_SHA384.toLowerCase()) return true;
  const m = /^kms:recipientattestation:pcr(\d{1,2})$/.exec(lower);
  return m !== null && Number(m[1]) <= 31 && String(Number(m[1])) === m[1];
}
