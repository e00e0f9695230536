import { constants, generateKeyPair, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '@nitro-datakey/shared';
import { AttestedKmsError } from '../errors.js';

export interface KeyManagerOptions {
  /**
   * Calls one key pair may serve. Default 1,000 (see DEFAULT_KEY_POLICY); 1 is the strict mode, a new
   * pair for every call, which caps attested throughput at the rate RSA keys can be generated.
   */
  readonly maxUses?: number;
  /** Oldest a key pair may be when handed out. Default 5 minutes. */
  readonly maxAgeMs?: number;
  /** Fresh key pairs kept ready. Default 2 (8 in the strict mode, where every call takes one). */
  readonly poolSize?: number;
  readonly modulusLength?: number;
  readonly clock?: () => Date;
  /** Makes one RSA key pair. Default: Node's generateKeyPair on libuv's thread pool. Tests inject a fake. */
  readonly generateKeyPair?: (modulusLength: number) => Promise<{ readonly publicKey: KeyObject; readonly privateKey: KeyObject }>;
}

/**
 * The default rotation: one pair serves up to 1,000 calls or 5 minutes, whichever comes first, while
 * the next is generated in the background. Why this is safe: the private key never leaves the enclave
 * process, every call still carries a fresh attestation document with a fresh nonce, and KMS encrypts
 * each answer to the pair of that call's document; a longer-lived pair only means that one memory
 * compromise of the enclave (which would expose its data keys anyway) also opens the answers of the
 * other calls in the same window. The bounds keep that window to minutes. Why it matters: RSA-2048
 * generation costs about 100 ms of CPU, so a new pair per call caps attested throughput near 10
 * calls/s on 2 cores; `maxUses: 1` keeps that strict mode for whoever wants it.
 */
export const DEFAULT_KEY_POLICY = { maxUses: 1000, maxAgeMs: 5 * 60_000 } as const;

/** An RSA key pair for one attested call; its public key goes into the attestation document. */
export interface RecipientKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo, what the NSM embeds in the document. */
  readonly spki: Uint8Array;
}

interface Entry extends RecipientKey {
  readonly createdAt: number;
  uses: number;
}

export interface KeyManagerStats {
  readonly generated: number;
  /** Calls that had to wait for a key pair (only while cold, or when the pool cannot keep up). */
  readonly waits: number;
  readonly ready: number;
}

/**
 * RSA-2048 key pairs for attested calls, generated in the background on libuv's thread pool
 * (a quarter of a second each here) and rotated by policy. Once warm, a call takes a ready pair
 * without waiting; pairs past their uses or age are discarded, never reused.
 */
export class KeyManager {
  readonly #maxUses: number;
  readonly #maxAgeMs: number;
  readonly #poolSize: number;
  readonly #modulusLength: number;
  readonly #now: () => number;
  readonly #generate: (modulusLength: number) => Promise<{ readonly publicKey: KeyObject; readonly privateKey: KeyObject }>;
  readonly #ready: Entry[] = [];
  readonly #waiting: Array<{ resolve: (entry: Entry) => void; reject: (error: Error) => void }> = [];
  #current: Entry | undefined;
  #generating = 0;
  #generated = 0;
  #waits = 0;
  #closed = false;
  #hygiene: NodeJS.Timeout | undefined;

