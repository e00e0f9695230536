import { createECDH, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface P384KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

// Order of the P-384 group: a derived scalar must be in [1, n-1].
const P384_ORDER = BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973');

/**
 * A P-384 key pair: random, or derived from `seed` and `label` so a seeded simulator produces the
 * same keys (and so the same root fingerprint) on every run. Derived keys are for tests only.
 */
export function generateP384KeyPair(seed?: Uint8Array, label = ''): P384KeyPair {
  if (seed === undefined) return generateKeyPairSync('ec', { namedCurve: 'P-384' });
  for (let counter = 0; ; counter++) {
    const d = BigInt(`0x${createHmac('sha384', seed).update(`${label}/${counter}`).digest('hex')}`);
    if (d === 0n || d >= P384_ORDER) continue; // rejection sampling keeps the scalar uniform
    const scalar = Buffer.from(d.toString(16).padStart(96, '0'), 'hex');
    const ecdh = createECDH('secp384r1');
    ecdh.setPrivateKey(scalar);
    const point = ecdh.getPublicKey();
    const jwk = {
      kty: 'EC',
      crv: 'P-384',
      d: scalar.toString('base64url'),
      x: point.subarray(1, 49).toString('base64url'),
      y: point.subarray(49, 97).toString('base64url'),
    };
    const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
}
