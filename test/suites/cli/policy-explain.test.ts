import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nitroDatakey } from '@nitro-datakey/commands';
import { defaultKeyPolicy, enclaveKeyPolicy, toHex } from '@nitro-datakey/shared';
import { NitroPki, SimulatedNsm, syntheticMeasurements } from '@nitro-datakey/devkit';

/*
 * "Why was I denied?": `nitro-datakey policy explain` on real-shaped policies: AWS's default one, the
 * generated enclave policy with an enclave's own attestation document, and a broken one users report
 * (an unconditioned instance-role Allow beside the attested statement).
 */
const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave-host`;
const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/enclave-host/i-0abc`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const dir = mkdtempSync(join(tmpdir(), 'ndk-explain-'));
const file = (name: string, text: string | Uint8Array) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const measurements = syntheticMeasurements('explained image');
let documentFile: string;
let otherDocumentFile: string;

beforeAll(async () => {
  const pki = await NitroPki.create();
  const attest = async (m: typeof measurements) => {
    const nsm = await SimulatedNsm.client({ pki, measurements: m });
    try {
      return await nsm.attest({});
    } finally {
      await nsm.close();
    }
  };
  documentFile = file('doc.cbor', await attest(measurements));
  otherDocumentFile = file('other.cbor', await attest(syntheticMeasurements('another image')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function explain(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = {
    stdout: (t: string | Uint8Array) => {
      out += String(t);
    },
    stderr: (t: string) => {
      err += t;
    },
    readStdin: async () => new Uint8Array(0),
  };
  const code = await nitroDatakey(['policy', 'explain', '--key-arn', KEY, ...args], { io });
  return { code, out, err };
}

const generated = () =>
  file(
    'generated.json',
    JSON.stringify(
      enclaveKeyPolicy({ account: ACCOUNT, roleArn: ROLE, pcrs: new Map([...measurements].filter(([i]) => i <= 2).map(([i, v]) => [i, toHex(v)])) }),
    ),
  );

describe('nitro-datakey policy explain', () => {
  it("AWS's default key policy: a role without an identity policy is denied, and the reason says the account delegates to IAM", async () => {
    const policy = file('default.json', JSON.stringify({ Policy: defaultKeyPolicy(ACCOUNT), PolicyName: 'default' })); // as get-key-policy prints it
    const denied = await explain(['--key-policy', policy, '--principal', SESSION, '--action', 'Decrypt']);
    expect(denied.code).toBe(1);
    expect(denied.out).toMatch(/^DENIED \(no allow\): .*the account delegates to its IAM policies and no identity policy of .* allows kms:Decrypt/);
    const iam = file('iam.json', JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] }));
    const allowed = await explain(['--key-policy', policy, '--identity-policy', iam, '--principal', SESSION, '--action', 'kms:Decrypt', '--json']);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.out)).toMatchObject({ decision: 'Allow', policy: 'identity policy 1' });
  });

  it("the generated policy: the enclave's own document is allowed; another image is denied, naming the PCR it wanted and the one it saw", async () => {
    const policy = generated();
    const ok = await explain(['--key-policy', policy, '--principal', SESSION, '--action', 'kms:Decrypt', '--attestation', documentFile]);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(ok.out).toMatch(/^ALLOWED: key policy EnclaveUsesTheKeyWithMatchingAttestation allows/);
    const other = await explain(['--key-policy', policy, '--principal', SESSION, '--action', 'kms:Decrypt', '--attestation', otherDocumentFile, '--json']);
    expect(other.code).toBe(1);
    const report = JSON.parse(other.out) as { decision: string; statements: { statement: string; mismatch?: string }[] };
    expect(report.decision).toBe('ImplicitDeny');
    const attested = report.statements.find((s) => s.statement === 'EnclaveUsesTheKeyWithMatchingAttestation');
    const pcr0 = toHex(measurements.get(0) as Uint8Array);
    expect(attested?.mismatch).toMatch(/kms:recipientattestation:(imagesha384|pcr\d) wants \[.*\], the request has \["[0-9a-f]{96}"\]/);
    expect(JSON.stringify(report)).toContain(pcr0);
    // Without a document: the attested statement sees no value, and the Deny of calls without one applies.
    const none = await explain(['--key-policy', policy, '--principal', SESSION, '--action', 'kms:Decrypt']);
    expect(none.code).toBe(1);
    expect(none.out).toMatch(/^DENIED \(explicit deny\)/);
  });

  it('a broken policy: an unconditioned instance-role Allow beside the attested statement lets the parent decrypt without attestation', async () => {
    const broken = JSON.parse(JSON.stringify(enclaveKeyPolicy({ account: ACCOUNT, roleArn: ROLE, pcrs: new Map([[0, 'ab'.repeat(48)]]) }))) as {
      Statement: object[];
    };
    broken.Statement = broken.Statement.filter((s) => (s as { Effect: string }).Effect === 'Allow');
    broken.Statement.push({ Sid: 'InstanceRole', Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'kms:Decrypt', Resource: '*' });
    const r = await explain(['--key-policy', file('broken.json', JSON.stringify(broken)), '--principal', SESSION, '--action', 'kms:Decrypt']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ALLOWED: key policy InstanceRole allows/);
  });

  it('usage: missing flags, an unreadable or non-JSON policy, a bad PCR are exit 2', async () => {
    expect((await explain(['--principal', SESSION, '--action', 'Decrypt'])).code).toBe(2);
    expect((await explain(['--key-policy', join(dir, 'nope.json'), '--principal', SESSION, '--action', 'Decrypt'])).err).toMatch(/cannot read .*ENOENT/);
    expect((await explain(['--key-policy', file('garbage.json', 'not json'), '--principal', SESSION, '--action', 'Decrypt'])).code).toBe(2);
    expect((await explain(['--key-policy', generated(), '--principal', SESSION, '--action', 'Decrypt', '--pcr', '0=zz'])).code).toBe(2);
    expect((await explain(['--key-policy', generated(), '--principal', 'bob', '--action', 'Decrypt'])).code).toBe(2);
  });
});
