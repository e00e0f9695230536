import { parseArgs } from 'node:util';
import type { Nsm } from '@nitro-datakey/shared';
import { type CliContext, runService, UsageError } from '@nitro-datakey/shared/cli';
import { bootEnclave } from '../boot.js';
import { loadEnclaveConfig } from '../config.js';

/** `nitro-enclave --config FILE`: the app as a service (secrets opened, gateway up) until SIGTERM. */
export async function serve(argv: readonly string[], { io, signals, log }: CliContext, openNsm: () => Promise<Nsm> | Nsm): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { config: { type: 'string' } } });
  if (positionals.length > 0 || values.config === undefined) throw new UsageError('give --config FILE (see --help)');
  const configPath = values.config;
  return runService(
    'nitro-enclave',
    async () => {
      const config = await loadEnclaveConfig(configPath);
      const booted = await bootEnclave(config, openNsm, log);
      const { app } = booted;
      // SIGUSR2 fetches the parent's secrets now, as under `run` (not SIGUSR1: Node keeps it for its inspector).
      const onUsr2 = () => void app.refreshSecrets();
      signals.on('SIGUSR2', onUsr2);
      await booted.announceReady();
      return {
        ready: { moduleId: app.moduleId, gateway: app.gateway ?? null, secrets: app.secrets },
        close: async () => {
          signals.off('SIGUSR2', onUsr2);
          await app.close();
          await booted.finish();
        },
      };
    },
    io,
    signals,
  );
}
