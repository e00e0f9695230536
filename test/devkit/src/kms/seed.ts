import { readFile } from 'node:fs/promises';
import type { KeyStore } from './keystore.js';
import { defaultKeyPolicy, parsePolicyDocument } from '@nitro-datakey/shared/policy';
import { InvalidArgumentError } from '@nitro-datakey/shared';
import { type ConfigReader, configSchema, parseJsonText, plainLocator, readConfig } from '@nitro-datakey/shared/cli';

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

const c = configSchema;
/** A key policy: an object, or its JSON text (checked when the key is made, with the server's account in it). */
const policyValue: ConfigReader<unknown> = {
  read: (value, path, context) =>
    typeof value === 'string' || (value !== null && typeof value === 'object' && !Array.isArray(value))
      ? value
      : context.fail(path, 'a key policy: an object, or its JSON text'),
};
const seedSchema = c.object({
  keys: c.list(
    c.object({
      alias: c.optional(
        c.text((alias) => (/^alias\/[a-zA-Z0-9/_-]+$/.test(alias) && !alias.startsWith('alias/aws/') ? undefined : 'an alias name: alias/NAME')),
      ),
      description: c.optional(c.anyString),
      policy: c.optional(policyValue),
    }),
  ),
});

export async function readSeedFile(path: string): Promise<SeedFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const json = parseJsonText(text, path);
  return readConfig(seedSchema, json, plainLocator(path), (message) => new InvalidArgumentError(message));
}

export async function applySeed(store: KeyStore, seed: SeedFile, env: { region: string; account: string; clock: () => Date }): Promise<void> {
  for (const [index, spec] of seed.keys.entries()) {
    if (spec.alias !== undefined && store.aliases.has(spec.alias)) continue;
    const text = spec.policy === undefined ? defaultKeyPolicy(env.account) : typeof spec.policy === 'string' ? spec.policy : JSON.stringify(spec.policy);
    // Seed files may write ${ACCOUNT} and ${REGION} (literally) for the server's own values.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: these placeholders are literal on purpose
    const policy = text.replaceAll('${ACCOUNT}', env.account).replaceAll('${REGION}', env.region);
    try {
      parsePolicyDocument(policy);
    } catch (e) {
      // KMS's own words (MalformedPolicyDocumentException) follow where the seed file says it.
      throw new InvalidArgumentError(`the seed's keys[${index}]${spec.alias ? ` (${spec.alias})` : ''}: its policy is not valid: ${(e as Error).message}`);
    }
    const now = env.clock().getTime();
    const key = store.newKey(policy, spec.description ?? '', now);
    await store.commit(() => {
      store.keys.set(key.keyId, key);
      if (spec.alias !== undefined) store.aliases.set(spec.alias, { name: spec.alias, targetKeyId: key.keyId, creationDate: now });
    });
  }
}