  constructor(options: KeyManagerOptions = {}) {
    positiveInteger(options.maxUses, 'keys.maxUses');
    positiveInteger(options.maxAgeMs, 'keys.maxAgeMs');
    positiveInteger(options.poolSize, 'keys.poolSize');
    if (options.modulusLength !== undefined && ![2048, 3072, 4096].includes(options.modulusLength)) {
      throw new InvalidArgumentError('keys.modulusLength must be 2048, 3072 or 4096 (what KMS accepts for RSAES_OAEP_SHA_256)');
    }
    this.#maxUses = options.maxUses ?? DEFAULT_KEY_POLICY.maxUses;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_KEY_POLICY.maxAgeMs;
    this.#poolSize = options.poolSize ?? (this.#maxUses === 1 ? 8 : 2);
    this.#modulusLength = options.modulusLength ?? 2048;
    const clock = options.clock;
    this.#now = clock ? () => clock().getTime() : Date.now;
    this.#generate = options.generateKeyPair ?? generateRsaKeyPair;
    this.#refill();
    // Spares are replaced while they are young, so the pair that takes over when the current one
    // retires is never near its own end (and a call never waits for one at steady state).
    if (Number.isFinite(this.#maxAgeMs)) {
      this.#hygiene = setInterval(() => this.#refill(), Math.max(1_000, this.#maxAgeMs / 4));
      this.#hygiene.unref();
    }
  }

  /** Resolves once `count` key pairs are ready (a warm start before serving). */
  async warm(count = this.#poolSize): Promise<void> {
    const target = Math.min(count, this.#poolSize);
    while (this.#ready.length < target && !this.#closed) await new Promise((r) => setTimeout(r, 10));
  }

  /** A key pair for one call, following the rotation policy. */
  async acquire(): Promise<RecipientKey> {
    if (this.#closed) throw closedError();
    this.#refill(); // cheap when nothing is due: keeps the spares young and the pool full
    const current = this.#current;
    if (current && current.uses < this.#maxUses && this.#now() - current.createdAt <= this.#maxAgeMs) {
      current.uses++;
      return current;
    }
    this.#current = undefined;
    let entry = this.#takeFresh();
    if (!entry) {
      this.#waits++;
      // Start generation for this waiter now: when every pooled pair has aged out, nothing else would.
      entry = await new Promise<Entry>((resolve, reject) => {
        this.#waiting.push({ resolve, reject });
        this.#refill();
      });
    }
    entry.uses = 1;
    if (this.#maxUses > 1) this.#current = entry;
    this.#refill();
    return entry;
  }

  stats(): KeyManagerStats {
    return { generated: this.#generated, waits: this.#waits, ready: this.#ready.length };
  }

  /** Drops every pair and rejects every caller still waiting for one (no call hangs on a closed manager). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#hygiene);
    this.#ready.length = 0;
    this.#current = undefined;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(closedError());
  }

  #takeFresh(): Entry | undefined {
    while (this.#ready.length > 0) {
      const entry = this.#ready.shift() as Entry;
      if (this.#now() - entry.createdAt <= this.#maxAgeMs) return entry;
    }
    return undefined;
  }

  #refill(): void {
    if (Number.isFinite(this.#maxAgeMs)) {
      const young = this.#ready.filter((e) => this.#now() - e.createdAt <= this.#maxAgeMs / 2);
      this.#ready.splice(0, this.#ready.length, ...young);
    }
    while (!this.#closed && this.#ready.length + this.#generating < this.#poolSize + this.#waiting.length) {
      this.#generating++;
      this.#generate(this.#modulusLength).then(
        ({ publicKey, privateKey }) => {
          this.#generating--;
          if (this.#closed) return;
          this.#generated++;
          warmUp(privateKey, publicKey);
          const entry: Entry = {
            privateKey,
            publicKey,
            spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
            createdAt: this.#now(),
            uses: 0,
          };
          const waiter = this.#waiting.shift();
          if (waiter) waiter.resolve(entry);
          else this.#ready.push(entry);
          this.#refill();
        },
        () => {
          this.#generating--;
          // Generation does not fail in practice; retry later rather than leave waiters hanging.
          if (!this.#closed) setTimeout(() => this.#refill(), 100).unref();
        },
      );
    }
  }
}

function closedError(): AttestedKmsError {
  return new AttestedKmsError('ERR_KMS_CLIENT_CLOSED', 'the key manager is closed: no key pair for new calls');
}

function generateRsaKeyPair(modulusLength: number): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength }, (error, publicKey, privateKey) => (error ? reject(error) : resolve({ publicKey, privateKey })));
  });
}

function positiveInteger(value: number | undefined, name: string): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1))
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`);
}

/**
 * The first private operation on a new RSA key builds OpenSSL's Montgomery and blinding contexts
 * (about a millisecond); doing one throwaway decrypt here keeps that off the request's path.
 */
function warmUp(privateKey: KeyObject, publicKey: KeyObject): void {
  const oaep = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
  privateDecrypt({ key: privateKey, ...oaep }, publicEncrypt({ key: publicKey, ...oaep }, Buffer.alloc(32)));
}
