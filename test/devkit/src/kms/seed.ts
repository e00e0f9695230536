import { readFile } from 'node:fs/promises';
import type { KeyStore } from './keystore.js';
import { defaultKeyPolicy, parsePolicy } from './policy.js';
import { InvalidArgumentError } from '@nitro-datakey/shared';

/** Keys to create at start: `{"keys": [{"alias": "alias/app", "description": "...", "policy": {...}}]}`. */
export interface SeedFile {
  readonly keys: readonly SeedKey[];
}

export interface SeedKey {
  /** Created only if no key holds this alias yet, so restarting with the same seed changes nothing. */
  readonly alias?: string;
  readonly description?: string;
  /** A key policy (object or JSON text); `${ACCOUNT}` and `${REGION}` are replaced. Default: the account may do everything. */
  readonly policy?: unknown;
}

export async function readSeedFile(path: string): Promise<SeedFile> {
  const json = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (json === null || typeof json !== 'object' || !Array.isArray((json as { keys?: unknown }).keys))
    throw new InvalidArgumentError(`${path}: expected {"keys": [...]}`);
  for (const [i, key] of ((json as SeedFile).keys as unknown[]).entries()) {
    if (key === null || typeof key !== 'object') throw new InvalidArgumentError(`${path}: keys[${i}] must be an object`);
    for (const field of Object.keys(key))
      if (!['alias', 'description', 'policy'].includes(field)) throw new InvalidArgumentError(`${path}: keys[${i}] has an unknown field ${field}`);
  }
  return json as SeedFile;
}

export async function applySeed(store: KeyStore, seed: SeedFile, env: { region: string; account: string; clock: () => Date }): Promise<void> {
  for (const spec of seed.keys) {
    if (spec.alias !== undefined && store.aliases.has(spec.alias)) continue;
    const text = spec.policy === undefined ? defaultKeyPolicy(env.account) : typeof spec.policy === 'string' ? spec.policy : JSON.stringify(spec.policy);
    // Seed files may write ${ACCOUNT} and ${REGION} (literally) for the server's own values.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: these placeholders are literal on purpose
    const policy = text.replaceAll('${ACCOUNT}', env.account).replaceAll('${REGION}', env.region);
    parsePolicy(policy);
    const now = env.clock().getTime();
    const key = store.newKey(policy, spec.description ?? '', now);
    await store.commit(() => {
      store.keys.set(key.keyId, key);
      if (spec.alias !== undefined) store.aliases.set(spec.alias, { name: spec.alias, targetKeyId: key.keyId, creationDate: now });
    });
  }
}
