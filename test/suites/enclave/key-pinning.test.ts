import { Readable } from 'node:stream';
import * as Kms from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationPlugin, KeyManager } from '@nitro-datakey/enclave';
import type { Nsm } from '@nitro-datakey/shared';
import { NitroPki, SimulatedNsm } from '@nitro-datakey/devkit';

/*
 * Key pinning over every operation of the KMS model, read from the SDK's own schemas (so an operation
 * added to the SDK is covered the day it appears): each request member that names a KMS key (KeyId,
 * SourceKeyId, DestinationKeyId, TargetKeyId) is sent as the pinned ARN, a key outside allowedKeys is
 * refused before anything is sent, and an answer that names another key is refused. The transport is
 * a recording request handler: what "sent" means here is the exact JSON body the SDK serialized.
 */
const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SECOND = 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321';
const PARENTS = 'arn:aws:kms:us-east-1:444455556666:key/ffffffff-ffff-ffff-ffff-ffffffffffff';
const allowedKeys = { 'alias/app': ARN, 'alias/second': SECOND };

type Schema = readonly unknown[];
type CommandClass = new (input: Record<string, unknown>) => Parameters<Kms.KMSClient['send']>[0];
interface Operation {
  readonly name: string;
  readonly command: CommandClass;
  readonly keyMembers: readonly string[];
  readonly outputMembers: readonly string[];
}

/** Every operation of the model: `[9, ns, name, traits, input(), output()]` schemas exported by the SDK. */
const operations: Operation[] = Object.entries(Kms)
  .filter(([name, v]) => name.endsWith('$') && Array.isArray(v) && v[0] === 9)
  .map(([name, v]) => {
    const schema = v as Schema;
    const input = (schema[4] as () => Schema)();
    const output = (schema[5] as () => Schema)();
    const op = name.slice(0, -1);
    return {
      name: op,
      command: (Kms as unknown as Record<string, CommandClass>)[`${op}Command`] as CommandClass,
      // XksKeyId names a key in an external key store, not a KMS key.
      keyMembers: (input[4] as string[]).filter((m) => m.endsWith('KeyId') && m !== 'XksKeyId'),
      outputMembers: (output[4] as string[] | undefined) ?? [],
    };
  });
const keyed = operations.filter((o) => o.keyMembers.length > 0);

interface Sent {
  readonly target: string;
  readonly body: Record<string, unknown>;
}
let sent: Sent[] = [];
/** What the fake KMS answers: a JSON body with status 200, or a NotFoundException. */
let answer: (request: Sent) => { status: number; body: Record<string, unknown> } = () => ({ status: 400, body: { __type: 'NotFoundException', message: 'x' } });

const recordingHandler = {
  handle: async (request: { headers: Record<string, string>; body?: unknown }) => {
    const text =
      request.body instanceof Uint8Array
        ? Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString('utf8')
        : typeof request.body === 'string'
          ? request.body
          : '{}';
    const entry = { target: String(request.headers['x-amz-target']), body: JSON.parse(text) as Record<string, unknown> };
    sent.push(entry);
    const { status, body } = answer(entry);
    return {
      response: {
        statusCode: status,
        reason: '',
        headers: { 'content-type': 'application/x-amz-json-1.1' },
        body: Readable.from([Buffer.from(JSON.stringify(body))]),
      },
    };
  },
  updateHttpClientConfig: () => undefined,
  httpHandlerConfigs: () => ({}),
};

let nsm: Nsm;
let keys: KeyManager;
let client: Kms.KMSClient;

beforeAll(async () => {
  nsm = await SimulatedNsm.client({ pki: await NitroPki.create() });
  keys = new KeyManager({ poolSize: 1 });
  client = new Kms.KMSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
    requestHandler: recordingHandler as unknown as NonNullable<Kms.KMSClientConfig['requestHandler']>,
  });
  client.middlewareStack.use(attestationPlugin({ nsm, keys, allowedKeys }));
});
afterAll(() => {
  client?.destroy();
  keys?.close();
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: { code?: string; name?: string }) => e.code ?? e.name,
  );

