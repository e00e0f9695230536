import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ecdsaCurve, type EcdsaCurveName, multiply } from '../src/kms/prehashed-signature.js';

// The curve parameters typed in prehashed-signature.ts checked against OpenSSL's own arithmetic: a wrong p, a or
// G changes d·G, a wrong n leaves n·G finite.
describe('ECDSA curve parameters of the DIGEST path', () => {
  it.each(['prime256v1', 'secp384r1', 'secp521r1', 'secp256k1'] as const)(
    '%s: d·G equals OpenSSL public key for random d, n·G is the point at infinity',
    (name: EcdsaCurveName) => {
      const curve = ecdsaCurve(name);
      for (let i = 0; i < 3; i++) {
        const ecdh = createECDH(name);
        ecdh.generateKeys();
        const d = BigInt(`0x${ecdh.getPrivateKey('hex')}`);
        const point = multiply(curve, d, curve.g);
        const expected = ecdh.getPublicKey();
        const x = BigInt(`0x${expected.subarray(1, 1 + curve.bytes).toString('hex')}`);
        const y = BigInt(`0x${expected.subarray(1 + curve.bytes).toString('hex')}`);
        expect(point).toEqual({ x, y });
      }
      expect(multiply(curve, curve.n, curve.g)).toBeNull();
      expect(multiply(curve, curve.n - 1n, curve.g)).not.toBeNull();
    },
  );
});
