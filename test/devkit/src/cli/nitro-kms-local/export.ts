import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CliCommand, type CliIo, EXIT, UsageError } from '@nitro-datakey/shared/cli';
import { DevkitError } from '../../errors.js';
import type { StoredAlias, StoredKey } from '../../kms/keystore.js';

const EXPORT_HELP = `Usage: nitro-kms-local export --data-dir DIR [--region REGION] [--account ID]

Prints the data directory's keys and aliases as JSON (metadata and policies, never key material); it
reads state.json and works while a server runs on the directory.

Exit status: 0 ok, 1 failed, 2 usage error.
`;

export const exportCommand: CliCommand = {
  help: EXPORT_HELP,
  run: (argv, { io }) => exportKeyStore(argv, io),
};

/** `nitro-kms-local export`: the key store's metadata as JSON, for inspection and backups (no key material). */
async function exportKeyStore(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, region: { type: 'string' }, account: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values['data-dir'] === undefined) throw new UsageError('--data-dir DIR is required');
  const region = values.region ?? 'us-east-1';
  const account = values.account ?? '111122223333';
  let text: string;
  try {
    text = await readFile(join(values['data-dir'], 'state.json'), 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${join(values['data-dir'], 'state.json')}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const state = JSON.parse(text) as { format?: string; keys?: StoredKey[]; aliases?: StoredAlias[] };
  if (state.format !== 'nitro-kms-local/1' || !Array.isArray(state.keys) || !Array.isArray(state.aliases)) {
    throw new DevkitError('ERR_KMS_DATA_DIR', `${values['data-dir']}/state.json is not a nitro-kms-local/1 key store`);
  }
  const arn = (keyId: string) => `arn:aws:kms:${region}:${account}:key/${keyId}`;
  const out = {
    format: 'nitro-kms-local/export-1',
    keys: state.keys.map((k) => ({
      KeyId: k.keyId,
      Arn: arn(k.keyId),
      KeyState: k.state,
      Description: k.description,
      KeyUsage: k.keyUsage ?? 'ENCRYPT_DECRYPT',
      KeySpec: k.keySpec ?? 'SYMMETRIC_DEFAULT',
      CreationDate: new Date(k.creationDate).toISOString(),
      ...(k.deletionDate !== undefined ? { DeletionDate: new Date(k.deletionDate).toISOString() } : {}),
      ...(k.publicKey ? { PublicKey: k.publicKey } : {}),
      Policy: JSON.parse(k.policy) as unknown,
    })),
    aliases: state.aliases.map((a) => ({ AliasName: a.name, TargetKeyId: a.targetKeyId, CreationDate: new Date(a.creationDate).toISOString() })),
  };
  io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  return EXIT.ok;
}
