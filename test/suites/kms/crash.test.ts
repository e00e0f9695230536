import { statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { localKmsClient } from '@nitro-datakey/devkit';
import { spawnLocalKms } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

const policyFor = (n: number) =>
  JSON.stringify({
    Version: '2012-10-17',
    Id: `crash-${n}`,
    Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }],
  });

describe('crash safety of nitro-kms-local --data-dir', () => {
  it.each([3, 40, 150])(
    'kill -9 after %i acknowledged CreateKey calls, mid-stream of CreateKey/PutKeyPolicy/CreateAlias, loses nothing acknowledged',
    async (killAfter) => {
      const dir = scratchDir('ndk-crash-');
      const first = await spawnLocalKms(['--data-dir', dir, '--quiet']);
      const client = localKmsClient(first.ready);
      const acked = new Map<string, { policy?: string; alias?: string }>();
      let stop = false;
      let n = 0;
      const worker = async () => {
        while (!stop) {
          const i = n++;
          try {
            const keyId = (await client.send(new CreateKeyCommand({ Description: `k${i}` }))).KeyMetadata?.KeyId as string;
            acked.set(keyId, {});
            await client.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: policyFor(i) }));
            (acked.get(keyId) as { policy?: string }).policy = policyFor(i);
            await client.send(new CreateAliasCommand({ AliasName: `alias/crash-${i}`, TargetKeyId: keyId }));
            (acked.get(keyId) as { alias?: string }).alias = `alias/crash-${i}`;
          } catch {
            return; // the server is gone
          }
        }
      };
      const workers = Array.from({ length: 4 }, worker);
      while (acked.size < killAfter) await new Promise((r) => setTimeout(r, 2));
      first.child.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);
      client.destroy();
      expect(acked.size).toBeGreaterThan(0);
      expect(statSync(join(dir, 'state.json')).mode & 0o777).toBe(0o600);

      const second = await spawnLocalKms(['--data-dir', dir, '--quiet']);
      const after = localKmsClient(second.ready);
      try {
        for (const [keyId, state] of acked) {
          const meta = (await after.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
          expect(meta?.KeyState).toBe('Enabled');
          if (state.policy) expect((await after.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy).toBe(state.policy);
          if (state.alias) expect((await after.send(new DescribeKeyCommand({ KeyId: state.alias }))).KeyMetadata?.KeyId).toBe(keyId);
          const blob = (await after.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1, 2, 3]) }))).CiphertextBlob as Uint8Array;
          expect((await after.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext).toEqual(new Uint8Array([1, 2, 3]));
        }
      } finally {
        after.destroy();
        second.child.kill('SIGTERM');
      }
    },
  );

  it('stops cleanly on SIGTERM and SIGINT with exit status 0', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const kms = await spawnLocalKms(['--quiet']);
      const exit = new Promise<number | null>((resolve) => kms.child.once('exit', resolve));
      kms.child.kill(signal);
      expect(await exit).toBe(0);
    }
  });
});
