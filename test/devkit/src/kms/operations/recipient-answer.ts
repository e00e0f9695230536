import { type RecipientField, toBase64 } from '@nitro-datakey/shared';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { verifyRecipient, type VerifiedRecipient } from '../recipient.js';
import type { OperationContext } from './context.js';

/** Where each operation that honours Recipient carries its secret when the request has none (botocore's KMS model). */
export const PLAINTEXT_FIELD = {
  Decrypt: 'Plaintext',
  GenerateDataKey: 'Plaintext',
  GenerateDataKeyPair: 'PrivateKeyPlaintext',
  DeriveSharedSecret: 'SharedSecret',
  GenerateRandom: 'Plaintext',
} as const;
export type RecipientOperation = keyof typeof PLAINTEXT_FIELD;

/** The request's Recipient verified as KMS does (and its measurements noted for the audit trail), or none. */
export function readRecipient(ctx: OperationContext, recipient: RecipientField | undefined): VerifiedRecipient | undefined {
  if (recipient === undefined) return undefined;
  const verified = verifyRecipient({ document: recipient.attestationDocument }, ctx.verifier, { rsa2048Only: ctx.recipientRsa2048Only === true });
  if (ctx.audit) {
    const pcrs = Object.fromEntries([...verified.document.pcrs].sort(([a], [b]) => a - b).map(([i, v]) => [`PCR${i}`, Buffer.from(v).toString('hex')]));
    ctx.audit.recipient = { moduleId: verified.document.moduleId, pcrs, debug: verified.document.debug };
  }
  return verified;
}

/**
 * The one place the secret of an operation meets the wire. With a Recipient it goes out only as
 * CiphertextForRecipient, to the key of the verified document (its DER SubjectPublicKeyInfo, whose
 * SHA-256 is the recipient identifier), and the plaintext-only members (KeyMaterialId) are left out, as
 * AWS does; without one it goes in the operation's plaintext member beside them.
 */
export function secretAnswer(
  operation: RecipientOperation,
  secret: Uint8Array,
  recipient: VerifiedRecipient | undefined,
  plaintextOnly: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  if (recipient) return { CiphertextForRecipient: toBase64(buildCiphertextForRecipient(secret, recipient.spki)) };
  return { [PLAINTEXT_FIELD[operation]]: toBase64(secret), ...plaintextOnly };
}
