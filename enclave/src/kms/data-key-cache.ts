import { canonicalEncryptionContext, InvalidArgumentError, toHex } from '@nitro-datakey/shared';
import type { DataKey } from './data-key.js';

export interface DataKeyCacheOptions {
  /** How long a data key may be reused. */
  readonly maxAgeMs: number;
  /** How many GenerateDataKey calls one data key may answer. */
  readonly maxUses: number;
  /** Total plaintext bytes held. */
  readonly maxBytes: number;
  readonly clock?: () => Date;
}

interface Entry {
  readonly key: DataKey;
  readonly createdAt: number;
  uses: number;
}

/**
 * Reuses data keys for workloads that would otherwise hit KMS quotas. Off by default: reuse means one
 * data key protects more data. Bounded by age, uses and bytes; evicted keys are zeroed. Callers get
 * copies, so zeroing theirs never corrupts the cache.
 */
export class DataKeyCache {
  readonly #options: DataKeyCacheOptions;
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(options: DataKeyCacheOptions) {
    for (const name of ['maxAgeMs', 'maxUses', 'maxBytes'] as const) {
      const value = options[name];
      if (!(Number.isSafeInteger(value) && value >= 1)) throw new InvalidArgumentError(`dataKeyCache.${name} must be a positive integer, got ${String(value)}`);
    }
    this.#options = options;
  }

  get(input: CacheKeyInput): DataKey | undefined {
    const id = cacheKey(input);
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    if (this.#now() - entry.createdAt > this.#options.maxAgeMs || entry.uses >= this.#options.maxUses) {
      this.#evict(id);
      return undefined;
    }
    entry.uses++;
    return copy(entry.key);
  }

  put(input: CacheKeyInput, key: DataKey): DataKey {
    const id = cacheKey(input);
    this.#evict(id);
    if (key.plaintext.byteLength <= this.#options.maxBytes) {
      while (this.#bytes + key.plaintext.byteLength > this.#options.maxBytes) this.#evict(this.#entries.keys().next().value as string);
      this.#entries.set(id, { key: copy(key), createdAt: this.#now(), uses: 1 });
      this.#bytes += key.plaintext.byteLength;
    }
    return key;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    for (const id of [...this.#entries.keys()]) this.#evict(id);
  }

  #evict(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    entry.key.plaintext.fill(0);
    this.#bytes -= entry.key.plaintext.byteLength;
    this.#entries.delete(id);
  }

  #now(): number {
    return this.#options.clock ? this.#options.clock().getTime() : Date.now();
  }
}

export interface CacheKeyInput {
  readonly KeyId: string;
  readonly KeySpec?: string;
  readonly NumberOfBytes?: number;
  readonly EncryptionContext?: Readonly<Record<string, string>>;
}

function cacheKey(input: CacheKeyInput): string {
  const context = toHex(canonicalEncryptionContext(input.EncryptionContext ?? {}));
  return `${input.KeyId}\u0000${input.KeySpec ?? ''}\u0000${input.NumberOfBytes ?? ''}\u0000${context}`;
}

function copy(key: DataKey): DataKey {
  return { keyId: key.keyId, plaintext: key.plaintext.slice(), ciphertextBlob: key.ciphertextBlob };
}
