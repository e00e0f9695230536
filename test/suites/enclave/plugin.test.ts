import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateRandomCommand,
  GetPublicKeyCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationPlugin, KeyManager } from '@nitro-datakey/enclave';
import { configFromValues, type RunningProxy, startProxy } from '@nitro-datakey/parent-proxy';
import { type Nsm, toBase64 } from '@nitro-datakey/shared';
import { NitroPki, SimulatedNsm, startLocalKms, type LocalKms } from '@nitro-datakey/devkit';
import { enclaveRecipient } from '../../support/index.js';

/*
 * The attestation plugin on a plain, unmodified KMSClient, through the real parent proxy. The local KMS
 * speaks plain HTTP here and a tap behind the proxy records every byte the proxy forwarded, so "the
 * plaintext never crosses the parent" is checked on the bytes themselves (in production TLS hides
 * them from the parent as well).
 */
let kms: LocalKms;
let nsm: Nsm;
let keys: KeyManager;
let tap: Server;
let proxy: RunningProxy;
let wire: Buffer[] = [];
let keyArn: string;
let attested: KMSClient;
let plain: KMSClient;

beforeAll(async () => {
  const pki = await NitroPki.create();
  nsm = await SimulatedNsm.client({ pki });
  kms = await startLocalKms({ trustedRootFingerprints: [pki.rootFingerprint] });
  const port = Number(new URL(kms.endpoint).port);
  tap = createServer((down) => {
    const up = connect({ host: '127.0.0.1', port });
    down.on('data', (d: Buffer) => {
      wire.push(Buffer.from(d));
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      wire.push(Buffer.from(d));
      down.write(d);
    });
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  await new Promise<void>((r) => tap.listen(0, '127.0.0.1', () => r()));
  // The real parent proxy forwards to the tap: the tap records exactly the bytes the proxy forwarded.
  const tapPort = (tap.address() as { port: number }).port;
  proxy = await startProxy(configFromValues({ routes: [{ listen: 'tcp:127.0.0.1:0', upstream: `127.0.0.1:${tapPort}` }], allow: [`127.0.0.1:${tapPort}`] }));
  const endpoint = `http://${String(proxy.routes[0]?.listen).slice('tcp:'.length)}`;
  const credentials = { accessKeyId: 'AKIDPLUGIN', secretAccessKey: 'x' };
  plain = new KMSClient({ region: kms.region, endpoint, credentials, maxAttempts: 1 });
  attested = new KMSClient({ region: kms.region, endpoint, credentials, maxAttempts: 1 });
  keys = new KeyManager({ poolSize: 2 });
  attested.middlewareStack.use(attestationPlugin({ nsm, keys }));
  keyArn = (await plain.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
});

afterAll(async () => {
  attested?.destroy();
  plain?.destroy();
  keys?.close();
  await proxy?.close();
  tap?.close();
  await kms?.close();
});

/** Whether `secret` appears on the wire, raw or base64 (as KMS's JSON would carry it). */
const onTheWire = (secret: Uint8Array) => {
  const all = Buffer.concat(wire);
  return all.includes(Buffer.from(secret)) || all.includes(Buffer.from(toBase64(secret)));
};

describe('the attestation plugin on a plain KMSClient', () => {
  it('GenerateDataKey and Decrypt: the usual output, and the data key never on the wire', async () => {
    wire = [];
    const dk = await attested.send(new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: { app: 'plugin' } }));
    expect(dk.Plaintext).toHaveLength(32);
    expect(dk.KeyId).toBe(keyArn);
    expect(dk.CiphertextForRecipient).toBeUndefined();
    const back = await attested.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { app: 'plugin' }, KeyId: keyArn }));
    expect(back.Plaintext).toEqual(dk.Plaintext);
    expect(onTheWire(dk.Plaintext as Uint8Array)).toBe(false);
    // The same output shape an unattested call gives (which does put the key on the wire).
    wire = [];
    const unattested = await plain.send(new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256' }));
    // AWS omits KeyMaterialId when the request has a Recipient, so only the unattested answer has it.
    expect(unattested.KeyMaterialId).toMatch(/^[a-f0-9]{64}$/);
    expect(dk.KeyMaterialId).toBeUndefined();
    expect(
      Object.keys(unattested)
        .filter((k) => k !== '$metadata' && k !== 'KeyMaterialId')
        .sort(),
    ).toEqual(
      Object.keys(dk)
        .filter((k) => k !== '$metadata')
        .sort(),
    );
    expect(onTheWire(unattested.Plaintext as Uint8Array)).toBe(true); // the tap does see plaintext when there is some
  });

  it('GenerateDataKeyPair and GenerateRandom: the outputs an unattested call gives, the secrets never on the wire', async () => {
    // KeyMaterialId is left out: AWS omits it from attested answers (see above).
    const fields = (o: object) =>
      Object.keys(o)
        .filter((k) => k !== '$metadata' && k !== 'KeyMaterialId')
        .sort();
    const plainPair = await plain.send(new GenerateDataKeyPairCommand({ KeyId: keyArn, KeyPairSpec: 'ECC_NIST_P256' }));
    const plainRandom = await plain.send(new GenerateRandomCommand({ NumberOfBytes: 48 }));
    wire = [];
    const pair = await attested.send(new GenerateDataKeyPairCommand({ KeyId: keyArn, KeyPairSpec: 'ECC_NIST_P256' }));
    expect(fields(pair)).toEqual(fields(plainPair));
    const derived = createPublicKey(createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext as Uint8Array), format: 'der', type: 'pkcs8' }));
    expect(Buffer.from(derived.export({ format: 'der', type: 'spki' }))).toEqual(Buffer.from(pair.PublicKey as Uint8Array));
    expect(onTheWire(pair.PrivateKeyPlaintext as Uint8Array)).toBe(false);
    const random = await attested.send(new GenerateRandomCommand({ NumberOfBytes: 48 }));
    expect(random.Plaintext).toHaveLength(48);
    expect(fields(random)).toEqual(fields(plainRandom));
    expect(onTheWire(random.Plaintext as Uint8Array)).toBe(false);
  });

  it('passes other operations through untouched (no Recipient added)', async () => {
    wire = [];
    await attested.send(new DescribeKeyCommand({ KeyId: keyArn }));
    const enc = await attested.send(new EncryptCommand({ KeyId: keyArn, Plaintext: new Uint8Array([1, 2, 3]) }));
    expect(enc.CiphertextBlob).toBeInstanceOf(Uint8Array);
    expect(Buffer.concat(wire).includes(Buffer.from('Recipient'))).toBe(false);
  });

  it('leaves a call whose caller set Recipient as written', async () => {
    const own = await enclaveRecipient(nsm);
    const answer = await attested.send(new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256', Recipient: own.recipient }));
    expect(answer.CiphertextForRecipient).toBeInstanceOf(Uint8Array);
    expect(answer.Plaintext).toBeUndefined();
  });

  it('refuses, with typed errors, what the enclave cannot pin: an alias without allowedKeys', async () => {
    const e = await attested.send(new GenerateDataKeyCommand({ KeyId: 'alias/anything', KeySpec: 'AES_256' })).catch((err: { code?: string }) => err);
    expect(e).toMatchObject({ code: 'ERR_KMS_WRONG_KEY' });
  });
});

