import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  PutKeyPolicyCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSecret, sealSecret } from '@nitro-datakey/enclave';
import { enclaveKeyPolicy, toHex } from '@nitro-datakey/shared';
import { localKmsClient, startStack, syntheticMeasurements, type Stack } from '@nitro-datakey/devkit';
import { IAM_ALLOW_ALL_KMS } from '../../support/index.js';

/*
 * The three attacks an untrusted parent can try, end to end: the simulated enclave, the real parent
 * proxy, and the local KMS enforcing the policy `nitro-datakey policy` prints. The parent serves the
 * enclave's credentials (here: the role's session, access key id ASIASTACKTEST), so it can also call
 * KMS directly with them, and choose which account and which keys an alias names.
 */
const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave-host`;
const measurements = syntheticMeasurements('trust-attacks enclave image');

let stack: Stack;
let admin: KMSClient; // the key's administrator
let parent: KMSClient; // the parent instance, calling KMS with the role's credentials it serves
let enclaveKey: string; // the key the enclave was configured with (ARN)
let parentKey: string; // a key the parent controls (policy: the account may do everything)

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: { code?: string; name?: string }) => e.code ?? e.name,
  );

beforeAll(async () => {
  stack = await startStack({
    nsm: { measurements },
    kms: {
      account: ACCOUNT,
      principals: { AKIDADMIN: `arn:aws:iam::${ACCOUNT}:user/admin`, ASIASTACKTEST: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-host/i-0abc` },
      // The parent's role has all of KMS in its IAM (the worst case: the parent may well set it so).
      iamPolicies: { [`arn:aws:iam::${ACCOUNT}:user/admin`]: IAM_ALLOW_ALL_KMS, [`arn:aws:iam::${ACCOUNT}:role/enclave-host`]: IAM_ALLOW_ALL_KMS },
    },
  });
  admin = localKmsClient(stack.kms, { accessKeyId: 'AKIDADMIN' });
  parent = localKmsClient(stack.kms, { accessKeyId: 'ASIASTACKTEST' });
  const pcrs = new Map([...measurements].filter(([i]) => i <= 2).map(([i, v]) => [i, toHex(v)]));
  const policy = JSON.stringify(enclaveKeyPolicy({ account: ACCOUNT, roleArn: ROLE, pcrs }));
  enclaveKey = (await admin.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata?.Arn as string;
  parentKey = (await parent.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
  await admin.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: enclaveKey }));
});

afterAll(async () => {
  admin?.destroy();
  parent?.destroy();
  await stack?.close();
});

describe('trust attack A: the parent chooses which key gets the data key', () => {
  it('the pinned enclave works; an alias the parent re-points never reaches KMS: the pinned ARN is sent', async () => {
    const pinned = stack.clientFor(stack.nsm, { allowedKeys: { 'alias/app': enclaveKey } });
    const sealed = await sealSecret(pinned, new TextEncoder().encode('s3cret'), { keyId: 'alias/app', name: 'db-password' });
    expect(sealed.keyId).toBe(enclaveKey);
    // The parent re-points the alias (in its own account this needs no permission on our key at all).
    await parent.send(new CreateAliasCommand({ AliasName: 'alias/parent-app', TargetKeyId: parentKey }));
    const hijacked = stack.clientFor(stack.nsm, { allowedKeys: { 'alias/parent-app': enclaveKey } });
    // The alias is only a local name for the pinned ARN: KMS is asked about enclaveKey, never about what
    // alias/parent-app means in the parent's account, so the data key is under the enclave's key.
    const dataKey = await hijacked.generateDataKey({ KeyId: 'alias/parent-app', KeySpec: 'AES_256' });
    expect(dataKey.keyId).toBe(enclaveKey);
    expect(await codeOf(parent.send(new DecryptCommand({ CiphertextBlob: dataKey.ciphertextBlob })))).toBe('AccessDeniedException');
    dataKey.plaintext.fill(0);
    expect((await sealSecret(hijacked, new TextEncoder().encode('s3cret'), { keyId: 'alias/parent-app', name: 'x' })).keyId).toBe(enclaveKey);
  });

  it('an alias or key id that is not pinned to an ARN is refused before any call', async () => {
    const unpinned = stack.clientFor(stack.nsm);
    expect(await codeOf(unpinned.generateDataKey({ KeyId: 'alias/app', KeySpec: 'AES_256' }))).toBe('ERR_KMS_WRONG_KEY');
    expect((await unpinned.generateDataKey({ KeyId: enclaveKey, KeySpec: 'AES_256' })).keyId).toBe(enclaveKey);
  });

  it('what the attack needs: a CiphertextBlob under the parent key, which the parent decrypts without attestation', async () => {
    // Had the alias gone to KMS as written, the data key would have come back under the parent's key.
    // Shown here: with such a blob, the parent opens it without any attestation.
    const answer = await parent.send(new GenerateDataKeyCommand({ KeyId: parentKey, KeySpec: 'AES_256' }));
    const opened = await parent.send(new DecryptCommand({ CiphertextBlob: answer.CiphertextBlob as Uint8Array }));
    expect(opened.Plaintext).toHaveLength(32);
  });
});

