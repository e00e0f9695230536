import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestedKmsError, startGateway, type Gateway, type GatewayKms } from '@nitro-datakey/enclave';
import { parseAddress } from '@nitro-datakey/native';

// The gateway with a fake attested client: what it accepts, refuses and answers, without a stack.
const calls: string[] = [];
const handedOut: Uint8Array[] = [];
const fake: GatewayKms = {
  async generateDataKey(input) {
    calls.push(`GenerateDataKey ${JSON.stringify(input)}`);
    const plaintext = new Uint8Array(input.NumberOfBytes ?? 32).fill(0xaa);
    handedOut.push(plaintext);
    return { keyId: 'arn:aws:kms:us-east-1:111122223333:key/k', plaintext, ciphertextBlob: new Uint8Array([1, 2, 3]) };
  },
  async decrypt(input) {
    calls.push('Decrypt');
    if (input.EncryptionContext?.['deny'] === 'yes')
      throw new AttestedKmsError('ERR_KMS_REQUEST_FAILED', 'KMS refused Decrypt', { kmsErrorName: 'AccessDeniedException' });
    return { keyId: 'arn:aws:kms:us-east-1:111122223333:key/k', plaintext: new Uint8Array([9]) };
  },
  async generateDataKeyPair() {
    calls.push('GenerateDataKeyPair');
    throw new Error('not used');
  },
  async generateRandom(input) {
    calls.push('GenerateRandom');
    return new Uint8Array(input.NumberOfBytes).fill(1);
  },
};

let gateway: Gateway;
let url: string;
beforeAll(async () => {
  gateway = await startGateway(parseAddress('tcp:127.0.0.1:0'), fake);
  url = `http://${gateway.address.slice('tcp:'.length)}/`;
});
afterAll(() => gateway.close());

async function call(operation: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'x-amz-target': `TrentService.${operation}`, 'content-type': 'application/x-amz-json-1.1' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('the enclave gateway', () => {
  it('answers GenerateDataKey with the plaintext and zeroes its own copy', async () => {
    const r = await call('GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', EncryptionContext: { app: 'x' } });
    expect(r.status).toBe(200);
    expect(Buffer.from(r.json['Plaintext'] as string, 'base64')).toEqual(Buffer.alloc(32, 0xaa));
    expect(handedOut.at(-1)).toEqual(new Uint8Array(32));
    expect(calls.at(-1)).toContain('"EncryptionContext":{"app":"x"}');
  });

  it('reads requests as strictly as the local KMS, before calling KMS', async () => {
    const before = calls.length;
    const cases: Array<[string, unknown, string]> = [
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', EncryptionContext: { n: 1 } }, 'SerializationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', EncryptionContext: ['a'] }, 'SerializationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_512' }, 'ValidationException'],
      ['GenerateDataKey', { KeyId: 'alias/app' }, 'ValidationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', NumberOfBytes: 1025 }, 'ValidationException'],
      ['Decrypt', { CiphertextBlob: 'not base64!' }, 'SerializationException'],
      ['Decrypt', {}, 'ValidationException'],
      ['GenerateRandom', { NumberOfBytes: '32' }, 'SerializationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', Recipient: { AttestationDocument: 'AAAA' } }, 'ValidationException'],
      ['GenerateDataKey', { KeyId: 'alias/app', KeySpec: 'AES_256', DryRun: true }, 'ValidationException'],
      ['GenerateDataKey', '{"KeyId": ', 'SerializationException'],
      ['Encrypt', { KeyId: 'alias/app', Plaintext: 'AA==' }, 'UnsupportedOperationException'],
    ];
    for (const [operation, body, type] of cases) {
      const r = await call(operation, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json['__type'], JSON.stringify(body)).toBe(type);
    }
    expect(calls.length).toBe(before);
  });

  it("passes KMS's refusal through by name, with our code in the message", async () => {
    const r = await call('Decrypt', { CiphertextBlob: 'AQID', EncryptionContext: { deny: 'yes' } });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ __type: 'AccessDeniedException', message: 'ERR_KMS_REQUEST_FAILED: KMS refused Decrypt' });
  });

  it('turns an unexpected failure into a 500 that says nothing of it', async () => {
    const r = await call('GenerateDataKeyPair', { KeyId: 'alias/app', KeyPairSpec: 'RSA_2048' });
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ __type: 'KMSInternalException', message: 'internal error in the enclave gateway' });
  });
});
