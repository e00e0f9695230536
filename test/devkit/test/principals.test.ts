import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parsePrincipalOption, PrincipalDirectory } from '../src/kms/principals.js';

const A = '111122223333';
const BIN = fileURLToPath(new URL('../bin/nitro-kms-local.js', import.meta.url));

describe('--principal and the principals the local KMS knows', () => {
  it('reads ACCESS_KEY_ID=ARN with tags and an organization after it', () => {
    expect(
      parsePrincipalOption(
        `ASIAPAY=arn:aws:sts::${A}:assumed-role/pay/i-1;tag:team=payments;tag:cost centre=42;org=o-a1b2c3d4e5;org-path=o-a1b2c3d4e5/r-ab12/`,
      ),
    ).toEqual([
      'ASIAPAY',
      {
        arn: `arn:aws:sts::${A}:assumed-role/pay/i-1`,
        tags: { team: 'payments', 'cost centre': '42' },
        organizationId: 'o-a1b2c3d4e5',
        organizationPaths: ['o-a1b2c3d4e5/r-ab12/'],
      },
    ]);
    expect(parsePrincipalOption(`AKIDX=arn:aws:iam::${A}:user/x`)).toEqual(['AKIDX', { arn: `arn:aws:iam::${A}:user/x` }]);
  });

  it.each([
    ['no ARN', 'ASIAPAY', /expected ACCESS_KEY_ID=ARN/],
    ['a lower-case access key id', `asia=arn:aws:iam::${A}:user/x`, /access key id/],
    ['an ARN that is no IAM or STS ARN', 'AKIDX=arn:aws:s3:::bucket', /not an IAM or STS ARN/],
    ['an unknown attribute', `AKIDX=arn:aws:iam::${A}:user/x;colour=blue`, /"colour=blue" is not tag:KEY=VALUE/],
    ['an aws: tag', `AKIDX=arn:aws:iam::${A}:user/x;tag:aws:team=x`, /tag key "aws:team"/],
    ['a bad organization id', `AKIDX=arn:aws:iam::${A}:user/x;org=org-1`, /organization id "org-1"/],
    ['a path outside the organization', `AKIDX=arn:aws:iam::${A}:user/x;org=o-a1b2c3d4e5;org-path=o-zzzzzzzzzz/r-ab12/`, /not in organization/],
  ])('refuses %s', (_, text, message) => {
    expect(() => parsePrincipalOption(text)).toThrow(message);
  });

  it('knows a role by name whatever its path, through its sessions too; any account; nothing undeclared', () => {
    const directory = new PrincipalDirectory({ ASIAPAY: `arn:aws:sts::${A}:assumed-role/pay/i-1` }, [`arn:aws:iam::${A}:user/ops/alice`]);
    expect(directory.exists(`arn:aws:iam::${A}:role/pay`)).toBe(true);
    expect(directory.exists(`arn:aws:iam::${A}:role/apps/pay`)).toBe(true);
    expect(directory.exists(`arn:aws:sts::${A}:assumed-role/pay/another-session`)).toBe(true);
    expect(directory.exists(`arn:aws:iam::${A}:user/alice`)).toBe(true);
    expect(directory.exists('444455556666')).toBe(true);
    expect(directory.exists(`arn:aws:iam::${A}:role/other`)).toBe(false);
    expect(directory.exists(`arn:aws:iam::444455556666:role/pay`)).toBe(false);
    expect(directory.caller('ASIAPAY')).toEqual({ arn: `arn:aws:sts::${A}:assumed-role/pay/i-1` });
    expect(directory.caller('ASIAOTHER')).toBeUndefined();
  });

  it('nitro-kms-local: a bad --principal is one line and exit 2; a good one with tags starts the server', async () => {
    const bad = spawnSync(process.execPath, [BIN, '--principal', `AKIDX=arn:aws:iam::${A}:user/x;colour=blue`], { encoding: 'utf8', timeout: 20_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('nitro-kms-local: --principal: "colour=blue" is not tag:KEY=VALUE, org=ID or org-path=PATH\n');
    const good = spawn(process.execPath, [BIN, '--quiet', '--principal', `ASIAPAY=arn:aws:sts::${A}:assumed-role/pay/i-1;tag:team=payments;org=o-a1b2c3d4e5`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const first = await new Promise<string>((resolve) => createInterface({ input: good.stdout }).once('line', resolve));
      expect(JSON.parse(first)).toMatchObject({ ready: true, iam: 'strict' });
    } finally {
      const exited = new Promise((resolve) => good.once('exit', resolve));
      good.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