describe('key pinning over every KMS operation that names a key (from the SDK model)', () => {
  it('finds the operations: the model has the key-taking ones the enclave relies on', () => {
    const names = keyed.map((o) => o.name);
    for (const op of ['Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GetPublicKey', 'DescribeKey', 'CreateAlias']) {
      expect(names).toContain(op);
    }
    expect(keyed.length).toBeGreaterThanOrEqual(40);
    for (const o of keyed) expect(o.command, o.name).toBeTypeOf('function');
  });

  it.each(keyed.map((o) => [o.name, o] as const))('%s: a key outside allowedKeys is refused before anything is sent', async (_, op) => {
    for (const member of op.keyMembers) {
      sent = [];
      const input = Object.fromEntries(op.keyMembers.map((m) => [m, m === member ? 'alias/backup' : ARN]));
      expect(await codeOf(client.send(new op.command(input))), member).toBe('ERR_KMS_WRONG_KEY');
      expect(sent, member).toEqual([]);
    }
  });

  it.each(keyed.map((o) => [o.name, o] as const))('%s: an allowed alias is sent as its pinned ARN', async (_, op) => {
    sent = [];
    answer = () => ({ status: 400, body: { __type: 'NotFoundException', message: 'x' } });
    const input = Object.fromEntries(op.keyMembers.map((m, i) => [m, i % 2 === 0 ? 'alias/app' : 'alias/second']));
    expect(await codeOf(client.send(new op.command(input)))).toBe('NotFoundException');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.target).toBe(`TrentService.${op.name}`);
    const body = sent[0]?.body ?? {};
    for (const [i, m] of op.keyMembers.entries()) expect(body[m], m).toBe(i % 2 === 0 ? ARN : SECOND);
  });

  const answering = keyed.filter((o) => o.outputMembers.includes('KeyId') || o.outputMembers.includes('KeyMetadata'));
  it.each(answering.map((o) => [o.name, o] as const))('%s: an answer that names another key is refused', async (_, op) => {
    answer = () => ({ status: 200, body: { KeyId: PARENTS, SourceKeyId: PARENTS, KeyMetadata: { KeyId: PARENTS.split('/')[1], Arn: PARENTS } } });
    const input = Object.fromEntries(op.keyMembers.map((m) => [m, 'alias/app']));
    expect(await codeOf(client.send(new op.command(input)))).toBe('ERR_KMS_WRONG_KEY');
  });

  it('ReEncrypt: the source and the destination are pinned apart, and each is checked in the answer', async () => {
    answer = () => ({ status: 200, body: { KeyId: SECOND, SourceKeyId: PARENTS, CiphertextBlob: 'AAEC' } });
    const input = { CiphertextBlob: new Uint8Array([1]), SourceKeyId: 'alias/app', DestinationKeyId: 'alias/second' };
    expect(await codeOf(client.send(new Kms.ReEncryptCommand(input)))).toBe('ERR_KMS_WRONG_KEY');
    answer = () => ({ status: 200, body: { KeyId: SECOND, SourceKeyId: ARN, CiphertextBlob: 'AAEC' } });
    const out = await client.send(new Kms.ReEncryptCommand(input));
    expect(out).toMatchObject({ KeyId: SECOND, SourceKeyId: ARN });
    // Without SourceKeyId the ciphertext would choose the source key: with two keys allowed, refused.
    sent = [];
    expect(await codeOf(client.send(new Kms.ReEncryptCommand({ CiphertextBlob: new Uint8Array([1]), DestinationKeyId: 'alias/app' })))).toBe(
      'ERR_KMS_WRONG_KEY',
    );
    expect(sent).toEqual([]);
  });

  it('an answer that should name its key and does not is refused; a management answer without one passes', async () => {
    answer = () => ({ status: 200, body: { CiphertextBlob: 'AAEC' } });
    expect(await codeOf(client.send(new Kms.EncryptCommand({ KeyId: 'alias/app', Plaintext: new Uint8Array([1]) })))).toBe('ERR_KMS_WRONG_KEY');
    answer = () => ({ status: 200, body: {} });
    expect(await codeOf(client.send(new Kms.DescribeKeyCommand({ KeyId: 'alias/app' })))).toBe('ERR_KMS_WRONG_KEY');
    expect(await codeOf(client.send(new Kms.TagResourceCommand({ KeyId: 'alias/app', Tags: [] })))).toBe('OK');
  });

  it('a key member that is not a string is refused before anything is sent', async () => {
    sent = [];
    expect(await codeOf(client.send(new Kms.EncryptCommand({ KeyId: 42 as unknown as string, Plaintext: new Uint8Array([1]) })))).toBe('ERR_KMS_WRONG_KEY');
    expect(sent).toEqual([]);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['{}', {}],
    ['an empty document', { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: new Uint8Array(0) }],
  ])('Recipient %s is no Recipient: the call is attested, pinned, and Plaintext in the answer is refused', async (_, recipient) => {
    sent = [];
    answer = () => ({ status: 200, body: { KeyId: ARN, Plaintext: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', CiphertextBlob: 'AAEC' } });
    const call = client.send(new Kms.GenerateDataKeyCommand({ KeyId: 'alias/app', KeySpec: 'AES_256', Recipient: recipient as Kms.RecipientInfo }));
    expect(await codeOf(call)).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
    const body = sent[0]?.body ?? {};
    expect(body['KeyId']).toBe(ARN);
    expect((body['Recipient'] as { AttestationDocument?: string } | undefined)?.AttestationDocument).toMatch(/^[A-Za-z0-9+/]{100,}/);
    // The same with a key outside allowedKeys never leaves: no unattested way around the pin.
    sent = [];
    const outside = client.send(new Kms.GenerateDataKeyCommand({ KeyId: 'alias/backup', KeySpec: 'AES_256', Recipient: recipient as Kms.RecipientInfo }));
    expect(await codeOf(outside)).toBe('ERR_KMS_WRONG_KEY');
    expect(sent).toEqual([]);
  });

  it("a caller's own Recipient is sent as written, with the key pinned, and Plaintext beside it is still refused", async () => {
    sent = [];
    const own = { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const, AttestationDocument: new Uint8Array([1, 2, 3]) };
    answer = () => ({ status: 200, body: { KeyId: ARN, CiphertextForRecipient: 'AAEC', CiphertextBlob: 'AAEC' } });
    const out = await client.send(new Kms.GenerateDataKeyCommand({ KeyId: 'alias/app', KeySpec: 'AES_256', Recipient: own }));
    expect(out.CiphertextForRecipient).toEqual(new Uint8Array([0, 1, 2]));
    expect(sent[0]?.body).toMatchObject({ KeyId: ARN, Recipient: { AttestationDocument: 'AQID' } });
    answer = () => ({ status: 200, body: { KeyId: ARN, Plaintext: 'AQID', CiphertextBlob: 'AAEC' } });
    expect(await codeOf(client.send(new Kms.GenerateDataKeyCommand({ KeyId: 'alias/app', KeySpec: 'AES_256', Recipient: own })))).toBe(
      'ERR_KMS_PLAINTEXT_IN_RESPONSE',
    );
  });
});
