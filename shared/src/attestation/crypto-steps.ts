/**
 * The verifier's crypto as requests it yields, so one code path serves two runtimes: Node answers
 * them synchronously with node:crypto (the speed of `AttestationVerifier.verify`), browsers and
 * workers asynchronously with WebCrypto. Rules, errors and verdicts cannot drift apart, because
 * nothing but these two operations differs.
 */
type CryptoRequest =
  | { readonly op: 'sha256'; readonly data: Uint8Array }
  /** ECDSA P-384 with SHA-384 over `data`; `signature` is r ‖ s; `spki` a key the X.509 parser checked. */
  | { readonly op: 'verify-es384'; readonly spki: Uint8Array; readonly data: Uint8Array; readonly signature: Uint8Array };

type CryptoAnswer = Uint8Array | boolean;

/** A computation that needs crypto: drive it with `runWithCrypto` or `runWithCryptoAsync`. */
export type CryptoSteps<T> = Generator<CryptoRequest, T, CryptoAnswer>;

export interface CryptoDriver {
  sha256(data: Uint8Array): Uint8Array;
  /** False for a signature that does not verify, also when the key or signature cannot be used at all. */
  verifyEs384(spki: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean;
}

export interface AsyncCryptoDriver {
  sha256(data: Uint8Array): Promise<Uint8Array>;
  verifyEs384(spki: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

export function* sha256(data: Uint8Array): CryptoSteps<Uint8Array> {
  const digest = yield { op: 'sha256', data };
  if (!(digest instanceof Uint8Array) || digest.byteLength !== 32) throw new TypeError('the crypto driver returned no SHA-256 digest');
  return digest;
}

export function* verifyEs384(spki: Uint8Array, data: Uint8Array, signature: Uint8Array): CryptoSteps<boolean> {
  // Only `true` is a valid signature: anything else a driver returns is a refusal.
  return (yield { op: 'verify-es384', spki, data, signature }) === true;
}

export function runWithCrypto<T>(steps: CryptoSteps<T>, driver: CryptoDriver): T {
  let next = steps.next();
  while (!next.done) {
    const request = next.value;
    next = steps.next(request.op === 'sha256' ? driver.sha256(request.data) : driver.verifyEs384(request.spki, request.data, request.signature));
  }
  return next.value;
}

export async function runWithCryptoAsync<T>(steps: CryptoSteps<T>, driver: AsyncCryptoDriver): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    const request = next.value;
    next = steps.next(request.op === 'sha256' ? await driver.sha256(request.data) : await driver.verifyEs384(request.spki, request.data, request.signature));
  }
  return next.value;
}
