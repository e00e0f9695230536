import { execFileSync, spawnSync } from 'node:child_process';
import { constants, createCipheriv, createPrivateKey, generateKeyPairSync, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCiphertextForRecipient, encodeCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import {
  CmsError,
  decryptCiphertextForRecipient,
  parseAsn1,
  parseCiphertextForRecipient,
  subjectKeyIdentifier,
  toHex,
  type Asn1Node,
  type EnvelopedDataParts,
} from '@nitro-datakey/shared';
import { readVector, vectorsAvailable, vectorsDir } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';
import { nitroDatakey as main } from '@nitro-datakey/commands';

const KEYED = ['edgebitio-nitro-enclaves-sdk-go', 'enclaver', 'aws-samples-nitro-enclave-blockchain-wallet-on-eks'];
const haveVectors = vectorsAvailable();
const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
const skipNote = (what: string) => ` (SKIPPED: ${what})`;

let alice: { privateKey: KeyObject; publicKey: KeyObject };
let bob: { privateKey: KeyObject; publicKey: KeyObject };
let dir: string;

beforeAll(() => {
  alice = generateKeyPairSync('rsa', { modulusLength: 2048 });
  bob = generateKeyPairSync('rsa', { modulusLength: 2048 });
  dir = scratchDir('ndk-cms-');
});

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!(e instanceof CmsError)) throw e;
    return e.code;
  }
  return 'OK';
}

/** A structural fingerprint of a BER tree: tags, constructed/indefinite forms, OIDs, small integers and lengths. */
function shape(node: Asn1Node, depth = 0): string[] {
  const form = node.constructed ? (node.indefinite ? 'indef' : 'def') : `prim(${node.content.byteLength})`;
  const detail =
    node.tagClass === 0 && node.tagNumber === 6
      ? ` ${toHex(node.content)}`
      : node.tagClass === 0 && node.tagNumber === 2 && node.content.byteLength === 1
        ? ` =${node.content[0]}`
        : '';
  return [`${' '.repeat(depth)}${node.tagClass}:${node.tagNumber} ${form}${detail}`, ...node.children.flatMap((c) => shape(c, depth + 1))];
}

function partsFor(
  recipient: KeyObject,
  plaintext: Uint8Array,
  change: (p: { cek: Buffer; content: Buffer; rid: Uint8Array }) => void = () => {},
): EnvelopedDataParts {
  const cek = randomBytes(32);
  const iv = randomBytes(16);
  const p = { cek, content: Buffer.alloc(0), rid: subjectKeyIdentifier(recipient) };
  const cipher = createCipheriv('aes-256-cbc', cek, iv);
  p.content = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  change(p);
  const encryptedKey = publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, p.cek);
  return {
    version: 2,
    recipient: { version: 2, rid: { type: 'subjectKeyIdentifier', keyIdentifier: p.rid }, encryptedKey: new Uint8Array(encryptedKey) },
    iv: new Uint8Array(iv),
    encryptedContent: new Uint8Array(p.content),
  };
}

/** Replaces the n-th occurrence of `from` (hex) with `to` (hex) in `bytes`. */
function patch(bytes: Uint8Array, from: string, to: string, occurrence = 0): Uint8Array {
  const hex = toHex(bytes);
  let at = -1;
  for (let i = 0; i <= occurrence; i++) at = hex.indexOf(from, at + 1);
  if (at < 0 || at % 2) throw new Error(`pattern ${from} not found`);
  return new Uint8Array(Buffer.from(hex.slice(0, at) + to + hex.slice(at + from.length), 'hex'));
}

