import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nitroDatakey } from '@nitro-datakey/commands';
import { defaultKeyPolicy, enclaveKeyPolicy, lintKeyPolicy, type PolicyLintCode } from '@nitro-datakey/shared';

/*
 * `nitro-datakey policy lint` on real-shaped policies: the generated ones lint clean; AWS's default
 * policy and the broken shapes users of other projects reported are flagged, each with its code.
 */
const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave-host`;
const PCR = (byte: string) => byte.repeat(48);
const dir = mkdtempSync(join(tmpdir(), 'ndk-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const generated = (extra: Partial<Parameters<typeof enclaveKeyPolicy>[0]> = {}) =>
  enclaveKeyPolicy({
    account: ACCOUNT,
    roleArn: ROLE,
    pcrs: new Map([
      [0, PCR('ab')],
      [1, PCR('cd')],
      [2, PCR('ef')],
    ]),
    ...extra,
  });
type Doc = { Version: string; Statement: Record<string, unknown>[] };
const codes = (policy: object, options: Parameters<typeof lintKeyPolicy>[1] = { roleArn: ROLE }): PolicyLintCode[] =>
  lintKeyPolicy(JSON.stringify(policy), options).map((f) => f.code);
const attested = (condition: Record<string, Record<string, string>>): Record<string, unknown> => ({
  Sid: 'Attested',
  Effect: 'Allow',
  Principal: { AWS: ROLE },
  Action: 'kms:Decrypt',
  Resource: '*',
  Condition: condition,
});

describe('nitro-datakey policy lint', () => {
  it('the generated policies lint clean: one image, two images, with a sealer and an admin', () => {
    expect(codes(generated())).toEqual([]);
    expect(codes(generated({ pcrs: [new Map([[0, PCR('ab')]]), new Map([[0, PCR('ba')]])] }))).toEqual([]);
    expect(codes(generated({ sealerArn: `arn:aws:iam::${ACCOUNT}:user/sealer`, adminArn: `arn:aws:iam::${ACCOUNT}:role/key-admin` }))).toEqual([]);
    expect(codes(generated(), {})).toEqual([]); // the role inferred from the attested statement
  });

  it("AWS's default policy: the root kms:* statement with no Deny for the role lets it decrypt without attestation and manage the key", () => {
    const found = codes(JSON.parse(defaultKeyPolicy(ACCOUNT)));
    expect(found).toContain('LINT_UNATTESTED_USE');
    expect(found).toContain('LINT_ROLE_CAN_MANAGE');
  });

  it('an unconditioned instance-role Allow beside the attested statement is an error', () => {
    const doc = generated() as unknown as Doc;
    const broken = {
      ...doc,
      Statement: [
        ...doc.Statement.filter((s) => s['Effect'] === 'Allow'),
        { Sid: 'InstanceRole', Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'kms:Decrypt', Resource: '*' },
      ],
    };
    const findings = lintKeyPolicy(JSON.stringify(broken), { roleArn: ROLE });
    expect(findings.find((f) => f.code === 'LINT_UNATTESTED_USE')).toMatchObject({ level: 'error', statement: 'InstanceRole' });
  });

  it.each([
    ['debug-mode zeros in PCR0', attested({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR0': '0'.repeat(96) } }), 'LINT_DEBUG_PCR'],
    [
      'ImageSha384 and PCR0 naming different images',
      attested({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': PCR('ab'), 'kms:RecipientAttestation:PCR0': PCR('cd') } }),
      'LINT_IMAGE_PCR0_DIFFER',
    ],
    ['upper-case hex under StringEquals', attested({ StringEquals: { 'kms:RecipientAttestation:PCR0': PCR('AB') } }), 'LINT_UPPERCASE_HEX'],
    [
      'a Deny with a typo in its action',
      { Sid: 'Typo', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Decypt', Resource: '*' },
      'LINT_DENY_MATCHES_NOTHING',
    ],
  ] as const)('%s', (_what, statement, code) => {
    const policy = {
      Version: '2012-10-17',
      Statement: [statement, { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/admin` }, Action: 'kms:*', Resource: '*' }],
    };
    expect(codes(policy)).toContain(code);
  });

  it('a signed image (PCR8 in its measurements) whose signer is not bound is a warning', () => {
    const findings = lintKeyPolicy(JSON.stringify(generated()), { roleArn: ROLE, signed: true });
    expect(findings.map((f) => [f.code, f.level])).toContainEqual(['LINT_SIGNER_UNBOUND', 'warning']);
    expect(
      lintKeyPolicy(
        JSON.stringify(
          generated({
            pcrs: new Map([
              [0, PCR('ab')],
              [8, PCR('88')],
            ]),
          }),
        ),
        { roleArn: ROLE, signed: true },
      ),
    ).toEqual([]);
  });

  it('the command: exit 1 with an error finding, 0 clean, get-key-policy output accepted, --json', async () => {
    const run = async (args: string[]) => {
      let out = '';
      const code = await nitroDatakey(['policy', 'lint', ...args], {
        io: {
          stdout: (t) => {
            out += String(t);
          },
          stderr: () => undefined,
          readStdin: async () => new Uint8Array(0),
        },
      });
      return { code, out };
    };
    const clean = join(dir, 'clean.json');
    writeFileSync(clean, JSON.stringify({ Policy: JSON.stringify(generated()), PolicyName: 'default' }));
    expect(await run([clean, '--role-arn', ROLE])).toEqual({ code: 0, out: 'no findings\n' });
    const bad = join(dir, 'default.json');
    writeFileSync(bad, defaultKeyPolicy(ACCOUNT));
    const r = await run([bad, '--role-arn', ROLE, '--json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.out) as { findings: { code: string }[] }).findings.map((f) => f.code)).toContain('LINT_UNATTESTED_USE');
    expect((await run([join(dir, 'missing.json')])).code).toBe(2);
  });
});
