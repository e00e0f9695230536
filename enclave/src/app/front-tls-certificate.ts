import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { concatDer, derOid, derSmallInteger, derTlv, TagByte } from '@nitro-datakey/shared/asn1';

/** A TLS key made inside the enclave, with the self-signed certificate that carries it. */
export interface FrontTlsIdentity {
  readonly keyPem: string;
  readonly certificatePem: string;
  /** SubjectPublicKeyInfo DER: what the front's attestation document names as public_key. */
  readonly spki: Uint8Array;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const UTF8_STRING = 0x0c;
const UTC_TIME = 0x17;
const BIT_STRING = 0x03;

function utcTime(ms: number): Uint8Array {
  // YYMMDDHHMMSSZ: valid for 1950-2049, which is all a certificate made now needs.
  const text = new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return derTlv(UTC_TIME, new TextEncoder().encode(`${text}Z`));
}

/**
 * A fresh P-256 key and a self-signed certificate for it. No CA vouches for it: clients trust the key
 * because an attestation document over their nonce names it (AttestedAgent), so the key never leaves
 * the enclave process and lives as long as it.
 */
export function makeFrontTlsIdentity(now = Date.now()): FrontTlsIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const name = derTlv(
    TagByte.Sequence,
    derTlv(TagByte.Set, derTlv(TagByte.Sequence, derOid(COMMON_NAME), derTlv(UTF8_STRING, new TextEncoder().encode('nitro-datakey attested front')))),
  );
  const serial = new Uint8Array(randomBytes(16));
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01; // positive and minimal
  const algorithm = derTlv(TagByte.Sequence, derOid(ECDSA_WITH_SHA256));
  const tbs = derTlv(
    TagByte.Sequence,
    derTlv(TagByte.context(0, true), derSmallInteger(2)),
    derTlv(TagByte.Integer, serial),
    algorithm,
    name,
    derTlv(TagByte.Sequence, utcTime(now - 3_600_000), utcTime(now + 365 * 86_400_000)),
    name,
    spki,
  );
  const signature = new Uint8Array(sign('sha256', tbs, privateKey));
  const certificate = derTlv(TagByte.Sequence, tbs, algorithm, derTlv(BIT_STRING, concatDer([Uint8Array.of(0), signature])));
  const base64 = Buffer.from(certificate).toString('base64').replace(/.{64}/g, '$&\n');
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificatePem: `-----BEGIN CERTIFICATE-----\n${base64}${base64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`,
    spki,
  };
}
