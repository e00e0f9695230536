import { parseArgs } from 'node:util';
import type { Nsm } from '@nitro-datakey/shared';
import { type CliCommand, type CliContext, EXIT, stopSignals, UsageError } from '@nitro-datakey/shared/cli';
import { type BootedEnclave, bootEnclave } from '../boot.js';
import { loadEnclaveConfig } from '../config.js';
import { type Spawn, superviseWorkload, workloadBaseEnvironment } from '../supervisor.js';

const RUN_USAGE = `Usage: nitro-enclave run --config FILE [-- COMMAND [ARG]...]

Supervises your workload inside the enclave: opens the configured sealed secrets, starts the KMS
gateway, then runs COMMAND (or the config's "run": {"command": [...]}) with, besides its inherited
environment:
  NITRO_DATAKEY_SECRETS_DIR   the directory holding one 0600 file per opened secret
  NITRO_DATAKEY_GATEWAY       the gateway's address (tcp:127.0.0.1:4000 or unix:/path)
  NITRO_DATAKEY_GATEWAY_URL   for a TCP gateway, its http:// URL
  AWS_ENDPOINT_URL_KMS        the same URL: an unmodified AWS SDK sends KMS calls to the gateway
  NITRO_DATAKEY_MODULE_ID     the enclave's module id
SIGINT and SIGTERM are passed on to the workload; once it exits the gateway stops.
The workload starts only if every secret opened: a secret that fails to open fails the boot.
Secrets without an envelope file come from the parent's secrets route (secrets.route) and are fetched
again every secrets.refreshIntervalMs (default 60 s) or at once on SIGUSR2 to this process: a higher
version replaces its file atomically, and the workload gets secrets.notifySignal if configured. A
version below the one held or the item's minVersion is refused and logged; the file keeps its value.

Exit status: the workload's own (128 + N if signal N ended it), 127 if it could not be started,
1 if the boot failed (a secret, the NSM, KMS), 2 usage or configuration error.
`;

/** What `run` may be given besides the command line: the NSM, and how the workload is started and stopped. */
export interface RunOptions {
  readonly openNsm: () => Promise<Nsm> | Nsm;
  /** How the workload starts (default child_process.spawn, output inherited). */
  readonly spawn?: Spawn;
  /** How long the workload has after SIGTERM before SIGKILL (default 10 s). */
  readonly stopGraceMs?: number;
}

export function runCommand(options: RunOptions): CliCommand {
  return {
    help: RUN_USAGE,
    run: (argv, context) => {
      const split = argv.indexOf('--');
      return run(split < 0 ? argv : argv.slice(0, split), split < 0 ? [] : argv.slice(split + 1), context, options);
    },
  };
}

async function run(argv: readonly string[], command: readonly string[], { io, log, signals }: CliContext, options: RunOptions): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { config: { type: 'string' } } });
  if (values.config === undefined || positionals.length > 0) throw new UsageError('run needs --config FILE, then -- COMMAND [ARG]... (see run --help)');
  const config = await loadEnclaveConfig(values.config);
  const workload = command.length > 0 ? command : (config.run?.command ?? []);
  if (workload.length === 0) throw new UsageError('no workload: give -- COMMAND [ARG]..., or "run": {"command": [...]} in the config');
  // A stop asked for during the boot is honoured once the boot ends: nothing is started, everything closed.
  const { stopped, release } = stopSignals(signals);
  let stopRequested = false;
  void stopped.then(() => {
    stopRequested = true;
  });
  // A rotated secret is announced to the workload with the configured signal, once the workload runs.
  let signalWorkload: ((signal: NodeJS.Signals) => void) | undefined;
  const notifySignal = config.secrets?.notifySignal;
  const onSecretRotated = notifySignal ? () => signalWorkload?.(notifySignal) : undefined;
  let booted: BootedEnclave;
  try {
    booted = await bootEnclave(config, options.openNsm, log, onSecretRotated ? { onSecretRotated } : {});
  } finally {
    release();
  }
  const { app, output } = booted;
  if (stopRequested) {
    await app.close();
    await booted.finish();
    return EXIT.ok;
  }
  await booted.announceReady();
  const status = await superviseWorkload(app, workload, config.secrets?.dir, {
    log: booted.log,
    ...(output ? { output, echo: { stdout: io.stdout, stderr: io.stderr } } : {}),
    signals,
    env: { ...workloadBaseEnvironment(process.env, config.run ?? {}), AWS_REGION: config.region },
    ...(options.spawn ? { spawn: options.spawn } : {}),
    ...(options.stopGraceMs !== undefined ? { stopGraceMs: options.stopGraceMs } : {}),
    onStarted: (signal) => {
      signalWorkload = signal;
    },
  });
  await booted.finish();
  return status;
}
