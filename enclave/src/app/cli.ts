import { parseArgs } from 'node:util';
import { bringUpLoopback, openNsmDevice } from '@nitro-datakey/native';
import type { Nsm } from '@nitro-datakey/shared';
import {
  type CliIo,
  errorLine,
  EXIT,
  exitCodeFor,
  jsonLogger,
  type Logger,
  packageVersion,
  parseContextArgs,
  processIo,
  readSecretInput,
  runService,
  stopSignals,
  UsageError,
  wantsVersion,
  writeOutput,
} from '@nitro-datakey/shared/cli';
import { sealSecret } from '../sealed-secret.js';
import { createClient, type EnclaveApp, startEnclaveApp } from './app.js';
import { type Spawn, superviseWorkload, workloadBaseEnvironment } from './supervisor.js';
import { kmsCommand } from './kms-command.js';
import { loadEnclaveConfig } from './config.js';

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

Exit status: the workload's own (128 + N if signal N ended it), 127 if it could not be started,
1 if the boot failed (a secret, the NSM, KMS), 2 usage or configuration error.
`;

const SEAL_USAGE = `Usage: nitro-enclave seal --config FILE --key-id KEY --name NAME [--context K=V]... [--out FILE] SECRET_FILE|-

Makes a sealed-secret envelope: an attested GenerateDataKey under KEY (a full key ARN, or a name in
the config's kms.allowedKeys), the secret encrypted with AES-256-GCM, the data key wrapped by KMS.
NAME is the item name the envelope will open as (secrets.items[].name); it is bound into the
envelope, which opens as no other item. --context binds an extra encryption context (repeatable).
The envelope goes to --out FILE, or to standard output.

Exit status: 0 sealed, 1 failed, 2 usage or configuration error.
`;

/** What a launcher may inject: the dev kit passes a simulated NSM; production uses /dev/nsm. */
export interface NitroEnclaveOptions {
  readonly openNsm?: () => Promise<Nsm> | Nsm;
  readonly log?: Logger;
  /** How `run` starts the workload (default child_process.spawn, output inherited). */
  readonly spawn?: Spawn;
  /** `run`: how long the workload has after SIGTERM before SIGKILL (default 10 s). */
  readonly stopGraceMs?: number;
}

/** The `nitro-enclave` command; returns its exit status and never throws. */
export async function nitroEnclave(
  argv: readonly string[],
  io: CliIo = processIo,
  signals: NodeJS.Process = process,
  options: NitroEnclaveOptions = {},
): Promise<number> {
  const log = options.log ?? jsonLogger((line) => io.stderr(line));
  const openNsm = options.openNsm ?? (() => openNsmDevice());
  if (wantsVersion(argv)) {
    io.stdout(`${packageVersion(import.meta.url)}\n`);
    return EXIT.ok;
  }
  let configPath: string;
  try {
    if (argv[0] === 'kms') return await kmsCommand(argv.slice(1), io, openNsm);
    if (argv[0] === 'run') {
      const split = argv.indexOf('--');
      const own = split < 0 ? argv.slice(1) : argv.slice(1, split);
      if (own.includes('--help') || own.includes('-h')) {
        io.stdout(RUN_USAGE);
        return EXIT.ok;
      }
      return await run(own, split < 0 ? [] : argv.slice(split + 1), io, signals, openNsm, log, options);
    }
    if (argv[0] === 'seal') {
      if (argv.includes('--help') || argv.includes('-h')) {
        io.stdout(SEAL_USAGE);
        return EXIT.ok;
      }
      return await seal(argv.slice(1), io, openNsm);
    }
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      io.stdout(USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0 || values.config === undefined) throw new UsageError('give --config FILE (see --help)');
    configPath = values.config;
  } catch (e) {
    io.stderr(errorLine('nitro-enclave', e));
    return exitCodeFor(e);
  }
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

/**
 * A Nitro Enclave boots with lo down, and the gateway (and the workload's own servers) need it. This
 * is done here rather than with iproute2 in the image: no apt install, no PCR2 drift. Where lo is up
 * already (anywhere but a fresh enclave) this changes nothing and needs no privilege.
 */
function loopbackUp(log: Logger): void {
  try {
    if (bringUpLoopback()) log('info', 'loopback interface brought up');
  } catch (e) {
    // Not fatal by itself: a gateway on loopback then fails to listen, with its own error.
    log('warn', 'cannot bring up the loopback interface', { error: (e as Error).message });
  }
}

async function run(
  argv: readonly string[],
  command: readonly string[],
  io: CliIo,
  signals: NodeJS.Process,
  openNsm: () => Promise<Nsm> | Nsm,
  log: Logger,
  options: NitroEnclaveOptions,
): Promise<number> {
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
  let app: EnclaveApp;
  try {
    loopbackUp(log);
    app = await startEnclaveApp(config, { nsm: await openNsm(), log });
  } catch (e) {
    release();
    io.stderr(errorLine('nitro-enclave run', e));
    return exitCodeFor(e);
  }
  release();
  if (stopRequested) {
    await app.close();
    return EXIT.ok;
  }
  log('info', 'enclave ready', { moduleId: app.moduleId, gateway: app.gateway ?? null, secrets: app.secrets });
  return superviseWorkload(app, workload, config.secrets?.dir, {
    log,
    signals,
    env: { ...workloadBaseEnvironment(process.env, config.run ?? {}), AWS_REGION: config.region },
    ...(options.spawn ? { spawn: options.spawn } : {}),
    ...(options.stopGraceMs !== undefined ? { stopGraceMs: options.stopGraceMs } : {}),
  });
}

async function seal(argv: readonly string[], io: CliIo, openNsm: () => Promise<Nsm> | Nsm): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      'key-id': { type: 'string' },
      name: { type: 'string' },
      context: { type: 'string', multiple: true },
      out: { type: 'string' },
    },
  });
  if (values.config === undefined || values['key-id'] === undefined || values.name === undefined || positionals.length !== 1) {
    throw new UsageError('seal needs --config FILE, --key-id KEY, --name NAME and one SECRET_FILE (or -)');
  }
  const encryptionContext = parseContextArgs(values.context);
  const file = positionals[0] as string;
  const secret = await readSecretInput(file, io);
  try {
    const config = await loadEnclaveConfig(values.config);
    const client = await createClient(config, await openNsm());
    try {
      const envelope = `${JSON.stringify(await sealSecret(client, secret, { keyId: values['key-id'], name: values.name, encryptionContext }), null, 2)}\n`;
      if (values.out) await writeOutput(values.out, envelope);
      else io.stdout(envelope);
      return EXIT.ok;
    } finally {
      client.close();
    }
  } finally {
    secret.fill(0);
  }
}
