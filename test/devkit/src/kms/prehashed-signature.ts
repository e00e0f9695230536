import { constants, createECDH, createHash, type KeyObject, privateEncrypt, publicDecrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseAsn1 } from '@nitro-datakey/shared/asn1';

// Signing and verifying a digest the caller already computed (KMS's MessageType DIGEST). Node's sign() and
// verify() always hash their input, so the three schemes are written out here over the raw key operations:
// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) through the PKCS#1 type-1 private operation, RSASSA-PSS (RFC 8017 §9.1) through
// the unpadded one, and ECDSA (SEC 1 §4.1) in BigInt arithmetic. None of this is constant-time: the local KMS plays
// AWS in tests and holds no one's real keys.

export type DigestHash = 'sha256' | 'sha384' | 'sha512';

export const DIGEST_LENGTH: Readonly<Record<DigestHash, number>> = { sha256: 32, sha384: 48, sha512: 64 };

/** The DER DigestInfo header (AlgorithmIdentifier with NULL parameters, then the OCTET STRING header) per hash. */
const DIGEST_INFO_PREFIX: Readonly<Record<DigestHash, string>> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

export function signRsaPkcs1Digest(key: KeyObject, hash: DigestHash, digest: Uint8Array): Uint8Array {
  const digestInfo = Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'), digest]);
  return new Uint8Array(privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo));
}

export function verifyRsaPkcs1Digest(key: KeyObject, hash: DigestHash, digest: Uint8Array, signature: Uint8Array): boolean {
  const expected = Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'), digest]);
  const recovered = rsaPublicOperation(key, signature, constants.RSA_PKCS1_PADDING);
  return recovered !== undefined && recovered.byteLength === expected.byteLength && timingSafeEqual(recovered, expected);
}

