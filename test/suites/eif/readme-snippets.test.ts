import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnclaveConfig } from '@nitro-datakey/enclave';
import { parsePolicyDocument } from '@nitro-datakey/shared/policy';
import { projectRoot } from '../../support/index.js';

/*
 * The JSON a reader copies out of the README and the deployment guide is JSON: every ```json block parses
 * (a fragment of enclave.json parses inside braces), the enclave config fragments are configs the enclave
 * reads (with the required keys filled in), and the IAM policies are policies.
 */
const root = projectRoot();
const blocks = (file: string) => [...readFileSync(join(root, file), 'utf8').matchAll(/```json\n([\s\S]*?)```/g)].map((m) => (m[1] as string).trim());
const REQUIRED = { region: 'us-east-1', kms: { transport: 'vsock:3:8000' }, credentials: { transport: 'vsock:3:8002' } };
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** A block as JSON: a whole document, or a fragment of an object (`"kms": {...}, "run": {...}`). */
function parse(block: string): Record<string, unknown> {
  try {
    return JSON.parse(block) as Record<string, unknown>;
  } catch {
    return JSON.parse(`{${block}}`) as Record<string, unknown>;
  }
}

/** An enclave config fragment made whole: the required keys added, every key name mapped to a real ARN. */
function completed(fragment: Record<string, unknown>): Record<string, unknown> {
  const config = structuredClone({ ...REQUIRED, ...fragment }) as Record<string, unknown> & { kms: { allowedKeys?: Record<string, string> } };
  const secrets = config['secrets'] as { items?: { keyId: string }[] } | undefined;
  const names = [...Object.keys(config.kms.allowedKeys ?? {}), ...(secrets?.items ?? []).map((i) => i.keyId)];
  if (names.length > 0) config.kms.allowedKeys = Object.fromEntries(names.map((n) => [n, KEY_ARN]));
  return config;
}

describe.each(['README.md', 'eif/README.md'])('%s', (file) => {
  const found = blocks(file).map((block) => ({ block, value: parse(block) }));

  it('has JSON snippets, and each parses (a fragment inside braces)', () => {
    expect(found.length).toBeGreaterThan(1);
    for (const { value } of found) expect(typeof value).toBe('object');
  });

  it('each enclave config in it is one the enclave reads; each policy one the policy reader takes', () => {
    for (const { block, value } of found) {
      if ('Statement' in value) {
        // Placeholders (key/...) stay as they are: the policy's shape is what is checked.
        expect(() => parsePolicyDocument(block, block.includes('"Principal"') ? 'key' : 'iam'), block.slice(0, 80)).not.toThrow();
      } else if (['kms', 'secrets', 'telemetry', 'gateway', 'run'].some((k) => k in value)) {
        expect(() => parseEnclaveConfig(completed(value), `${file} snippet`), block.slice(0, 80)).not.toThrow();
      }
    }
  });
});
