import { parseArgs } from 'node:util';
import { openNsmDevice } from '@nitro-datakey/native';
import type { Nsm } from '@nitro-datakey/shared';
import { type CliContext, type CliOptions, type CliCommand, packageVersion, runCli, runService, UsageError } from '@nitro-datakey/shared/cli';
import { startEnclaveApp } from './app.js';
import { kmsCommand } from './commands/kms.js';
import { runCommand } from './commands/run.js';
import { sealCommand } from './commands/seal.js';
import { loadEnclaveConfig } from './config.js';
import { loopbackUp } from './loopback-up.js';
import type { Spawn } from './supervisor.js';

/** What a launcher may inject: the dev kit passes a simulated NSM; production uses /dev/nsm. */
export interface NitroEnclaveOptions extends CliOptions {
  readonly openNsm?: () => Promise<Nsm> | Nsm;
  /** How `run` starts the workload (default child_process.spawn, output inherited). */
  readonly spawn?: Spawn;
  /** `run`: how long the workload has after SIGTERM before SIGKILL (default 10 s). */
  readonly stopGraceMs?: number;
}

function commands(options: NitroEnclaveOptions, openNsm: () => Promise<Nsm> | Nsm): Record<string, CliCommand> {
  return {
    run: runCommand({
      openNsm,
      ...(options.spawn ? { spawn: options.spawn } : {}),
      ...(options.stopGraceMs !== undefined ? { stopGraceMs: options.stopGraceMs } : {}),
    }),
    seal: sealCommand(openNsm),
    kms: kmsCommand(openNsm),
  };
}

const USAGE = `Usage: nitro-enclave --config FILE
       nitro-enclave run --config FILE [-- COMMAND [ARG]...]
       nitro-enclave seal --config FILE --key-id KEY --name NAME [--context K=V]... [--out FILE] SECRET_FILE|-
       nitro-enclave kms decrypt|genkey|genrandom|derive --config FILE ...   (one attested call; see "kms --help")

Runs inside the Nitro Enclave. At boot it opens the configured sealed secrets into the secrets
directory and serves a KMS-compatible gateway on loopback: workloads point their AWS SDK at it and
receive plaintext, while every call to KMS goes out attested with CiphertextForRecipient.

"seal" makes a sealed-secret envelope with an attested GenerateDataKey under KEY (a full key ARN, or
a name in kms.allowedKeys) for the secret NAME (the item name it will open as; bound into the envelope).
Run it in the enclave, or through the dev kit's simulator: "nitro-sim enclave ...". --context binds an
extra encryption context.

Prints one JSON line on stdout when ready; logs JSON lines on stderr; stops on SIGINT/SIGTERM.
Exit status: 0 ok, 1 failed, 2 usage or configuration error.
`;

/** The `nitro-enclave` command; returns its exit status and never throws. */
export function nitroEnclave(argv: readonly string[], options: NitroEnclaveOptions = {}): Promise<number> {
  const openNsm = options.openNsm ?? (() => openNsmDevice());
  return runCli(
    {
      name: 'nitro-enclave',
      help: USAGE,
      version: () => packageVersion(import.meta.url),
      commands: commands(options, openNsm),
      service: (args, context) => serve(args, context, openNsm),
    },
    argv,
    options,
  );
}

/** `nitro-enclave --config FILE`: the app as a service (secrets opened, gateway up) until SIGTERM. */
async function serve(argv: readonly string[], { io, signals, log }: CliContext, openNsm: () => Promise<Nsm> | Nsm): Promise<number> {
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
