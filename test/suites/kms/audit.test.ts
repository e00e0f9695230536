import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateKeyCommand, DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { enclaveKeyPolicy, toBase64, toHex } from '@nitro-datakey/shared';
import { type AuditEvent, localKmsClient, NitroPki, SimulatedNsm, startLocalKms, syntheticMeasurements } from '@nitro-datakey/devkit';
import { enclaveRecipient, kmsBinPath, spawnLocalKms } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

const run = promisify(execFile);
const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave-host`;

describe('the audit trail', () => {
  it('records plain, attested, denied and failed calls as CloudTrail does, and never key material or documents', async () => {
    const pki = await NitroPki.create();
    const measurements = syntheticMeasurements('audited image');
    const events: AuditEvent[] = [];
    const kms = await startLocalKms({
      account: ACCOUNT,
      trustedRootFingerprints: [pki.rootFingerprint],
      principals: { AKIDHOST: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-host/i-0abc` },
      audit: (e) => events.push(e),
    });
    const admin = localKmsClient(kms);
    const host = localKmsClient(kms, { accessKeyId: 'AKIDHOST' });
    try {
      const open = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
      const pcrs = new Map([...measurements].filter(([i]) => i <= 2).map(([i, v]) => [i, toHex(v)]));
      const pinned = (await admin.send(new CreateKeyCommand({ Policy: JSON.stringify(enclaveKeyPolicy({ account: ACCOUNT, roleArn: ROLE, pcrs })) })))
        .KeyMetadata?.Arn as string;
      const secrets: string[] = [];

      const plainKey = await admin.send(new GenerateDataKeyCommand({ KeyId: open, KeySpec: 'AES_256', EncryptionContext: { app: 'audit' } }));
      secrets.push(toBase64(plainKey.Plaintext as Uint8Array), toBase64(plainKey.CiphertextBlob as Uint8Array));
      const good = await enclaveRecipient(await SimulatedNsm.client({ pki, measurements }));
      const attested = await host.send(new GenerateDataKeyCommand({ KeyId: pinned, KeySpec: 'AES_256', Recipient: good.recipient }));
      secrets.push(toBase64(attested.CiphertextForRecipient as Uint8Array), toBase64(good.recipient.AttestationDocument as Uint8Array));
      const bad = await enclaveRecipient(await SimulatedNsm.client({ pki, measurements: syntheticMeasurements('another image') }));
      await host.send(new GenerateDataKeyCommand({ KeyId: pinned, KeySpec: 'AES_256', Recipient: bad.recipient })).catch(() => undefined);
      await admin.send(new DecryptCommand({ CiphertextBlob: new Uint8Array(64) })).catch(() => undefined);

      const gdk = events.filter((e) => e.eventName === 'GenerateDataKey');
      expect(gdk).toHaveLength(3);
      expect(gdk[0]).toMatchObject({
        eventSource: 'kms.amazonaws.com',
        userIdentity: { arn: `arn:aws:iam::${ACCOUNT}:root` },
        requestParameters: { keyId: open, keySpec: 'AES_256', encryptionContext: { app: 'audit' } },
        resources: [{ ARN: open, type: 'AWS::KMS::Key' }],
        additionalEventData: { policyDecision: { effect: 'Allow' } },
      });
      expect(gdk[0]?.additionalEventData?.['recipient']).toBeUndefined();
      expect(gdk[1]).toMatchObject({
        userIdentity: { type: 'AssumedRole' },
        requestParameters: { recipient: { keyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' } },
        additionalEventData: {
          recipient: {
            attestationDocumentModuleId: expect.stringMatching(/-enc/),
            attestationDocumentEnclavePCRs: { PCR0: toHex(measurements.get(0) as Uint8Array) },
          },
          policyDecision: { effect: 'Allow', statement: 'EnclaveUsesTheKeyWithMatchingAttestation' },
        },
      });
      expect(gdk[2]).toMatchObject({ errorCode: 'AccessDeniedException', additionalEventData: { policyDecision: { effect: 'ImplicitDeny' } } });
      expect(events.find((e) => e.eventName === 'Decrypt')).toMatchObject({ errorCode: 'InvalidCiphertextException' });
      const all = JSON.stringify(events);
      for (const secret of secrets) expect(all).not.toContain(secret);
    } finally {
      admin.destroy();
      host.destroy();
      await kms.close();
    }
  });

  it('marks every answer a fault changed or withheld (additionalEventData.injectedFault), and only those', async () => {
    const pki = await NitroPki.create();
    const events: AuditEvent[] = [];
    const kms = await startLocalKms({ account: ACCOUNT, trustedRootFingerprints: [pki.rootFingerprint], audit: (e) => events.push(e) });
    const client = localKmsClient(kms, { maxAttempts: 1 });
    try {
      const key = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
      const enclave = await enclaveRecipient(await SimulatedNsm.client({ pki }));
      const attested = () => client.send(new GenerateDataKeyCommand({ KeyId: key, KeySpec: 'AES_256', Recipient: enclave.recipient }));
      await attested(); // no fault
      kms.faults.set({ attested: 'plaintext' });
      const hostile = await attested();
      expect(hostile.Plaintext?.length).toBe(32); // what a client without the checks would take
      kms.faults.set({ attested: 'foreign-recipient' });
      await attested();
      kms.faults.set({ attested: 'plaintext' });
      await client.send(new GenerateDataKeyCommand({ KeyId: key, KeySpec: 'AES_256' })); // not attested: left alone
      kms.faults.set({ throttle: { next: 1 } });
      await expect(attested()).rejects.toMatchObject({ name: 'ThrottlingException' });
      kms.faults.set({ invalidState: { next: 1 } });
      await expect(attested()).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
      const marks = events.filter((e) => e.eventName === 'GenerateDataKey').map((e) => [e.additionalEventData?.['injectedFault'] ?? null, e.errorCode ?? null]);
      expect(marks).toEqual([
        [null, null],
        ['plaintext', null],
        ['foreign-recipient', null],
        [null, null],
        ['throttle', 'ThrottlingException'],
        ['invalidState', 'KMSInvalidStateException'],
      ]);
      expect(JSON.stringify(events)).not.toContain(toBase64(hostile.Plaintext as Uint8Array));
    } finally {
      client.destroy();
      await kms.close();
    }
  });

  it('nitro-kms-local --audit FILE, and "audit --denied" finds the refusals', async () => {
    const dir = scratchDir('ndk-audit-');
    const file = join(dir, 'audit.jsonl');
    const kms = await spawnLocalKms(['--quiet', '--audit', file, '--admin-port', '0']);
    const client = localKmsClient(kms.ready);
    try {
      const keyId = (
        await client.send(
          new CreateKeyCommand({
            Policy: JSON.stringify({
              Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:PutKeyPolicy', Resource: '*' }],
            }),
          }),
        )
      ).KeyMetadata?.KeyId as string;
      await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })).catch(() => undefined);
      const denied = await run(process.execPath, [kmsBinPath(), 'audit', '--file', file, '--denied', '--key', keyId]);
      const lines = denied.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEvent);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ eventName: 'GenerateDataKey', errorCode: 'AccessDeniedException' });
      expect(readFileSync(file, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(2);
      // Nothing was injected yet; then one throttled call, which "audit --injected" alone finds.
      expect((await run(process.execPath, [kmsBinPath(), 'audit', '--file', file, '--injected'])).stdout).toBe('');
      const { adminEndpoint, adminToken } = kms.ready as { adminEndpoint?: string; adminToken?: string };
      const admin = await fetch(String(adminEndpoint), {
        method: 'PUT',
        body: '{"throttle":{"next":1}}',
        headers: { authorization: `Bearer ${String(adminToken)}` },
      });
      expect(admin.status).toBe(200);
      await expect(client.send(new CreateKeyCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException' });
      const injected = (await run(process.execPath, [kmsBinPath(), 'audit', '--file', file, '--injected'])).stdout.trim().split('\n');
      expect(injected).toHaveLength(1);
      expect(JSON.parse(injected[0] as string)).toMatchObject({
        eventName: 'CreateKey',
        errorCode: 'ThrottlingException',
        additionalEventData: { injectedFault: 'throttle' },
      });
      // The same trail as a table a person reads: a header, one line an event, no raw JSON.
      const table = (await run(process.execPath, [kmsBinPath(), 'audit', '--file', file, '--format', 'table'])).stdout.trimEnd().split('\n');
      expect(table[0]).toMatch(/^TIME +OPERATION +PRINCIPAL +PCR0 +OUTCOME$/);
      expect(table.length - 1).toBe(readFileSync(file, 'utf8').trim().split('\n').length);
      expect(table.find((l) => l.includes('GenerateDataKey'))).toMatch(
        /^\d{4}-\d\d-\d\dT\S+Z +GenerateDataKey +arn:aws:\S+ +- +AccessDeniedException \(\w+\)$/,
      );
      expect(table.find((l) => l.includes('CreateKey ') && l.includes('Throttling'))).toMatch(/ThrottlingException$/);
      expect(table.join('\n')).not.toContain('{');
      const denied2 = (await run(process.execPath, [kmsBinPath(), 'audit', '--file', file, '--denied', '--format', 'table'])).stdout.trimEnd().split('\n');
      expect(denied2).toHaveLength(2);
      // A filter or format that means nothing is a usage error, not an empty answer.
      for (const args of [
        ['--operation', 'GenerateDatakey'],
        ['--format', 'yaml'],
      ]) {
        const wrong = await run(process.execPath, [kmsBinPath(), 'audit', '--file', file, ...args]).catch((e: { code: number; stderr: string }) => e);
        expect(wrong).toMatchObject({ code: 2 });
        expect((wrong as { stderr: string }).stderr).toMatch(/--operation: "GenerateDatakey" is not a KMS operation|--format is json or table/);
      }
    } finally {
      client.destroy();
      kms.child.kill('SIGTERM');
    }
  });
});
