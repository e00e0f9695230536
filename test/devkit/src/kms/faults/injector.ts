import { KmsServiceException } from '@nitro-datakey/shared';
import { type FaultConfig, type FaultKind, KINDS, parseFaultConfig } from './config.js';

/** The live fault state of one local KMS; `set` replaces it (counters start again). */
export class FaultInjector {
  #config: FaultConfig = {};
  #remaining = new Map<FaultKind, number>();
  readonly #random: () => number;

  constructor(config: FaultConfig = {}, random: () => number = Math.random) {
    this.#random = random;
    this.set(config);
  }

  set(config: FaultConfig): void {
    this.#config = parseFaultConfig(config);
    this.#remaining = new Map(KINDS.map((k) => [k, this.#config[k]?.next ?? 0]));
  }

  /** The configuration with counted faults showing how many are left. */
  get(): FaultConfig & { readonly remaining: Readonly<Record<FaultKind, number>> } {
    return { ...this.#config, remaining: Object.fromEntries(this.#remaining) as Record<FaultKind, number> };
  }

  get latencyMs(): number {
    return this.#config.latencyMs ?? 0;
  }

  get attested(): FaultConfig['attested'] {
    return this.#config.attested;
  }

  /** The fault this request gets, if any (a counted fault is used up). */
  draw(): FaultKind | undefined {
    for (const kind of KINDS) {
      const left = this.#remaining.get(kind) ?? 0;
      if (left > 0) {
        this.#remaining.set(kind, left - 1);
        return kind;
      }
      const rate = this.#config[kind]?.rate ?? 0;
      if (rate > 0 && this.#random() < rate) return kind;
    }
    return undefined;
  }
}

/** The KMS error a fault kind answers with (reset has none: the connection is dropped). */
export function faultException(kind: Exclude<FaultKind, 'reset'>): KmsServiceException {
  switch (kind) {
    case 'throttle':
      return new KmsServiceException('ThrottlingException', 'Rate exceeded');
    case 'serverError':
      return new KmsServiceException('KMSInternalException', 'An internal error occurred (injected by nitro-kms-local).', 500);
    case 'invalidState':
      return new KmsServiceException('KMSInvalidStateException', 'The key is disabled (injected by nitro-kms-local).');
  }
}
