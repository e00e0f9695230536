import { parseArgs } from 'node:util';
import type { Nsm } from '@nitro-datakey/shared';
import { type CliContext, runService, UsageError } from '@nitro-datakey/shared/cli';
import { startEnclaveApp } from '../app.js';
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
      const app = await startEnclaveApp(config, { nsm: await openNsm(), log });
      return { ready: { moduleId: app.moduleId, gateway: app.gateway ?? null, secrets: app.secrets }, close: () => app.close() };
    },
    io,
    signals,
  );
}
