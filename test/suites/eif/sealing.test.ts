import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSecret } from '@nitro-datakey/enclave';
import { fromBase64, parseSealedSecret } from '@nitro-datakey/shared';
import { nitroDatakey } from '@nitro-datakey/shared/cli';
import { enclaveRecipient, localKmsClient, SimulatedNsm, startStack, type Stack } from '@nitro-datakey/devkit';
import { projectRoot } from '../../support/index.js';

/*
 * The operator's sealing workflow and an image upgrade, against the local KMS with the policies
 * `nitro-datakey policy` generates: the operator seals with plain credentials and cannot open; the
 * measured enclave opens; an enclave with another PCR0 cannot; a roll from one image to the next never
 * leaves a moment where the fleet cannot open its secrets.
 */

const run = promisify(execFile);
const ACCOUNT = '444455556666';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave-host`;
const SEALER = `arn:aws:iam::${ACCOUNT}:role/secrets-operator`;
const hex = (byte: string) => byte.repeat(48);
const OLD = { PCR0: hex('0a'), PCR1: hex('1a'), PCR2: hex('2a') };
const NEW = { PCR0: hex('0b'), PCR1: hex('1b'), PCR2: hex('2b') };
const SECRET = 'postgres://app:correct-horse-battery-staple@db/app\n';

let dir: string;
let stack: Stack;
let operator: KMSClient;
let role: KMSClient;
let envelopeFile: string;

const asMap = (m: Record<string, string>) => new Map(Object.entries(m).map(([k, v]) => [Number(k.slice(3)), new Uint8Array(Buffer.from(v, 'hex'))]));
const enclaveOf = (m: Record<string, string>) => SimulatedNsm.client({ pki: stack.pki, measurements: asMap(m) });

async function policy(...images: string[]): Promise<string> {
  let out = '';
  const argv = ['policy', ...images.flatMap((f) => ['--measurements', join(dir, f)]), '--account', ACCOUNT, '--role-arn', ROLE, '--sealer-arn', SEALER];
  const code = await nitroDatakey(argv, { stdout: (t) => (out += String(t)), stderr: () => {}, readStdin: async () => new Uint8Array(0) });
  expect(code).toBe(0);
  return out;
}

/** `nitro-datakey seal` as an operator runs it: a separate process with the SDK's own credential chain. */
async function seal(name: string, extra: string[] = []): Promise<{ code: number; stderr: string; out: string }> {
  const secretFile = join(dir, `${name}.txt`);
  writeFileSync(secretFile, SECRET);
  const out = join(dir, `${name}.sealed.json`);
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDOPERATOR', AWS_SECRET_ACCESS_KEY: 'operator-secret', AWS_REGION: stack.kms.region };
  const argv = [join(projectRoot(), 'shared/bin/nitro-datakey.js'), 'seal', '--key-id', stack.keyId, '--name', name, '--endpoint', stack.kms.endpoint];
  argv.push('--ca-file', stack.kms.caCertPath as string, '--out', out, ...extra, secretFile);
  try {
    const r = await run(process.execPath, argv, { env });
    return { code: 0, stderr: r.stderr, out };
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr, out };
  }
}

const opens = async (nsm: Awaited<ReturnType<typeof enclaveOf>> | Stack['nsm'], name = 'db-password') => {
  const client = stack.clientFor(nsm);
  try {
    return Buffer.from(await openSecret(client, await readFile(envelopeFile), { keyId: stack.keyId, name })).toString();
  } catch (e) {
    return `${(e as { code?: string }).code}:${(e as { kmsErrorName?: string }).kmsErrorName ?? ''}`;
  } finally {
    client.close();
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ndk-sealing-'));
  writeFileSync(join(dir, 'old.json'), JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', ...OLD } }));
  writeFileSync(join(dir, 'new.json'), JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', ...NEW } }));
  const principals = {
    ASIASTACKTEST: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-host/i-0abc`,
    AKIDOPERATOR: `arn:aws:sts::${ACCOUNT}:assumed-role/secrets-operator/alice`,
  };
  // The stack's key is created by the account (the local KMS's default caller) with the generated policy.
  const pcrs = asMap(OLD);
  stack = await startStack({ kms: { account: ACCOUNT, principals }, nsm: { measurements: pcrs }, keyPolicy: await policy('old.json') });
  operator = localKmsClient(stack.kms, { accessKeyId: 'AKIDOPERATOR' });
  role = localKmsClient(stack.kms, { accessKeyId: 'ASIASTACKTEST' });
  const sealed = await seal('db-password');
  expect(sealed.stderr).toContain('sealed db-password');
  expect(sealed.code).toBe(0);
  envelopeFile = sealed.out;
}, 60_000);

