import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EXIT, processIo, stopSignals, UsageError, type CliIo } from '@nitro-datakey/shared/cli';
import { NitroDatakeyError } from '@nitro-datakey/shared';
import { sealSecret } from '../sealed-secret.js';
import { createClient, openConfiguredNsm, startEnclaveApp } from './app.js';
import { loadEnclaveConfig } from './config.js';

const USAGE = `Usage: nitro-enclave --config FILE
       nitro-enclave seal --config FILE --key-id KEY [--context K=V]... [--out FILE] SECRET_FILE|-

Runs inside the Nitro Enclave. At boot it opens the configured sealed secrets into the secrets
directory and serves a KMS-compatible gateway on loopback: workloads point their AWS SDK at it and
receive plaintext, while every call to KMS goes out attested with CiphertextForRecipient.

"seal" makes a sealed-secret envelope with an attested GenerateDataKey under KEY (run it in the
enclave, or with a simulated NSM for development); --context binds an encryption context.

Prints one JSON line on stdout when ready; stops on SIGINT/SIGTERM.
Exit status: 0 ok, 1 failed, 2 usage or configuration error.
`;

export async function nitroEnclave(argv: readonly string[], io: CliIo = processIo, signals: NodeJS.Process = process): Promise<number> {
  const { stopped, release: unlisten } = stopSignals(signals);
  const log = (entry: Record<string, unknown>) => io.stderr(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  try {
    if (argv[0] === 'seal') {
      unlisten();
      return await seal(argv.slice(1), io);
    }
    const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      unlisten();
      io.stdout(USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0 || values.config === undefined) throw new UsageError('give --config FILE (see --help)');
    const app = await startEnclaveApp(await loadEnclaveConfig(values.config), { log });
    io.stdout(`${JSON.stringify({ ready: true, moduleId: app.moduleId, gateway: app.gateway ?? null, secrets: app.secrets })}\n`);
    await stopped;
    await app.close();
    return EXIT.ok;
  } catch (e) {
    unlisten();
    const usage = e instanceof UsageError || (e as { code?: string }).code === 'ERR_ENCLAVE_CONFIG' || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    io.stderr(`nitro-enclave: ${e instanceof NitroDatakeyError ? `${e.code}: ` : ''}${(e as Error).message}\n`);
    return usage ? EXIT.usage : EXIT.rejected;
  }
}

async function seal(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { config: { type: 'string' }, 'key-id': { type: 'string' }, context: { type: 'string', multiple: true }, out: { type: 'string' } } });
  if (values.config === undefined || values['key-id'] === undefined || positionals.length !== 1) throw new UsageError('seal needs --config FILE, --key-id KEY and one SECRET_FILE (or -)');
  const encryptionContext: Record<string, string> = {};
  for (const pair of values.context ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--context takes K=V, got ${JSON.stringify(pair)}`);
    encryptionContext[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const file = positionals[0] as string;
  const secret = file === '-' ? await io.readStdin() : new Uint8Array(await readFile(file));
  const config = await loadEnclaveConfig(values.config);
  const client = await createClient(config, await openConfiguredNsm(config));
  try {
    const envelope = `${JSON.stringify(await sealSecret(client, secret, { keyId: values['key-id'], encryptionContext }), null, 2)}\n`;
    if (values.out) await writeFile(values.out, envelope, { mode: 0o644 });
    else io.stdout(envelope);
    return EXIT.ok;
  } finally {
    secret.fill(0);
    client.close();
  }
}
