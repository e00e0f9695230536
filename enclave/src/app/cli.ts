import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { openNsmDevice } from '@nitro-datakey/native';
import type { Nsm } from '@nitro-datakey/shared';
import {
  type CliIo,
  errorLine,
  EXIT,
  exitCodeFor,
  jsonLogger,
  type Logger,
  packageVersion,
  processIo,
  runService,
  UsageError,
  wantsVersion,
} from '@nitro-datakey/shared/cli';
import { sealSecret } from '../sealed-secret.js';
import { createClient, startEnclaveApp } from './app.js';
import { kmsCommand } from './kms-command.js';
import { loadEnclaveConfig } from './config.js';

const USAGE = `Usage: nitro-enclave --config FILE
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
      const app = await startEnclaveApp(config, { nsm: await openNsm(), log });
      return { ready: { moduleId: app.moduleId, gateway: app.gateway ?? null, secrets: app.secrets }, close: () => app.close() };
    },
    io,
    signals,
  );
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
  const encryptionContext: Record<string, string> = {};
  for (const pair of values.context ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--context takes K=V, got ${JSON.stringify(pair)}`);
    encryptionContext[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const file = positionals[0] as string;
  const secret = file === '-' ? await io.readStdin() : new Uint8Array(await readFile(file));
  const config = await loadEnclaveConfig(values.config);
  const client = await createClient(config, await openNsm());
  try {
    const envelope = `${JSON.stringify(await sealSecret(client, secret, { keyId: values['key-id'], name: values.name, encryptionContext }), null, 2)}\n`;
    if (values.out) await writeFile(values.out, envelope, { mode: 0o644 });
    else io.stdout(envelope);
    return EXIT.ok;
  } finally {
    secret.fill(0);
    client.close();
  }
}