afterAll(async () => {
  operator?.destroy();
  role?.destroy();
  await stack?.close();
});

describe('sealing for operators (nitro-datakey seal, policy --sealer-arn)', () => {
  it('the operator seals with its own credentials: the envelope names the key and the item, and holds no plaintext', async () => {
    const text = await readFile(envelopeFile, 'utf8');
    const envelope = parseSealedSecret(text);
    expect(envelope.keyId).toBe(stack.keyId);
    expect(envelope.encryptionContext).toEqual({ 'nitro-datakey:secret-name': 'db-password' });
    expect(text).not.toContain('correct-horse');
    expect(Buffer.from(envelope.ciphertext, 'base64').toString()).not.toContain('correct-horse');
  });

  it('the measured enclave opens it', async () => {
    expect(await opens(stack.nsm)).toBe(SECRET);
  });

  it('the operator cannot open it: Decrypt is denied, with or without an attestation document', async () => {
    const envelope = parseSealedSecret(await readFile(envelopeFile, 'utf8'));
    const blob = fromBase64(envelope.encryptedDataKey, 'blob');
    const denied = (p: Promise<unknown>) =>
      p.then(
        () => 'OK',
        (e: Error) => e.name,
      );
    expect(await denied(operator.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { ...envelope.encryptionContext } })))).toBe(
      'AccessDeniedException',
    );
    const measured = await enclaveRecipient(await enclaveOf(OLD));
    const withRecipient = new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { ...envelope.encryptionContext }, Recipient: measured.recipient });
    expect(await denied(operator.send(withRecipient))).toBe('AccessDeniedException');
    // The sealer exemption is the sealer's alone: the enclave role still needs attestation to make a data key.
    expect(await denied(role.send(new GenerateDataKeyCommand({ KeyId: stack.keyId, KeySpec: 'AES_256' })))).toBe('AccessDeniedException');
    expect(await denied(operator.send(new GenerateDataKeyCommand({ KeyId: stack.keyId, KeySpec: 'AES_256' })))).toBe('OK');
  });

  it('an enclave with another PCR0 cannot open it (KMS refuses its attested Decrypt)', async () => {
    expect(await opens(await enclaveOf({ ...OLD, PCR0: hex('0e') }))).toBe('ERR_KMS_REQUEST_FAILED:AccessDeniedException');
  });

  it('the envelope opens as its own item only', async () => {
    expect(await opens(stack.nsm, 'api-token')).toBe('ERR_SEALED_SECRET_CONTEXT:');
  });

  it("a refused seal exits 1 and names KMS's exception; bad usage exits 2", async () => {
    const wrongKey = await seal('x', ['--key-id', `arn:aws:kms:${stack.kms.region}:${ACCOUNT}:key/00000000-0000-4000-8000-000000000000`]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/ERR_SEALED_SECRET_KMS|NotFoundException/);
    const badName = await seal('bad', ['--name', '../etc/passwd']);
    expect(badName.code).toBe(2);
  });
});

describe('image upgrade: policy --measurements OLD --measurements NEW, then NEW alone', () => {
  it('rolls from the old image to the new one with no window where secrets cannot be opened', async () => {
    const put = async (doc: string) => {
      const admin = localKmsClient(stack.kms);
      try {
        await admin.send(new PutKeyPolicyCommand({ KeyId: stack.keyId, Policy: doc }));
      } finally {
        admin.destroy();
      }
    };
    const oldImage = stack.nsm;
    const newImage = await enclaveOf(NEW);
    const denied = 'ERR_KMS_REQUEST_FAILED:AccessDeniedException';

    // Before: only the old image.
    expect(await opens(oldImage)).toBe(SECRET);
    expect(await opens(newImage)).toBe(denied);

    // During the roll: both, each by its own statement.
    const rolling = await policy('old.json', 'new.json');
    expect(JSON.parse(rolling).Statement.map((s: { Sid: string }) => s.Sid)).toEqual(
      expect.arrayContaining(['EnclaveUsesTheKeyWithMatchingAttestation', 'EnclaveUsesTheKeyWithMatchingAttestation2']),
    );
    await put(rolling);
    expect(await opens(oldImage)).toBe(SECRET);
    expect(await opens(newImage)).toBe(SECRET);
    // One image's PCR0 with the other's PCR1 is neither image: per-image statements do not mix values.
    expect(await opens(await enclaveOf({ ...NEW, PCR1: OLD.PCR1 }))).toBe(denied);

    // After: the old measurements removed.
    await put(await policy('new.json'));
    expect(await opens(newImage)).toBe(SECRET);
    expect(await opens(oldImage)).toBe(denied);
  });
});
