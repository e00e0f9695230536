import type { Nsm } from '@nitro-datakey/shared';
import type { Logger } from '@nitro-datakey/shared/cli';
import { AttestedKmsError } from '../../errors.js';
import type { EnclaveAppConfig } from '../config.js';
import { EnclaveMetrics } from './enclave-metrics.js';
import { TelemetryLink } from './telemetry-link.js';

export interface EnclaveTelemetry {
  readonly link: TelemetryLink;
  readonly metrics: EnclaveMetrics;
  /** The supervisor's logger, every record also sent up. */
  readonly log: Logger;
}

/** Connects the telemetry route the config names (reconnecting on its own), so even a failed boot is seen from the parent. */
export async function startTelemetry(config: EnclaveAppConfig, nsm: Nsm, log: Logger, keyPairsGenerated: () => number): Promise<EnclaveTelemetry | undefined> {
  if (!config.telemetry) return undefined;
  const metrics = new EnclaveMetrics();
  const { moduleId } = await nsm.describe();
  const link = new TelemetryLink({
    address: config.telemetry.route,
    nsm,
    moduleId,
    metrics,
    log,
    beforeHeartbeat: () =>
      metrics.set('nitro_enclave_key_pairs_generated_total', 'RSA key pairs generated for attested calls.', 'counter', {}, keyPairsGenerated()),
    ...(config.telemetry.heartbeatMs ? { heartbeatMs: config.telemetry.heartbeatMs } : {}),
    ...(config.telemetry.maxQueueBytes ? { maxQueueBytes: config.telemetry.maxQueueBytes } : {}),
  });
  link.start();
  return { link, metrics, log: link.logger(log) };
}

/**
 * What a failed boot says about itself: the error's code (and KMS's exception), and the enclave's own
 * identity, its module id and PCR0-2, so an operator reading the parent's log can hold them against the
 * key policy that refused it. Never the config's secrets or any key material.
 */
export async function bootFailureFields(nsm: Nsm | undefined, e: unknown): Promise<Record<string, unknown>> {
  const error = e as Error & { code?: string };
  const fields: Record<string, unknown> = {
    code: error.code ?? null,
    ...(e instanceof AttestedKmsError && e.kmsErrorName ? { kmsError: e.kmsErrorName } : {}),
    error: error.message,
  };
  // The NSM itself may be why the boot failed: the error above says so.
  return { ...fields, ...(nsm ? await enclaveIdentity(nsm).catch(() => ({})) : {}) };
}

/** The enclave's module id and PCR0-2 (hex), for the lines an operator holds against the key policy. */
export async function enclaveIdentity(nsm: Nsm): Promise<Record<string, string>> {
  const identity: Record<string, string> = { moduleId: (await nsm.describe()).moduleId };
  for (const index of [0, 1, 2]) identity[`pcr${index}`] = Buffer.from((await nsm.describePcr(index)).value).toString('hex');
  return identity;
}
