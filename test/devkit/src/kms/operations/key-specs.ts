import { generateKeyPair as generateKeyPairCb } from 'node:crypto';
import { promisify } from 'node:util';
import { ASYMMETRIC_KEY_SHAPES, type AsymmetricKeySpec } from '@nitro-datakey/shared';

// The key specs of the asymmetric keys and of the HMAC keys, how each is made, and the algorithms each takes.

const generateKeyPair = promisify(generateKeyPairCb);

/** The RSA and ECC key specs, and how each is made: the one table, in @nitro-datakey/shared. */
export const ASYMMETRIC_SPECS = ASYMMETRIC_KEY_SHAPES;
export type AsymmetricSpec = AsymmetricKeySpec;

/** SIGN_VERIFY takes every one of them; KEY_AGREEMENT the ECC ones. */
export const SIGNING_SPECS = Object.keys(ASYMMETRIC_SPECS) as AsymmetricSpec[];
export const AGREEMENT_SPECS = SIGNING_SPECS.filter((spec) => spec.startsWith('ECC_'));

/** A new key pair of `spec`: PKCS#8 DER private key and SubjectPublicKeyInfo DER public key. */
export async function newKeyPair(spec: AsymmetricSpec | 'ECC_NIST_EDWARDS25519'): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  const how = spec === 'ECC_NIST_EDWARDS25519' ? undefined : ASYMMETRIC_SPECS[spec];
  const pair =
    how === undefined
      ? await generateKeyPair('ed25519')
      : how.type === 'rsa'
        ? await generateKeyPair('rsa', { modulusLength: how.modulusLength })
        : await generateKeyPair('ec', { namedCurve: how.namedCurve });
  return {
    privateKey: new Uint8Array(pair.privateKey.export({ format: 'der', type: 'pkcs8' })),
    publicKey: new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' })),
  };
}

export const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** The algorithms a key spec signs with (AWS: an ECC key's curve fixes its hash). */
export function signingAlgorithmsFor(spec: string): SigningAlgorithm[] {
  if (spec.startsWith('RSA_')) return SIGNING_ALGORITHMS.filter((a) => a.startsWith('RSASSA_'));
  if (spec === 'ECC_NIST_P384') return ['ECDSA_SHA_384'];
  if (spec === 'ECC_NIST_P521') return ['ECDSA_SHA_512'];
  return ['ECDSA_SHA_256'];
}

/** The HMAC key specs: each one's key length and the one algorithm it takes. */
export const MAC_SPECS = {
  HMAC_224: { bytes: 28, algorithm: 'HMAC_SHA_224' },
  HMAC_256: { bytes: 32, algorithm: 'HMAC_SHA_256' },
  HMAC_384: { bytes: 48, algorithm: 'HMAC_SHA_384' },
  HMAC_512: { bytes: 64, algorithm: 'HMAC_SHA_512' },
} as const;
export type MacSpec = keyof typeof MAC_SPECS;
