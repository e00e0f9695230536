// The key specs of the asymmetric signing keys and of the HMAC keys, and the algorithms each takes.
/** The asymmetric SIGN_VERIFY key specs AWS offers outside China, and how each is made. */
export const SIGNING_SPECS = {
  RSA_2048: { type: 'rsa', modulusLength: 2048 },
  RSA_3072: { type: 'rsa', modulusLength: 3072 },
  RSA_4096: { type: 'rsa', modulusLength: 4096 },
  ECC_NIST_P256: { type: 'ec', namedCurve: 'prime256v1' },
  ECC_NIST_P384: { type: 'ec', namedCurve: 'secp384r1' },
  ECC_NIST_P521: { type: 'ec', namedCurve: 'secp521r1' },
  ECC_SECG_P256K1: { type: 'ec', namedCurve: 'secp256k1' },
} as const;
export type SigningSpec = keyof typeof SIGNING_SPECS;

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
