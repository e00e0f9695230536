import { parseArgs } from 'node:util';
import type { Nsm } from '@nitro-datakey/shared';
import { type CliCommand, type CliIo, EXIT, UsageError, writeOutput } from '@nitro-datakey/shared/cli';
import { readSealRequest } from '@nitro-datakey/shared/cli/seal';
import { sealSecret } from '../../sealed-secret.js';
import { createClient } from '../app.js';
import { loadEnclaveConfig } from '../config.js';

const SEAL_USAGE = `Usage: nitro-enclave seal --config FILE --key-id KEY --name NAME [--context K=V]... [--version N] [--out FILE] SECRET_FILE|-

Makes a sealed-secret envelope: an attested GenerateDataKey under KEY (a full key ARN, or a name in
the config's kms.allowedKeys), the secret encrypted with AES-256-GCM, the data key wrapped by KMS.
NAME is the item name the envelope will open as (secrets.items[].name); it is bound into the
envelope, which opens as no other item. --context binds an extra encryption context (repeatable),
--version N the secret's version (the enclave refuses to go back to a lower one).
The envelope goes to --out FILE, or to standard output.

Exit status: 0 sealed, 1 failed, 2 usage or configuration error.
`;

export function sealCommand(openNsm: () => Promise<Nsm> | Nsm): CliCommand {
  return {
    help: SEAL_USAGE,
    run: (argv, { io }) => seal(argv, io, openNsm),
  };
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
      version: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (values.config === undefined || values['key-id'] === undefined || values.name === undefined || positionals.length !== 1) {
    throw new UsageError('seal needs --config FILE, --key-id KEY, --name NAME and one SECRET_FILE (or -) (see --help)');
  }
  const { name, context, secret } = await readSealRequest(
    { name: values.name, context: values.context, version: values.version, file: positionals[0] as string },
    io,
  );
  try {
    const config = await loadEnclaveConfig(values.config);
    const client = await createClient(config, await openNsm());
    try {
      const envelope = `${JSON.stringify(await sealSecret(client, secret, { keyId: values['key-id'], name, encryptionContext: context }), null, 2)}\n`;
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
