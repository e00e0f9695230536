import { configSchema, plainLocator, readConfig } from '@nitro-datakey/shared/cli';
import { DevkitError } from '../../errors.js';

/**
 * Faults the local KMS injects, to test how a client behaves when KMS misbehaves. Counted faults
 * (`next`) apply to the next N KMS requests and then stop; `rate` applies to each request with that
 * probability. They are checked in this order: reset, serverError, throttle, invalidState; the
 * first that fires decides the request.
 */
export interface FaultConfig {
  /** ThrottlingException (HTTP 400), as KMS answers a caller over its request quota. */
  readonly throttle?: FaultCount;
  /** KMSInternalException (HTTP 500). */
  readonly serverError?: FaultCount;
  /** The connection is destroyed without an answer. */
  readonly reset?: FaultCount;
  /** KMSInvalidStateException (HTTP 400), as for a disabled or pending-deletion key. */
  readonly invalidState?: FaultCount;
  /** Milliseconds added before every answer. */
  readonly latencyMs?: number;
  /**
   * A hostile KMS for attested calls (those with Recipient): `plaintext` adds the plaintext field the
   * operation has without Recipient (Plaintext, PrivateKeyPlaintext, SharedSecret) to the answer;
   * `foreign-recipient` encrypts CiphertextForRecipient to a key that is not the enclave's.
   */
  readonly attested?: 'plaintext' | 'foreign-recipient';
}

export interface FaultCount {
  readonly next?: number;
  readonly rate?: number;
}

export type FaultKind = 'reset' | 'serverError' | 'throttle' | 'invalidState';

export const KINDS: readonly FaultKind[] = ['reset', 'serverError', 'throttle', 'invalidState'];
const MAX_LATENCY_MS = 60_000;

const c = configSchema;
const count = c.object({ next: c.optional(c.integer(0)), rate: c.optional(c.number(0, 1)) });
const faultConfigSchema = c.object({
  reset: c.optional(count),
  serverError: c.optional(count),
  throttle: c.optional(count),
  invalidState: c.optional(count),
  latencyMs: c.optional(c.integer(0, MAX_LATENCY_MS)),
  attested: c.optional(c.oneOf(['plaintext', 'foreign-recipient'])),
});

/** Checks a fault configuration from JSON; anything unexpected is an ERR_KMS_FAULT_CONFIG error. */
export function parseFaultConfig(value: unknown): FaultConfig {
  return readConfig(faultConfigSchema, value, plainLocator('fault configuration'), (message) => new DevkitError('ERR_KMS_FAULT_CONFIG', message));
}
