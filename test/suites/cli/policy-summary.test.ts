import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePolicyDocument, summarizePolicy } from '@nitro-datakey/shared/policy';
import { projectRoot } from '../../support/index.js';

/* `nitro-datakey policy --summary`: the generated policy as a reviewer reads it. */
const BIN = join(projectRoot(), 'shared/commands/bin/nitro-datakey.js');
const dir = mkdtempSync(join(tmpdir(), 'ndk-policy-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const image = (digit: string) => ({ Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: digit.repeat(96), PCR1: 'b'.repeat(96), PCR2: 'c'.repeat(96) } });
const ROLE = 'arn:aws:iam::111122223333:role/enclave';
const SEALER = 'arn:aws:iam::111122223333:role/sealer';

function policy(...args: string[]) {
  writeFileSync(join(dir, 'old.json'), JSON.stringify(image('a')));
  writeFileSync(join(dir, 'new.json'), JSON.stringify(image('d')));
  const base = ['policy', '--measurements', join(dir, 'old.json'), '--measurements', join(dir, 'new.json'), '--account', '111122223333', '--role-arn', ROLE];
  return spawnSync(process.execPath, [BIN, ...base, ...args], { encoding: 'utf8' });
}

describe('nitro-datakey policy --summary', () => {
  it('says who may do what, under which measurements, and what is denied', () => {
    const run = policy('--sealer-arn', SEALER, '--summary');
    expect(run.status, run.stderr).toBe(0);
    const text = run.stdout;
    expect(text).toMatch(/^7 statement\(s\)\. An explicit Deny wins/);
    const [allowed, denied] = text.split('DENIED, whatever else allows it') as [string, string];
    // Each image its own statement: the roll-over's two PCR0s are never combined.
    expect(allowed.match(/only with an attestation document \(Recipient\) showing, StringEqualsIgnoreCase:/g)).toHaveLength(2);
    expect(allowed).toContain(`ImageSha384 (PCR0)  ${'a'.repeat(96)}`);
    expect(allowed).toContain(`ImageSha384 (PCR0)  ${'d'.repeat(96)}`);
    expect(allowed).toContain(`PCR1                ${'b'.repeat(96)}`);
    expect(allowed).toMatch(
      new RegExp(`${ROLE}  \\[EnclaveUsesTheKeyWithMatchingAttestation\\]\\n    Decrypt, GenerateDataKey, GenerateDataKeyPair, DeriveSharedSecret`),
    );
    expect(allowed).toMatch(new RegExp(`${SEALER}  \\[SealerEncryptsWithoutAttestation\\]\\n    GenerateDataKey, Encrypt\\n`));
    expect(denied).toMatch(new RegExp(`${ROLE}  \\[EnclaveRoleNeverManagesTheKey\\]\\n    DescribeKey, GetKeyPolicy, PutKeyPolicy`));
    expect(denied).toContain('anyone  [NoCryptographicCallWithoutAttestation]');
    expect(denied).toContain(`    when the request has no attestation document (Recipient)\n    when aws:PrincipalArn StringNotEquals ${SEALER}`);
    expect(text).not.toContain('"Statement"');
  });

  it('summarizes the IAM policy with --iam-policy, and refuses --json with it (exit 2)', () => {
    const iam = policy('--iam-policy', '--summary');
    expect(iam.status).toBe(0);
    expect(iam.stdout).toMatch(/the principal this policy is attached to {2}\[AttestedGenerateRandom\]\n {4}GenerateRandom/);
    const both = policy('--summary', '--json');
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('--summary is text for a reviewer; --json is for scripts: give one');
  });

  it('reads any policy: NotPrincipal, NotAction, other operators and IfExists', () => {
    const text = summarizePolicy(
      parsePolicyDocument(
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Deny', NotPrincipal: { AWS: ROLE }, NotAction: ['kms:Describe*'], Resource: '*' },
            {
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: 'kms:*',
              Resource: '*',
              Condition: { StringEqualsIfExists: { 'kms:CallerAccount': '111122223333' }, Null: { 'aws:SourceIp': 'false' } },
            },
          ],
        }),
      ),
    );
    expect(text).toContain(`  anyone but ${ROLE}\n    every action but Describe*`);
    expect(text).toContain('  anyone\n    every KMS action\n    when kms:CallerAccount StringEqualsIfExists 111122223333\n    when aws:SourceIp is present');
  });
});