describe.skipIf(!haveVectors)(`real KMS CiphertextForRecipient samples${haveVectors ? '' : skipNote(`no vectors at ${vectorsDir()}`)}`, () => {
  it.each(KEYED)('%s decrypts to its expected plaintext with PKCS#8 and PKCS#1 keys', (name) => {
    const bytes = readVector(`cms/${name}/ciphertext_for_recipient.ber`);
    const expected = readFileSync(join(vectorsDir(), 'cms', name, 'expected_plaintext.hex'), 'utf8').trim();
    for (const file of ['rsa_private_key_pkcs8.pem', 'rsa_private_key_pkcs1.pem']) {
      let pem: string;
      try {
        pem = readFileSync(join(vectorsDir(), 'cms', name, file), 'utf8');
      } catch {
        continue; // enclaver ships PKCS#8 only
      }
      expect(toHex(decryptCiphertextForRecipient(bytes, createPrivateKey(pem)))).toBe(expected);
    }
    // The base64 form KMS puts in JSON holds the same bytes.
    const b64 = readFileSync(join(vectorsDir(), 'cms', name, 'ciphertext_for_recipient.b64'), 'utf8').trim();
    expect(Buffer.from(b64, 'base64').equals(Buffer.from(bytes))).toBe(true);
  });

  it.each(['input_ber', 'input_ber_w_ctx'])('sdk-c %s parses to the expected encrypted key, IV and ciphertext', (name) => {
    const expected = JSON.parse(readFileSync(join(vectorsDir(), 'cms', 'aws-nitro-enclaves-sdk-c', 'expected.json'), 'utf8'))[name];
    const parts = parseCiphertextForRecipient(readVector(`cms/aws-nitro-enclaves-sdk-c/${name}.ber`));
    expect(toHex(parts.recipient.encryptedKey)).toBe(expected.expected_encrypted_key);
    expect(toHex(parts.iv)).toBe(expected.expected_iv);
    expect(toHex(parts.encryptedContent)).toBe(expected.expected_ciphertext);
    expect(parts.recipient.rid.type).toBe('subjectKeyIdentifier');
  });

  it('the rid of every keyed sample is SHA-256 of its key, and another key is refused before any RSA work', () => {
    for (const name of KEYED) {
      const bytes = readVector(`cms/${name}/ciphertext_for_recipient.ber`);
      const spki = readVector(`cms/${name}/recipient_public_key_spki.der`);
      const parts = parseCiphertextForRecipient(bytes);
      expect(parts.recipient.rid).toEqual({ type: 'subjectKeyIdentifier', keyIdentifier: subjectKeyIdentifier(spki) });
      expect(codeOf(() => decryptCiphertextForRecipient(bytes, alice.privateKey))).toBe('ERR_CMS_RECIPIENT_MISMATCH');
    }
  });

  it('what we build has the structure of a real KMS answer, down to every length', () => {
    const real = readVector('cms/edgebitio-nitro-enclaves-sdk-go/ciphertext_for_recipient.ber');
    const ours = buildCiphertextForRecipient(new Uint8Array(32), alice.publicKey);
    expect(ours.byteLength).toBe(real.byteLength);
    expect(shape(parseAsn1(ours, { encoding: 'ber' }))).toEqual(shape(parseAsn1(real, { encoding: 'ber' })));
    const realLong = readVector('cms/aws-samples-nitro-enclave-blockchain-wallet-on-eks/ciphertext_for_recipient.ber');
    expect(shape(parseAsn1(buildCiphertextForRecipient(new Uint8Array(154), alice.publicKey), { encoding: 'ber' }))).toEqual(
      shape(parseAsn1(realLong, { encoding: 'ber' })),
    );
  });
});