/** MGF1 (RFC 8017 §B.2.1) with `hash`. */
function mgf1(hash: DigestHash, seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * DIGEST_LENGTH[hash] < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(createHash(hash).update(seed).update(c).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** H = Hash(0x00 x 8 || mHash || salt), the value EMSA-PSS carries at its end. */
function pssHash(hash: DigestHash, digest: Uint8Array, salt: Uint8Array): Buffer {
  return createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new TypeError('not an RSA key');
  return bits;
}

/** RSASSA-PSS with MGF1 on the same hash and a salt as long as the hash, as AWS signs. */
export function signRsaPssDigest(key: KeyObject, hash: DigestHash, digest: Uint8Array): Uint8Array {
  const bits = modulusBits(key);
  const emBits = bits - 1;
  const emLength = Math.ceil(emBits / 8);
  const hLength = DIGEST_LENGTH[hash];
  const salt = randomBytes(hLength);
  const h = pssHash(hash, digest, salt);
  const db = Buffer.concat([Buffer.alloc(emLength - 2 * hLength - 2), Buffer.of(1), salt]);
  const maskedDb = xor(db, mgf1(hash, h, db.byteLength));
  maskedDb[0] = (maskedDb[0] as number) & (0xff >> (8 * emLength - emBits));
  const encoded = Buffer.concat([maskedDb, h, Buffer.of(0xbc)]);
  const k = Math.ceil(bits / 8);
  return new Uint8Array(privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, leftPad(encoded, k)));
}

export function verifyRsaPssDigest(key: KeyObject, hash: DigestHash, digest: Uint8Array, signature: Uint8Array): boolean {
  const bits = modulusBits(key);
  const emBits = bits - 1;
  const emLength = Math.ceil(emBits / 8);
  const hLength = DIGEST_LENGTH[hash];
  const recovered = rsaPublicOperation(key, signature, constants.RSA_NO_PADDING);
  if (recovered === undefined) return false;
  const leading = recovered.subarray(0, recovered.byteLength - emLength);
  const encoded = recovered.subarray(recovered.byteLength - emLength);
  if (leading.some((b) => b !== 0) || encoded[emLength - 1] !== 0xbc || emLength < 2 * hLength + 2) return false;
  const maskedDb = encoded.subarray(0, emLength - hLength - 1);
  const h = encoded.subarray(emLength - hLength - 1, emLength - 1);
  const topMask = 0xff >> (8 * emLength - emBits);
  if (((maskedDb[0] as number) & ~topMask) !== 0) return false;
  const db = xor(maskedDb, mgf1(hash, h, maskedDb.byteLength));
  db[0] = (db[0] as number) & topMask;
  const padding = db.subarray(0, db.byteLength - hLength - 1);
  if (padding.some((b) => b !== 0) || db[db.byteLength - hLength - 1] !== 1) return false;
  return timingSafeEqual(pssHash(hash, digest, db.subarray(db.byteLength - hLength)), h);
}

/** The public RSA operation, or undefined for a signature the key cannot even open (wrong length, bad padding). */
function rsaPublicOperation(key: KeyObject, signature: Uint8Array, padding: number): Buffer | undefined {
  try {
    return publicDecrypt({ key, padding }, signature);
  } catch {
    return undefined;
  }
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.byteLength);
  for (let i = 0; i < a.byteLength; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

function leftPad(bytes: Uint8Array, length: number): Buffer {
  return Buffer.concat([Buffer.alloc(length - bytes.byteLength), bytes]);
}

// ECDSA over the four curves KMS offers. p and n are the curves' published parameters; G is read from OpenSSL
// (the public key of private key 1), so only two numbers per curve are typed here, and the tests check both.

interface Curve {
  readonly p: bigint;
  readonly a: bigint;
  readonly n: bigint;
  readonly g: Point;
  readonly bytes: number;
}
type Point = { readonly x: bigint; readonly y: bigint } | null; // null: the point at infinity

const CURVE_PARAMETERS = {
  prime256v1: {
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    a: -3n,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  secp384r1: {
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    a: -3n,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  secp521r1: {
    p: 2n ** 521n - 1n,
    a: -3n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
  secp256k1: { p: 2n ** 256n - 2n ** 32n - 977n, a: 0n, n: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n },
} as const;
export type EcdsaCurveName = keyof typeof CURVE_PARAMETERS;

const curves = new Map<EcdsaCurveName, Curve>();

export function ecdsaCurve(name: EcdsaCurveName): Curve {
  let curve = curves.get(name);
  if (curve === undefined) {
    const { p, a, n } = CURVE_PARAMETERS[name];
    const bytes = Math.ceil(p.toString(2).length / 8);
    const ecdh = createECDH(name);
    ecdh.setPrivateKey(leftPad(Uint8Array.of(1), bytes));
    curve = { p, a: mod(a, p), n, g: decodePoint(ecdh.getPublicKey(), bytes), bytes };
    curves.set(name, curve);
  }
  return curve;
}

function decodePoint(uncompressed: Uint8Array, bytes: number): Point {
  return { x: toBigInt(uncompressed.subarray(1, 1 + bytes)), y: toBigInt(uncompressed.subarray(1 + bytes)) };
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** The inverse of `a` modulo the prime `m` (extended Euclid). */
function invert(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError('not invertible');
  return mod(s0, m);
}

function add(c: Curve, P: Point, Q: Point): Point {
  if (P === null) return Q;
  if (Q === null) return P;
  let slope: bigint;
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, c.p) === 0n) return null;
    slope = mod((3n * P.x * P.x + c.a) * invert(2n * P.y, c.p), c.p);
  } else {
    slope = mod((Q.y - P.y) * invert(Q.x - P.x, c.p), c.p);
  }
  const x = mod(slope * slope - P.x - Q.x, c.p);
  return { x, y: mod(slope * (P.x - x) - P.y, c.p) };
}

export function multiply(c: Curve, k: bigint, P: Point): Point {
  let result: Point = null;
  let addend = P;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(c, result, addend);
    addend = add(c, addend, addend);
  }
  return result;
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.byteLength === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** The digest as an integer, cut to the bit length of n (SEC 1 §4.1.3 step 5). */
function digestInteger(c: Curve, digest: Uint8Array): bigint {
  const excess = digest.byteLength * 8 - c.n.toString(2).length;
  return excess > 0 ? toBigInt(digest) >> BigInt(excess) : toBigInt(digest);
}

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const body = Buffer.from(hex, 'hex');
  const content = (body[0] as number) & 0x80 ? Buffer.concat([Buffer.of(0), body]) : body;
  return Buffer.concat([Buffer.of(0x02), derLength(content.byteLength), content]);
}

/** A DER INTEGER's content that is positive and has no superfluous leading zero. */
function isPositiveMinimal(content: Uint8Array): boolean {
  const [first, second] = content;
  if (first === undefined || first & 0x80) return false;
  return !(first === 0 && (second === undefined || (second & 0x80) === 0));
}

function derLength(length: number): Buffer {
  return length < 0x80 ? Buffer.of(length) : Buffer.of(0x81, length); // an ECDSA-Sig-Value stays under 256 bytes
}

/** A DER ECDSA-Sig-Value (as KMS returns) over `digest` with the private scalar `d`. */
export function signEcdsaDigest(curveName: EcdsaCurveName, d: bigint, digest: Uint8Array): Uint8Array {
  const c = ecdsaCurve(curveName);
  const e = digestInteger(c, digest);
  for (;;) {
    const k = mod(toBigInt(randomBytes(c.bytes + 16)), c.n - 1n) + 1n; // 128 extra bits make the bias negligible
    const R = multiply(c, k, c.g);
    if (R === null) continue;
    const r = mod(R.x, c.n);
    const s = mod(invert(k, c.n) * (e + r * d), c.n);
    if (r === 0n || s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return new Uint8Array(Buffer.concat([Buffer.of(0x30), derLength(body.byteLength), body]));
  }
}

/** Whether `signature` (DER, strictly) is a valid ECDSA signature of `digest` by the public point (x, y). */
export function verifyEcdsaDigest(curveName: EcdsaCurveName, publicPoint: { x: bigint; y: bigint }, digest: Uint8Array, signature: Uint8Array): boolean {
  const c = ecdsaCurve(curveName);
  let r: bigint;
  let s: bigint;
  try {
    const node = parseAsn1(signature, { encoding: 'der' });
    const [first, second, ...rest] = node.children;
    if (node.tagNumber !== 16 || first?.tagNumber !== 2 || second?.tagNumber !== 2 || rest.length > 0) return false;
    if (!isPositiveMinimal(first.content) || !isPositiveMinimal(second.content)) return false;
    r = toBigInt(first.content);
    s = toBigInt(second.content);
  } catch {
    return false; // a signature that does not even parse is as invalid as a wrong one
  }
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const w = invert(s, c.n);
  const e = digestInteger(c, digest);
  const X = add(c, multiply(c, mod(e * w, c.n), c.g), multiply(c, mod(r * w, c.n), publicPoint));
  return X !== null && mod(X.x, c.n) === r;
}
