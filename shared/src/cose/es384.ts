import { sign as signDigest, verify as verifySignature, type KeyObject } from 'node:crypto';
import { assertEs384, encodeCoseSign1, ES384_PROTECTED_HEADER, ES384_SIGNATURE_LENGTH, sigStructure1, type CoseSign1 } from './sign1.js';

// Node's half of COSE: signing (the simulated NSM) and a KeyObject verify. The attestation verifier
// does not use these; it asks its crypto driver (node:crypto or WebCrypto) for the same check.

/** Signs `payload` with ES384 (raw r||s signature) into an untagged COSE_Sign1. */
export function signCoseSign1Es384(payload: Uint8Array, privateKey: KeyObject, options: { tagged?: boolean } = {}): Uint8Array {
  const toBeSigned = sigStructure1(ES384_PROTECTED_HEADER, payload);
  const signature = signDigest('sha384', toBeSigned, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return encodeCoseSign1({ protectedBytes: ES384_PROTECTED_HEADER, unprotectedHeader: new Map(), payload, signature: new Uint8Array(signature) }, options);
}

/** Verifies an ES384 COSE_Sign1 against `publicKey`. False on a bad signature; throws on a non-ES384 message. */
export function verifyCoseSign1Es384(sign1: CoseSign1, publicKey: KeyObject): boolean {
  assertEs384(sign1);
  if (sign1.signature.byteLength !== ES384_SIGNATURE_LENGTH) return false;
  return verifySignature('sha384', sigStructure1(sign1.protectedBytes, sign1.payload), { key: publicKey, dsaEncoding: 'ieee-p1363' }, sign1.signature);
}
