import { parseArgs } from 'node:util';
import type { Nsm } from '@nitro-datakey/shared';
import { type CliContext, runService, UsageError } from '@nitro-datakey/shared/cli';
import { type EnclaveApp, startEnclaveApp } from '../app.js';
import { bootFailureFields, enclaveIdentity, startTelemetry } from '../telemetry/start-telemetry.js';
import { loadEnclaveConfig } from '../config.js';
import { loopbackUp } from '../loopback-up.js';

/** `nitro-enclave --config FILE`: the app as a service (secrets opened, gateway up) until SIGTERM. */
export async function serve(argv: readonly string[], { io, signals, log }: CliContext, openNsm: () => Promise<Nsm> | Nsm): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { config: { type: 'string' } } });
  if (positionals.length > 0 || values.config === undefined) throw new UsageError('give --config FILE (see --help)');
  const configPath = values.config;
  return runService(
    'nitro-enclave',
    async () => {
      const config = await loadEnclaveConfig(configPath);
      loopbackUp(log);
      const nsm = await openNsm();
      let app: EnclaveApp | undefined;
      const telemetry = await startTelemetry(config, nsm, log, () => app?.client.keys.stats().generated ?? 0);
      const appLog = telemetry?.log ?? log;
      try {
        app = await startEnclaveApp(config, { nsm, log: appLog, ...(telemetry ? { metrics: telemetry.metrics } : {}) });
      } catch (e) {
        appLog('error', 'enclave boot failed', await bootFailureFields(nsm, e));
        await telemetry?.link.flush();
        telemetry?.link.close();
        throw e;
      }
      const running = app;
      // SIGUSR2 fetches the parent's secrets now, as under `run` (not SIGUSR1: Node keeps it for its inspector).
      const onUsr2 = () => void running.refreshSecrets();
      signals.on('SIGUSR2', onUsr2);
      appLog('info', 'enclave ready', { ...(await enclaveIdentity(nsm)), moduleId: app.moduleId, gateway: app.gateway ?? null, secrets: app.secrets });
      return {
        ready: { moduleId: app.moduleId, gateway: app.gateway ?? null, secrets: app.secrets },
        close: async () => {
          signals.off('SIGUSR2', onUsr2);
          await running.close();
          await telemetry?.link.flush();
          telemetry?.link.close();
        },
      };
    },
    io,
    signals,
  );
}
