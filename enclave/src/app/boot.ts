import type { Nsm } from '@nitro-datakey/shared';
import type { Logger } from '@nitro-datakey/shared/cli';
import { type EnclaveApp, type EnclaveAppOptions, startEnclaveApp } from './app.js';
import type { EnclaveAppConfig } from './config.js';
import { loopbackUp } from './loopback-up.js';
import { bootFailureFields, enclaveIdentity, startTelemetry } from './telemetry/start-telemetry.js';

export interface BootedEnclave {
  readonly app: EnclaveApp;
  /** The logger to use from here on: every record also goes to the parent when telemetry is configured. */
  readonly log: Logger;
  /** Each line of the workload's output, to the parent; undefined without telemetry. */
  readonly output: ((stream: 'stdout' | 'stderr', line: string) => void) | undefined;
  /** Logs "enclave ready" with the enclave's module id and PCR0-2. */
  announceReady(): Promise<void>;
  /** Flushes and closes the telemetry link: after the app has closed, so its last records go up. */
  finish(): Promise<void>;
}

/**
 * The boot `nitro-enclave run` and `nitro-enclave --config` share: loopback up, the NSM opened, the
 * telemetry route first (so a boot that fails is seen on the parent, with the enclave's PCRs), then the app.
 */
export async function bootEnclave(
  config: EnclaveAppConfig,
  openNsm: () => Promise<Nsm> | Nsm,
  log: Logger,
  options: Pick<EnclaveAppOptions, 'onSecretRotated'> = {},
): Promise<BootedEnclave> {
  let nsm: Nsm | undefined;
  let app: EnclaveApp | undefined;
  let telemetry: Awaited<ReturnType<typeof startTelemetry>>;
  let appLog = log;
  const finish = async () => {
    await telemetry?.link.flush();
    telemetry?.link.close();
  };
  try {
    loopbackUp(log);
    nsm = await openNsm();
    telemetry = await startTelemetry(config, nsm, log, () => app?.client.keys.stats().generated ?? 0);
    appLog = telemetry?.log ?? log;
    app = await startEnclaveApp(config, { nsm, log: appLog, ...(telemetry ? { metrics: telemetry.metrics } : {}), ...options });
  } catch (e) {
    appLog('error', 'enclave boot failed', await bootFailureFields(nsm, e));
    await finish();
    throw e;
  }
  const booted = app;
  const link = telemetry?.link;
  const deviceNsm = nsm;
  return {
    app: booted,
    log: appLog,
    output: link ? (stream, line) => link.output(stream, line) : undefined,
    announceReady: async () =>
      appLog('info', 'enclave ready', {
        ...(await enclaveIdentity(deviceNsm)),
        moduleId: booted.moduleId,
        gateway: booted.gateway ?? null,
        secrets: booted.secrets,
      }),
    finish,
  };
}