describe('buildCiphertextForRecipient', () => {
  it('round-trips every plaintext size KMS can send, with a fresh key and IV each time', () => {
    for (const size of [0, 1, 15, 16, 17, 32, 1024, 4096]) {
      const plaintext = new Uint8Array(randomBytes(size));
      const a = buildCiphertextForRecipient(plaintext, alice.publicKey);
      expect(decryptCiphertextForRecipient(a, alice.privateKey)).toEqual(plaintext);
      const b = buildCiphertextForRecipient(plaintext, alice.publicKey);
      expect(toHex(parseCiphertextForRecipient(a).iv)).not.toBe(toHex(parseCiphertextForRecipient(b).iv));
    }
  });

  it('accepts the recipient as SPKI DER and refuses non-RSA keys', () => {
    const spki = new Uint8Array(alice.publicKey.export({ format: 'der', type: 'spki' }));
    expect(decryptCiphertextForRecipient(buildCiphertextForRecipient(new Uint8Array([1]), spki), alice.privateKey)).toEqual(new Uint8Array([1]));
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => buildCiphertextForRecipient(new Uint8Array(1), ec.publicKey)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => decryptCiphertextForRecipient(new Uint8Array(1), ec.privateKey)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it("pkijs, an independent reader, sees KMS's layout in our output", () => {
    const ours = buildCiphertextForRecipient(new Uint8Array(32), alice.publicKey);
    const contentInfo = new pkijs.ContentInfo({ schema: asn1js.fromBER(ours).result });
    expect(contentInfo.contentType).toBe('1.2.840.113549.1.7.3');
    const env = new pkijs.EnvelopedData({ schema: contentInfo.content });
    expect(env.version).toBe(2);
    expect(env.recipientInfos).toHaveLength(1);
    const ktri = env.recipientInfos[0]?.value as pkijs.KeyTransRecipientInfo;
    expect(ktri.version).toBe(2);
    expect(ktri.keyEncryptionAlgorithm.algorithmId).toBe('1.2.840.113549.1.1.7');
    const oaep = new pkijs.RSAESOAEPParams({ schema: ktri.keyEncryptionAlgorithm.algorithmParams });
    expect(oaep.hashAlgorithm.algorithmId).toBe('2.16.840.1.101.3.4.2.1');
    expect(new pkijs.AlgorithmIdentifier({ schema: oaep.maskGenAlgorithm.algorithmParams }).algorithmId).toBe('2.16.840.1.101.3.4.2.1');
    expect(env.encryptedContentInfo.contentEncryptionAlgorithm.algorithmId).toBe('2.16.840.1.101.3.4.1.42');
    expect(env.originatorInfo).toBeUndefined();
    expect(env.unprotectedAttrs).toBeUndefined();
  });

  it('can store the content as a primitive [0] like one sdk-c sample', () => {
    const ours = buildCiphertextForRecipient(new Uint8Array(5), alice.publicKey, { chunkedContent: false });
    expect(toHex(ours)).toContain('8010');
    expect(decryptCiphertextForRecipient(ours, alice.privateKey)).toEqual(new Uint8Array(5));
  });
});

describe.skipIf(!haveOpenssl)(`OpenSSL interoperability${haveOpenssl ? '' : skipNote('openssl CLI not found')}`, () => {
  let keyPem: string;
  let certPem: string;

  beforeAll(() => {
    keyPem = join(dir, 'key.pem');
    certPem = join(dir, 'cert.pem');
    writeFileSync(keyPem, alice.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    execFileSync('openssl', ['req', '-x509', '-new', '-key', keyPem, '-subj', '/CN=enclave', '-days', '1', '-out', certPem]);
  });

  const opensslEncrypt = (plaintext: Uint8Array, extra: string[] = []): Uint8Array => {
    const input = join(dir, 'plain.bin');
    writeFileSync(input, plaintext);
    return new Uint8Array(
      execFileSync('openssl', [
        'cms',
        '-encrypt',
        ...extra,
        '-in',
        input,
        '-binary',
        '-recip',
        certPem,
        '-keyopt',
        'rsa_padding_mode:oaep',
        '-keyopt',
        'rsa_oaep_md:sha256',
        '-keyopt',
        'rsa_mgf1_md:sha256',
        '-aes-256-cbc',
        '-outform',
        'DER',
      ]),
    );
  };

  it('openssl cms -decrypt opens what we build', () => {
    const plaintext = new Uint8Array(randomBytes(100));
    const file = join(dir, 'ours.ber');
    writeFileSync(file, buildCiphertextForRecipient(plaintext, alice.publicKey));
    const out = execFileSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', file, '-inkey', keyPem, '-binary']);
    expect(new Uint8Array(out)).toEqual(plaintext);
  });

  it('what openssl cms -encrypt makes (issuer-and-serial rid) is refused by default and opened with the explicit option', () => {
    const plaintext = new Uint8Array(randomBytes(77));
    const theirs = opensslEncrypt(plaintext);
    expect(codeOf(() => decryptCiphertextForRecipient(theirs, alice.privateKey))).toBe('ERR_CMS_UNSUPPORTED');
    expect(decryptCiphertextForRecipient(theirs, alice.privateKey, { allowIssuerAndSerialNumber: true })).toEqual(plaintext);
  });

  it('openssl -keyid output names the key by its SHA-1 SKI, which is not ours: refused as another recipient', () => {
    expect(codeOf(() => decryptCiphertextForRecipient(opensslEncrypt(new Uint8Array(8), ['-keyid']), alice.privateKey))).toBe('ERR_CMS_RECIPIENT_MISMATCH');
  });
});

describe('every rejection', () => {
  const plaintext = new Uint8Array(32).fill(1);
  let good: Uint8Array;
  beforeAll(() => {
    good = buildCiphertextForRecipient(plaintext, alice.publicKey);
  });

  const OID = {
    sha256: '0609608648016503040201',
    rsaesOaep: '06092a864886f70d010107',
    data: '06092a864886f70d010701',
    enveloped: '06092a864886f70d010703',
  };

  it.each([
    ['AES-128-CBC content', () => patch(good, '060960864801650304012a', '0609608648016503040102'), 'ERR_CMS_UNSUPPORTED'],
    ['AES-256-GCM content', () => patch(good, '060960864801650304012a', '060960864801650304012e'), 'ERR_CMS_UNSUPPORTED'],
    ['PKCS#1 v1.5 key transport', () => patch(good, OID.rsaesOaep, '06092a864886f70d010101'), 'ERR_CMS_UNSUPPORTED'],
    ['OAEP with SHA-384', () => patch(good, OID.sha256, '0609608648016503040202', 0), 'ERR_CMS_UNSUPPORTED'],
    ['MGF1 with SHA-384', () => patch(good, OID.sha256, '0609608648016503040202', 1), 'ERR_CMS_UNSUPPORTED'],
    ['content type other than id-data', () => patch(good, OID.data, '06092a864886f70d010702'), 'ERR_CMS_UNSUPPORTED'],
    ['ContentInfo of signedData', () => patch(good, OID.enveloped, '06092a864886f70d010702'), 'ERR_CMS_UNSUPPORTED'],
    ['EnvelopedData version 0 with a SKI recipient', () => patch(good, '020102318201', '020100318201'), 'ERR_CMS_UNSUPPORTED'],
    ['KeyTransRecipientInfo version 0 with a SKI', () => patch(good, '0201028020', '0201008020'), 'ERR_CMS_UNSUPPORTED'],
    ['EnvelopedData version 3', () => patch(good, '020102318201', '020103318201'), 'ERR_CMS_UNSUPPORTED'],
    ['originatorInfo', () => patch(good, '020102318201', '020102a000318201'), 'ERR_CMS_UNSUPPORTED'],
    ['a trailing byte', () => new Uint8Array([...good, 0]), 'ERR_CMS_MALFORMED'],
    ['a missing end-of-contents', () => good.subarray(0, good.length - 2), 'ERR_CMS_MALFORMED'],
    ['definite inner length running past its parent', () => patch(good, '318201', '318301'), 'ERR_CMS_MALFORMED'],
    ['IV of 15 bytes', () => encodeCiphertextForRecipient({ ...parseCiphertextForRecipient(good), iv: new Uint8Array(15) }), 'ERR_CMS_MALFORMED'],
    [
      'ciphertext not a multiple of 16',
      () => encodeCiphertextForRecipient({ ...parseCiphertextForRecipient(good), encryptedContent: new Uint8Array(33) }),
      'ERR_CMS_MALFORMED',
    ],
  ])('%s', (_name, make, code) => {
    expect(codeOf(() => decryptCiphertextForRecipient(make(), alice.privateKey))).toBe(code);
  });

  it('several recipients', () => {
    const set = parseAsn1(good, { encoding: 'ber' }).children[1]?.children[0]?.children[1] as Asn1Node;
    const ktri = set.children[0]?.raw as Uint8Array;
    const doubled = patch(good, toHex(set.raw), `3182${(ktri.length * 2).toString(16).padStart(4, '0')}${toHex(ktri)}${toHex(ktri)}`);
    expect(parseAsn1(doubled, { encoding: 'ber' }).children[1]?.children[0]?.children[1]?.children).toHaveLength(2);
    expect(codeOf(() => decryptCiphertextForRecipient(doubled, alice.privateKey))).toBe('ERR_CMS_UNSUPPORTED');
  });

  it('a message for another key, by rid or by an explicit public key', () => {
    expect(codeOf(() => decryptCiphertextForRecipient(good, bob.privateKey))).toBe('ERR_CMS_RECIPIENT_MISMATCH');
    expect(codeOf(() => decryptCiphertextForRecipient(good, alice.privateKey, { publicKey: bob.publicKey }))).toBe('ERR_CMS_RECIPIENT_MISMATCH');
    expect(decryptCiphertextForRecipient(good, alice.privateKey, { publicKey: alice.publicKey })).toEqual(plaintext);
  });

  it('wrong RSA key, bad PKCS#7 padding and a short content key fail with one indistinguishable error', () => {
    // Addressed (by rid) to bob but wrapped for alice: OAEP fails under bob's key.
    const wrongKey = encodeCiphertextForRecipient(
      partsFor(alice.publicKey, plaintext, (p) => {
        p.rid = subjectKeyIdentifier(bob.publicKey);
      }),
    );
    // Valid key wrap, content whose last block decrypts to invalid padding (0x00).
    const badPadding = encodeCiphertextForRecipient(
      partsFor(alice.publicKey, plaintext, (p) => {
        const iv = Buffer.alloc(16);
        const c = createCipheriv('aes-256-cbc', p.cek, iv).setAutoPadding(false);
        p.content = Buffer.concat([c.update(Buffer.alloc(32, 0)), c.final()]);
      }),
    );
    const shortKey = encodeCiphertextForRecipient(
      partsFor(alice.publicKey, plaintext, (p) => {
        p.cek = p.cek.subarray(0, 16);
      }),
    );
    const errors = [
      [wrongKey, bob.privateKey],
      [badPadding, alice.privateKey],
      [shortKey, alice.privateKey],
    ].map(([bytes, key]) => {
      try {
        decryptCiphertextForRecipient(bytes as Uint8Array, key as KeyObject);
      } catch (e) {
        return e as CmsError;
      }
      throw new Error('expected a failure');
    });
    for (const e of errors) {
      expect(e.code).toBe('ERR_CMS_DECRYPT_FAILED');
      expect(e.message).toBe(errors[0]?.message);
      expect(e.cause).toBeUndefined();
    }
  });

  it('only ever throws CmsError on random, truncated and bit-flipped input', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 16) & 0xff;
    };
    for (let i = 0; i < 1500; i++) {
      let input: Uint8Array;
      if (i % 3 === 0) input = new Uint8Array(Array.from({ length: rand() * 2 }, rand));
      else if (i % 3 === 1) input = good.subarray(0, (rand() * 256 + rand()) % good.length);
      else {
        input = good.slice();
        input[(rand() * 256 + rand()) % input.length] = rand();
      }
      try {
        decryptCiphertextForRecipient(input, alice.privateKey);
      } catch (e) {
        if (!(e instanceof CmsError)) throw e;
      }
    }
  });
});