describe('trust attack B: the parent uses the role to manage the key', () => {
  it('with the generated policy, the role can neither rewrite the policy nor re-point the alias', async () => {
    const open = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
    });
    expect(await codeOf(parent.send(new PutKeyPolicyCommand({ KeyId: enclaveKey, Policy: open })))).toBe('AccessDeniedException');
    expect(await codeOf(parent.send(new UpdateAliasCommand({ AliasName: 'alias/app', TargetKeyId: parentKey })))).toBe('AccessDeniedException');
    // And it still cannot use the key without a matching attestation document.
    expect(await codeOf(parent.send(new GenerateDataKeyCommand({ KeyId: enclaveKey, KeySpec: 'AES_256' })))).toBe('AccessDeniedException');
  });
});

describe('trust attack C: envelopes of unproven origin', () => {
  it('an envelope is opened only as the item it was sealed for, under the key the item names', async () => {
    const client = stack.clientFor(stack.nsm, { allowedKeys: { 'alias/app': enclaveKey } });
    const db = await sealSecret(client, new TextEncoder().encode('db secret'), { keyId: enclaveKey, name: 'db-password', encryptionContext: { app: 'x' } });
    const api = await sealSecret(client, new TextEncoder().encode('api secret'), { keyId: enclaveKey, name: 'api-token', encryptionContext: { app: 'x' } });
    expect(new TextDecoder().decode(await openSecret(client, db, { keyId: enclaveKey, name: 'db-password' }))).toBe('db secret');
    // Swapped: the parent serves the api-token envelope where db-password is expected.
    expect(await codeOf(openSecret(client, api, { keyId: enclaveKey, name: 'db-password' }))).toBe('ERR_SEALED_SECRET_CONTEXT');
    // Renamed in the envelope: KMS's context check (and GCM's AAD) catch it.
    const renamed = { ...api, encryptionContext: { ...api.encryptionContext, 'nitro-datakey:secret-name': 'db-password' } };
    expect(await codeOf(openSecret(client, renamed, { keyId: enclaveKey, name: 'db-password' }))).toBe('ERR_SEALED_SECRET_KEY');
    // An envelope the parent made under its own key, claiming to be db-password.
    const forged = await sealSecret(stack.clientFor(stack.nsm), new TextEncoder().encode('attacker value'), { keyId: parentKey, name: 'db-password' });
    expect(await codeOf(openSecret(client, forged, { keyId: enclaveKey, name: 'db-password' }))).toBe('ERR_SEALED_SECRET_KEY');
    // The same, relabelled with our key's ARN: KMS refuses to unwrap a blob of another key.
    expect(await codeOf(openSecret(client, { ...forged, keyId: enclaveKey }, { keyId: enclaveKey, name: 'db-password' }))).toBe('ERR_SEALED_SECRET_KEY');
  });
});
