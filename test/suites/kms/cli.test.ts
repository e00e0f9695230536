import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateKeyCommand, DescribeKeyCommand, GenerateDataKeyCommand, GetKeyPolicyCommand, ListAliasesCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { localKmsClient } from '@nitro-datakey/devkit';
import { readFileSync } from 'node:fs';
import { kmsBinPath, spawnLocalKms } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

const run = promisify(execFile);

describe('nitro-kms-local, the command', () => {
  it('creates seed keys once, maps principals, and serves TLS with the printed CA', async () => {
    const dir = scratchDir('ndk-kmscli-');
    const seed = join(dir, 'seed.json');
    writeFileSync(
      seed,
      JSON.stringify({
        keys: [
          {
            alias: 'alias/app',
            description: 'seeded',
            policy: {
              Version: '2012-10-17',
              // biome-ignore lint/suspicious/noTemplateCurlyInString: the seed file's literal placeholder
              Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::${ACCOUNT}:role/app' }, Action: 'kms:*', Resource: '*' }],
            },
          },
          { alias: 'alias/open' },
        ],
      }),
    );
    const args = [
      '--tls',
      '--quiet',
      '--data-dir',
      join(dir, 'data'),
      '--seed',
      seed,
      '--account',
      '210987654321',
      '--region',
      'eu-west-1',
      '--principal',
      'AKIDAPP=arn:aws:iam::210987654321:role/app',
    ];
    const first = await spawnLocalKms(args);
    expect(first.ready).toMatchObject({ region: 'eu-west-1', account: '210987654321', endpoint: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/) });
    const caCertPem = readFileSync(first.ready.caCertPath as string, 'utf8');
    const appClient = localKmsClient({ ...first.ready, caCertPem }, { accessKeyId: 'AKIDAPP' });
    const other = localKmsClient({ ...first.ready, caCertPem }, { accessKeyId: 'AKIDOTHER' });
    const keyId = (await appClient.send(new DescribeKeyCommand({ KeyId: 'alias/app' }))).KeyMetadata?.KeyId;
    expect((await appClient.send(new GetKeyPolicyCommand({ KeyId: 'alias/app' }))).Policy).toContain('arn:aws:iam::210987654321:role/app');
    expect(
      await other.send(new GenerateDataKeyCommand({ KeyId: 'alias/app', KeySpec: 'AES_256' })).then(
        () => 'OK',
        (e: Error) => e.name,
      ),
    ).toBe('AccessDeniedException');
    expect(
      await other.send(new GenerateDataKeyCommand({ KeyId: 'alias/open', KeySpec: 'AES_256' })).then(
        () => 'OK',
        (e: Error) => e.name,
      ),
    ).toBe('OK');
    appClient.destroy();
    other.destroy();
    first.child.kill('SIGTERM');
    await new Promise((r) => first.child.once('exit', r));

    // The same seed again: nothing new is created, the existing key keeps its alias.
    const second = await spawnLocalKms(args);
    const again = localKmsClient({ ...second.ready, caCertPem: readFileSync(second.ready.caCertPath as string, 'utf8') }, { accessKeyId: 'AKIDAPP' });
    expect((await again.send(new DescribeKeyCommand({ KeyId: 'alias/app' }))).KeyMetadata?.KeyId).toBe(keyId);
    expect((await again.send(new ListAliasesCommand({}))).Aliases).toHaveLength(2);
    again.destroy();
    second.child.kill('SIGTERM');
  });

  it.each([
    [['--port', '70000']],
    [['--account', '12']],
    [['--region', 'moon']],
    [['--trust-root-fingerprint', 'abc']],
    [['--principal', 'nope']],
    [['--seed', '/nonexistent/seed.json']],
    [['--bogus']],
    [['--fault', '{"throttle": {"next": -1}}']],
    [['--fault', 'not json']],
    [['--admin-port', 'http']],
    [['extra-argument']],
  ])('exits 2 on %j', async (args) => {
    const r = await run(process.execPath, [kmsBinPath(), ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^nitro-kms-local: /);
  });

  it('refuses a non-loopback --host unless told, and then warns', async () => {
    const refused = await run(process.execPath, [kmsBinPath(), '--host', '0.0.0.0']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not a loopback address.*--allow-non-loopback/);
    const allowed = await spawnLocalKms(['--host', '0.0.0.0', '--allow-non-loopback', '--quiet']);
    try {
      expect(allowed.stderr()).toMatch(/"level":"warn".*non-loopback address without signature checks/);
    } finally {
      allowed.child.kill('SIGTERM');
      await new Promise((r) => allowed.child.once('exit', r));
    }
  });

  it('checks its data directory before it reports ready: writable, and one server only', async () => {
    const unwritable = await run(process.execPath, [kmsBinPath(), '--data-dir', '/sys/kernel']).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(unwritable.code).toBe(1);
    expect(unwritable.stdout).toBe(''); // no ready line
    expect(unwritable.stderr).toMatch(/ERR_KMS_DATA_DIR.*not writable/);
    const dir = join(scratchDir('ndk-kmslock-'), 'data');
    const first = await spawnLocalKms(['--data-dir', dir, '--quiet']);
    const second = await run(process.execPath, [kmsBinPath(), '--data-dir', dir, '--quiet']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`in use by another nitro-kms-local \\(pid ${first.child.pid}\\)`));
    first.child.kill('SIGTERM');
    await new Promise((r) => first.child.once('exit', r));
    const third = await spawnLocalKms(['--data-dir', dir, '--quiet']); // the lock was released
    third.child.kill('SIGKILL'); // a crash leaves the lock behind...
    await new Promise((r) => third.child.once('exit', r));
    const fourth = await spawnLocalKms(['--data-dir', dir, '--quiet']); // ...which the next server takes over
    fourth.child.kill('SIGTERM');
    await new Promise((r) => fourth.child.once('exit', r));
  });

  it('--fault from the start and --admin-port to change it: the ready line names the admin endpoint', async () => {
    const kms = await spawnLocalKms(['--quiet', '--fault', '{"throttle": {"next": 1}}', '--admin-port', '0']);
    try {
      const client = localKmsClient({ ...kms.ready });
      const first = await client.send(new GenerateDataKeyCommand({ KeyId: 'alias/none', KeySpec: 'AES_256' })).then(
        () => 'OK',
        (e: Error) => e.name,
      );
      expect(first).toBe('ThrottlingException');
      const adminEndpoint = (kms.ready as { adminEndpoint?: string }).adminEndpoint as string;
      expect(adminEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/faults$/);
      const adminToken = (kms.ready as { adminToken?: string }).adminToken as string;
      expect(adminToken).toMatch(/^[0-9a-f]{48}$/);
      expect((await fetch(adminEndpoint, { method: 'PUT', body: '{"invalidState": {"next": 1}}' })).status).toBe(401);
      const authorization = `Bearer ${adminToken}`;
      expect((await fetch(adminEndpoint, { method: 'PUT', body: '{"invalidState": {"next": 1}}', headers: { authorization } })).status).toBe(200);
      const second = await client.send(new GenerateDataKeyCommand({ KeyId: 'alias/none', KeySpec: 'AES_256' })).then(
        () => 'OK',
        (e: Error) => e.name,
      );
      expect(second).toBe('KMSInvalidStateException');
      client.destroy();
    } finally {
      kms.child.kill('SIGTERM');
    }
  });

  it('--unknown-callers anonymous: an unmapped access key is nobody, not the account root', async () => {
    // --iam permissive: the admin user has no identity policy given, and is modelled as an IAM that allows it all.
    const kms = await spawnLocalKms([
      '--quiet',
      '--iam',
      'permissive',
      '--unknown-callers',
      'anonymous',
      '--principal',
      'AKIDADMIN=arn:aws:iam::111122223333:user/admin',
    ]);
    try {
      expect((kms.ready as Record<string, unknown>)['iam']).toBe('permissive');
      const admin = localKmsClient({ ...kms.ready }, { accessKeyId: 'AKIDADMIN' });
      const stranger = localKmsClient({ ...kms.ready }, { accessKeyId: 'AKIDSTRANGER' });
      const keyId = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      expect((await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyId).toBe(keyId);
      expect(
        await stranger.send(new DescribeKeyCommand({ KeyId: keyId })).then(
          () => 'OK',
          (e: Error) => e.name,
        ),
      ).toBe('AccessDeniedException');
      admin.destroy();
      stranger.destroy();
    } finally {
      kms.child.kill('SIGTERM');
    }
  });

  it('export prints the key store without key material, while the server runs', async () => {
    const dir = join(scratchDir('ndk-kmsexport-'), 'data');
    const kms = await spawnLocalKms(['--data-dir', dir, '--quiet', '--account', '210987654321']);
    try {
      const admin = localKmsClient({ ...kms.ready });
      const keyId = (await admin.send(new CreateKeyCommand({ Description: 'exported' }))).KeyMetadata?.KeyId as string;
      admin.destroy();
      const r = await run(process.execPath, [kmsBinPath(), 'export', '--data-dir', dir, '--account', '210987654321']);
      const exported = JSON.parse(r.stdout) as { keys: Array<Record<string, unknown>>; aliases: unknown[] };
      expect(exported.keys).toContainEqual(
        expect.objectContaining({ KeyId: keyId, Arn: expect.stringContaining(`210987654321:key/${keyId}`), Description: 'exported' }),
      );
      const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { keys: Array<{ material: string }> };
      for (const k of state.keys) expect(r.stdout).not.toContain(k.material); // never key material
      expect(r.stdout).not.toMatch(/material/i);
    } finally {
      kms.child.kill('SIGTERM');
    }
    const missing = await run(process.execPath, [kmsBinPath(), 'export', '--data-dir', join(dir, 'nope')]).then(
      () => ({ code: 0 }),
      (e: { code: number }) => e,
    );
    expect(missing.code).toBe(2);
  });

  it('--help exits 0 and says signatures are not checked', async () => {
    const r = await run(process.execPath, [kmsBinPath(), '--help']);
    expect(r.stdout).toContain('SigV4 signatures are NOT checked');
  });
});