describe('DeriveSharedSecret, with and without Recipient', () => {
  it('ECDH with a KEY_AGREEMENT key: attested through the plugin, equal to what the other party computes, never on the wire', async () => {
    const created = await plain.send(new CreateKeyCommand({ KeyUsage: 'KEY_AGREEMENT', KeySpec: 'ECC_NIST_P256' }));
    expect(created.KeyMetadata).toMatchObject({ KeyUsage: 'KEY_AGREEMENT', KeySpec: 'ECC_NIST_P256', KeyAgreementAlgorithms: ['ECDH'] });
    const agreementKey = created.KeyMetadata?.Arn as string;
    const kmsPublic = createPublicKey({
      key: Buffer.from((await plain.send(new GetPublicKeyCommand({ KeyId: agreementKey }))).PublicKey as Uint8Array),
      format: 'der',
      type: 'spki',
    });
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const expected = new Uint8Array(diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublic }));
    const peerSpki = new Uint8Array(peer.publicKey.export({ format: 'der', type: 'spki' }));
    wire = [];
    const attestedAnswer = await attested.send(new DeriveSharedSecretCommand({ KeyId: agreementKey, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerSpki }));
    expect(attestedAnswer.SharedSecret).toEqual(expected);
    expect(attestedAnswer.CiphertextForRecipient).toBeUndefined();
    expect(onTheWire(expected)).toBe(false);
    const unattested = await plain.send(new DeriveSharedSecretCommand({ KeyId: agreementKey, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerSpki }));
    expect(unattested.SharedSecret).toEqual(expected);
  });

  it('is validated as AWS validates it', async () => {
    const agreementKey = (await plain.send(new CreateKeyCommand({ KeyUsage: 'KEY_AGREEMENT', KeySpec: 'ECC_NIST_P384' }))).KeyMetadata?.Arn as string;
    const p256 = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }));
    const nameOf = (p: Promise<unknown>) =>
      p.then(
        () => 'OK',
        (e: Error) => e.name,
      );
    expect(await nameOf(plain.send(new DeriveSharedSecretCommand({ KeyId: agreementKey, KeyAgreementAlgorithm: 'ECDH', PublicKey: p256 })))).toBe(
      'ValidationException',
    );
    expect(
      await nameOf(plain.send(new DeriveSharedSecretCommand({ KeyId: agreementKey, KeyAgreementAlgorithm: 'ECDH', PublicKey: new Uint8Array([1, 2]) }))),
    ).toBe('ValidationException');
    expect(await nameOf(plain.send(new DeriveSharedSecretCommand({ KeyId: keyArn, KeyAgreementAlgorithm: 'ECDH', PublicKey: p256 })))).toBe(
      'InvalidKeyUsageException',
    );
    expect(await nameOf(plain.send(new EncryptCommand({ KeyId: agreementKey, Plaintext: new Uint8Array([1]) })))).toBe('InvalidKeyUsageException');
    expect(await nameOf(plain.send(new GenerateDataKeyCommand({ KeyId: agreementKey, KeySpec: 'AES_256' })))).toBe('InvalidKeyUsageException');
    expect(await nameOf(plain.send(new CreateKeyCommand({ KeyUsage: 'KEY_AGREEMENT', KeySpec: 'SYMMETRIC_DEFAULT' })))).toBe('ValidationException');
    expect(await nameOf(plain.send(new CreateKeyCommand({ KeyUsage: 'KEY_AGREEMENT' })))).toBe('ValidationException');
  });
});