describe('nitro-datakey cms-decrypt and cms-encrypt', () => {
  async function run(argv: string[], stdin: Uint8Array = new Uint8Array(0)): Promise<{ code: number; out: Buffer; err: string }> {
    const out: Buffer[] = [];
    let err = '';
    const code = await main(argv, {
      io: {
        stdout: (d) => out.push(Buffer.from(d)),
        stderr: (t) => {
          err += t;
        },
        readStdin: async () => stdin,
      },
    });
    return { code, out: Buffer.concat(out), err };
  }

  it('encrypts and decrypts through files and stdin, raw and hex', async () => {
    const keyPem = join(dir, 'cli-key.pem');
    const pubPem = join(dir, 'cli-pub.pem');
    writeFileSync(keyPem, alice.privateKey.export({ format: 'pem', type: 'pkcs1' }));
    writeFileSync(pubPem, alice.publicKey.export({ format: 'pem', type: 'spki' }));
    const plaintext = new Uint8Array(randomBytes(300));
    const enc = await run(['cms-encrypt', '--recipient', pubPem, '-'], plaintext);
    expect(enc.code).toBe(0);
    const berFile = join(dir, 'cli.ber');
    writeFileSync(berFile, enc.out);
    const dec = await run(['cms-decrypt', '--key', keyPem, berFile]);
    expect(dec.code).toBe(0);
    expect(new Uint8Array(dec.out)).toEqual(plaintext);
    const hex = await run(['cms-decrypt', '--key', keyPem, '--format', 'hex', '-'], new Uint8Array(Buffer.from(enc.out.toString('base64'))));
    expect(hex.out.toString().trim()).toBe(toHex(plaintext));
  });

  it('exits 1 when refused and 2 on usage errors', async () => {
    const bobKey = join(dir, 'bob.pem');
    writeFileSync(bobKey, bob.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const berFile = join(dir, 'for-alice.ber');
    writeFileSync(berFile, buildCiphertextForRecipient(new Uint8Array(4), alice.publicKey));
    const refused = await run(['cms-decrypt', '--key', bobKey, berFile]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/ERR_CMS_RECIPIENT_MISMATCH/);
    for (const argv of [
      ['cms-decrypt', berFile],
      ['cms-decrypt', '--key', join(dir, 'nope.pem'), berFile],
      ['cms-decrypt', '--key', berFile, berFile],
      ['cms-encrypt', berFile],
      ['cms-encrypt', '--recipient', bobKey],
    ]) {
      expect((await run(argv)).code, argv.join(' ')).toBe(2);
    }
    expect((await run(['cms-decrypt', '--help'])).code).toBe(0);
  });

  it('takes DER keys as well as PEM, one --format flag on both commands, and refuses an empty input', async () => {
    const keyDer = join(dir, 'cli-key.der');
    const pubDer = join(dir, 'cli-pub.der');
    writeFileSync(keyDer, alice.privateKey.export({ format: 'der', type: 'pkcs8' }));
    writeFileSync(pubDer, alice.publicKey.export({ format: 'der', type: 'spki' }));
    const plaintext = new Uint8Array(randomBytes(40));
    const enc = await run(['cms-encrypt', '--recipient', pubDer, '--format', 'base64', '-'], plaintext);
    expect(enc.code).toBe(0);
    expect(enc.out.toString().trim()).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const dec = await run(['cms-decrypt', '--key', keyDer, '--format', 'base64', '-'], new Uint8Array(enc.out));
    expect(Buffer.from(dec.out.toString().trim(), 'base64')).toEqual(Buffer.from(plaintext));
    const empty = await run(['cms-encrypt', '--recipient', pubDer, '-'], new Uint8Array(0));
    expect(empty.code).toBe(2);
    expect(empty.err).toMatch(/input is empty/);
    expect((await run(['cms-encrypt', '--recipient', pubDer, '--format', 'pem', '-'], plaintext)).code).toBe(2);
    const unknown = await run(['cms-decrypt', '--hex', '--key', keyDer, '-'], new Uint8Array(enc.out));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe('nitro-datakey cms-decrypt: unknown option --hex (see --help)\n');
  });
});
