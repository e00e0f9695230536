import { execFile } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateKeyCommand, DecryptCommand, GenerateDataKeyCommand, type KMSClient, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSecret } from '@nitro-datakey/enclave';
import { fromBase64, parseSealedSecret } from '@nitro-datakey/shared';
import { nitroDatakey } from '@nitro-datakey/commands';
import { localKmsClient, SimulatedNsm, startLocalKms, startStack, type Stack } from '@nitro-datakey/devkit';
import { projectRoot, enclaveRecipient } from '../../support/index.js';

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
  const code = await nitroDatakey(argv, { io: { stdout: (t) => (out += String(t)), stderr: () => {}, readStdin: async () => new Uint8Array(0) } });
  expect(code).toBe(0);
  return out;
}

/** `nitro-datakey seal` as an operator runs it: a separate process with the SDK's own credential chain. */
async function seal(name: string, extra: string[] = []): Promise<{ code: number; stderr: string; out: string }> {
  const secretFile = join(dir, `${name}.txt`);
  writeFileSync(secretFile, SECRET);
  const out = join(dir, `${name}.sealed.json`);
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDOPERATOR', AWS_SECRET_ACCESS_KEY: 'operator-secret', AWS_REGION: stack.kms.region };
  const argv = [join(projectRoot(), 'shared/commands/bin/nitro-datakey.js'), 'seal', '--key-id', stack.keyId, '--name', name, '--endpoint', stack.kms.endpoint];
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
  rmSync(dir, { recursive: true, force: true });
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

describe('nitro-datakey seal: what it refuses before anything is sent', () => {
  /** The command as an operator runs it, with `env` replacing the operator's environment where given. */
  const sealRaw = async (argv: string[], env: NodeJS.ProcessEnv, input?: string): Promise<{ code: number; stderr: string }> => {
    const child = execFile(process.execPath, [join(projectRoot(), 'shared/commands/bin/nitro-datakey.js'), 'seal', ...argv], { env });
    child.stdin?.end(input ?? '');
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
    return { code, stderr };
  };
  const operatorEnv = () => ({
    PATH: process.env['PATH'],
    AWS_ACCESS_KEY_ID: 'AKIDOPERATOR',
    AWS_SECRET_ACCESS_KEY: 'operator-secret',
    AWS_REGION: stack.kms.region,
  });
  const base = () => ['--key-id', stack.keyId, '--name', 'db-password'];
  const secretFile = () => {
    const f = join(dir, 'refusals.txt');
    writeFileSync(f, SECRET);
    return f;
  };

  it('refuses an endpoint that would carry the data key in clear, unless it is loopback and the flag says so', async () => {
    for (const endpoint of ['http://kms.example.com', 'http://10.0.0.5:8080', 'ftp://127.0.0.1', 'not a url']) {
      const r = await sealRaw([...base(), '--endpoint', endpoint, secretFile()], operatorEnv());
      expect(r.code, endpoint).toBe(2);
      expect(r.stderr, endpoint).toMatch(/--endpoint/);
    }
    const loopback = await sealRaw([...base(), '--endpoint', 'http://127.0.0.1:9', secretFile()], operatorEnv());
    expect(loopback.code).toBe(2);
    expect(loopback.stderr).toContain('--insecure-http-loopback');
    // With the flag, a plain-http local KMS on loopback is used.
    const plain = await startLocalKms({});
    try {
      const key = localKmsClient(plain);
      const keyArn = (await key.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
      key.destroy();
      const out = join(dir, 'plain.sealed.json');
      const ok = await sealRaw(
        ['--key-id', keyArn, '--name', 'db-password', '--endpoint', plain.endpoint, '--insecure-http-loopback', '--out', out, secretFile()],
        operatorEnv(),
      );
      expect(ok.stderr).toContain('sealed db-password');
      expect(ok.code).toBe(0);
    } finally {
      await plain.close();
    }
  });

  it('refuses an empty secret, from a file or from standard input', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    for (const [file, input] of [
      [empty, ''],
      ['-', ''],
    ] as const) {
      const r = await sealRaw([...base(), '--endpoint', stack.kms.endpoint, '--ca-file', stack.kms.caCertPath as string, file], operatorEnv(), input);
      expect(r.code, file).toBe(2);
      expect(r.stderr, file).toMatch(/empty/);
    }
  });

  it('reports local mistakes as usage errors: no region, no credentials, an unreadable CA file', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ndk-seal-home-')); // no ~/.aws: nothing to fall back on
    try {
      const clean = { PATH: process.env['PATH'], HOME: home, AWS_EC2_METADATA_DISABLED: 'true' };
      const args = [...base(), '--endpoint', stack.kms.endpoint, '--ca-file', stack.kms.caCertPath as string, secretFile()];
      const noRegion = await sealRaw(args, { ...clean, AWS_ACCESS_KEY_ID: 'AKIDOPERATOR', AWS_SECRET_ACCESS_KEY: 'x' });
      expect(noRegion.code).toBe(2);
      expect(noRegion.stderr).toMatch(/region/i);
      const noCredentials = await sealRaw(args, { ...clean, AWS_REGION: stack.kms.region });
      expect(noCredentials.code).toBe(2);
      expect(noCredentials.stderr).toMatch(/credentials/i);
      const badCa = await sealRaw([...base(), '--endpoint', stack.kms.endpoint, '--ca-file', join(dir, 'missing.pem'), secretFile()], operatorEnv());
      expect(badCa.code).toBe(2);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('writes --out atomically and never through a symlink planted there', async () => {
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'keep me');
    const out = join(dir, 'planted.sealed.json');
    symlinkSync(target, out);
    const r = await sealRaw(
      [...base(), '--endpoint', stack.kms.endpoint, '--ca-file', stack.kms.caCertPath as string, '--out', out, secretFile()],
      operatorEnv(),
    );
    expect(r.code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(lstatSync(out).isSymbolicLink()).toBe(false);
    expect(parseSealedSecret(readFileSync(out)).keyId).toBe(stack.keyId);
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
