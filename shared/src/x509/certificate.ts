import { NitroDatakeyError } from '../errors.js';
import {
  Asn1Error,
  expectContext,
  expectUniversal,
  isContext,
  parseAsn1,
  readBitStringBytes,
  readBoolean,
  readIntegerBytes,
  readNamedBits,
  readOctetString,
  readOid,
  readSequence,
  readSmallInteger,
  readTime,
  UniversalTag,
  type Asn1Node,
} from '../asn1/index.js';
import { bytesEqual, toHex } from '../bytes.js';

// Pure parsing, no crypto: this module runs unchanged in browsers and workers. Signatures and
// fingerprints are the attestation verifier's crypto driver's work (node:crypto or WebCrypto).

export type CertificateErrorCode = 'ERR_CERTIFICATE_MALFORMED' | 'ERR_CERTIFICATE_UNSUPPORTED';

export class CertificateError extends NitroDatakeyError {
  declare readonly code: CertificateErrorCode;

  constructor(code: CertificateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export const OID = {
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecPublicKey: '1.2.840.10045.2.1',
  secp384r1: '1.3.132.0.34',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
} as const;

/** X.509 KeyUsage bit numbers (RFC 5280 4.2.1.3). */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
} as const;

// Extensions we understand or may safely ignore when non-critical; an unknown critical one is refused.
const UNDERSTOOD_EXTENSIONS: ReadonlySet<string> = new Set([OID.basicConstraints, OID.keyUsage]);

const UTF8 = new TextDecoder();

const NAME_ATTRIBUTES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
};

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLength?: number;
}

/** The parts of an X.509 v3 certificate that chain validation reads. */
export interface Certificate {
  readonly der: Uint8Array;
  readonly serialNumber: string;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly issuerName: string;
  readonly subjectName: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** The subjectPublicKeyInfo DER: an EC P-384 key, uncompressed, checked to be on the curve. */
  readonly spki: Uint8Array;
  readonly basicConstraints?: BasicConstraints;
  /** KeyUsage bits (see `KeyUsage`), undefined when the extension is absent. */
  readonly keyUsage?: number;
  /** The tbsCertificate bytes: what the issuer signed. */
  readonly tbs: Uint8Array;
  /** The issuer's signature as r ‖ s (48 bytes each), or null when it is not a well-formed DER ECDSA signature. */
  readonly signature: Uint8Array | null;
}

/**
 * Parses a DER certificate strictly. Only ECDSA P-384 keys signed with ecdsa-with-SHA384 are
 * accepted: that is what the AWS Nitro PKI uses, and anything else is refused rather than guessed at.
 */
export function parseCertificate(der: Uint8Array): Certificate {
  try {
    return parse(der);
  } catch (cause) {
    if (cause instanceof CertificateError) throw cause;
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new CertificateError('ERR_CERTIFICATE_MALFORMED', `malformed certificate: ${detail}`, { cause });
  }
}

function parse(der: Uint8Array): Certificate {
  const [tbsNode, algNode, sigNode] = readSequence(parseAsn1(der, { encoding: 'der' }), 'Certificate', 3, 3);
  const tbsFields = readSequence(tbsNode, 'tbsCertificate', 6, 10);
  let i = 0;
  const versionNode = expectContext(tbsFields[i++], 0, true, 'version');
  const version = readSmallInteger(versionNode.children[0], 'version');
  if (version !== 2 || versionNode.children.length !== 1) throw new Asn1Error('only X.509 v3 certificates are accepted');
  const serial = readIntegerBytes(tbsFields[i++], 'serialNumber');
  const innerAlg = readAlgorithm(tbsFields[i++], 'tbsCertificate.signature');
  const issuer = expectUniversal(tbsFields[i++], UniversalTag.Sequence, 'issuer');
  const [notBeforeNode, notAfterNode] = readSequence(tbsFields[i++], 'validity', 2, 2);
  const subject = expectUniversal(tbsFields[i++], UniversalTag.Sequence, 'subject');
  const spki = expectUniversal(tbsFields[i++], UniversalTag.Sequence, 'subjectPublicKeyInfo');
  if (isContext(tbsFields[i], 1)) i++; // issuerUniqueID: obsolete, carries nothing we use
  if (isContext(tbsFields[i], 2)) i++; // subjectUniqueID
  const extensionsNode = isContext(tbsFields[i], 3) ? tbsFields[i++] : undefined;
  if (i !== tbsFields.length) throw new Asn1Error('unexpected fields at the end of tbsCertificate');

  const outerAlg = readAlgorithm(algNode, 'signatureAlgorithm');
  if (outerAlg !== innerAlg) throw new Asn1Error('signatureAlgorithm differs from tbsCertificate.signature');
  if (outerAlg !== OID.ecdsaWithSha384) {
    throw new CertificateError('ERR_CERTIFICATE_UNSUPPORTED', `unsupported certificate signature algorithm ${outerAlg} (only ecdsa-with-SHA384)`);
  }
  checkEcP384(spki);

  const extensions = extensionsNode ? readExtensions(extensionsNode) : new Map<string, Uint8Array>();
  const bc = extensions.get(OID.basicConstraints);
  const ku = extensions.get(OID.keyUsage);
  const cert: Certificate = {
    der,
    // Without the DER sign octet, as tools print serials.
    serialNumber: toHex(serial.byteLength > 1 && serial[0] === 0 ? serial.subarray(1) : serial),
    issuer: issuer.raw,
    subject: subject.raw,
    issuerName: formatName(issuer),
    subjectName: formatName(subject),
    notBefore: readTime(notBeforeNode, 'notBefore'),
    notAfter: readTime(notAfterNode, 'notAfter'),
    spki: spki.raw,
    ...(bc ? { basicConstraints: readBasicConstraints(bc) } : {}),
    ...(ku ? { keyUsage: readNamedBits(parseAsn1(ku, { encoding: 'der' }), 'keyUsage') } : {}),
    tbs: (tbsNode as Asn1Node).raw,
    signature: ecdsaSignatureToP1363(readBitStringBytes(sigNode, 'signatureValue'), P384_SCALAR_BYTES),
  };
  return cert;
}

/** True when `cert` names `issuer`'s subject as its issuer (byte-exact, as RFC 5280 name chaining allows us to require). */
export function issuerNameMatches(cert: Certificate, issuer: Certificate): boolean {
  return bytesEqual(cert.issuer, issuer.subject);
}

/**
 * A DER `ECDSA-Sig-Value` as fixed-width r ‖ s, the form WebCrypto verifies. Null for anything that is
 * not two positive DER INTEGERs of at most `width` bytes: such a signature verifies under no key.
 */
export function ecdsaSignatureToP1363(der: Uint8Array, width: number): Uint8Array | null {
  try {
    const [r, s] = readSequence(parseAsn1(der, { encoding: 'der' }), 'ECDSA-Sig-Value', 2, 2);
    const out = new Uint8Array(2 * width);
    for (const [i, node] of [r, s].entries()) {
      const value = readIntegerBytes(node, 'ECDSA-Sig-Value');
      const magnitude = value.byteLength > 1 && value[0] === 0 ? value.subarray(1) : value;
      if ((value[0] as number) & 0x80 || magnitude.byteLength > width) return null;
      out.set(magnitude, (i + 1) * width - magnitude.byteLength);
    }
    return out;
  } catch {
    return null;
  }
}

function readAlgorithm(node: Asn1Node | undefined, label: string): string {
  const fields = readSequence(node, label, 1, 2);
  const oid = readOid(fields[0], `${label}.algorithm`);
  // ECDSA identifiers have absent parameters (RFC 5758); a present NULL or anything else is refused.
  if (oid === OID.ecdsaWithSha384 && fields.length !== 1) throw new Asn1Error(`${label}: ECDSA parameters must be absent`);
  return oid;
}

function checkEcP384(spki: Asn1Node): void {
  const [alg, key] = readSequence(spki, 'subjectPublicKeyInfo', 2, 2);
  const algFields = readSequence(alg, 'subjectPublicKeyInfo.algorithm', 2, 2);
  const keyType = readOid(algFields[0], 'subjectPublicKeyInfo.algorithm');
  const curve = algFields[1]?.tagNumber === UniversalTag.Oid ? readOid(algFields[1], 'namedCurve') : 'explicit parameters';
  if (keyType !== OID.ecPublicKey || curve !== OID.secp384r1) {
    throw new CertificateError('ERR_CERTIFICATE_UNSUPPORTED', `unsupported certificate key ${keyType} / ${curve} (only EC P-384)`);
  }
  checkP384Point(readBitStringBytes(key, 'subjectPublicKey'));
}

const P384_SCALAR_BYTES = 48;
const P384_P = 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n;
const P384_B = 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn;

/**
 * An uncompressed point on P-384, checked here rather than left to the crypto library: Node refused a
 * bad key while parsing and WebCrypto would refuse it while verifying, and the verdict must not depend
 * on which one runs.
 */
function checkP384Point(point: Uint8Array): void {
  if (point[0] !== 0x04 || point.byteLength !== 1 + 2 * P384_SCALAR_BYTES) {
    throw new CertificateError('ERR_CERTIFICATE_UNSUPPORTED', 'the certificate key is not an uncompressed P-384 point');
  }
  const x = BigInt(`0x${toHex(point.subarray(1, 1 + P384_SCALAR_BYTES))}`);
  const y = BigInt(`0x${toHex(point.subarray(1 + P384_SCALAR_BYTES))}`);
  const onCurve = x < P384_P && y < P384_P && (y * y - (x * x * x - 3n * x + P384_B)) % P384_P === 0n;
  if (!onCurve) throw new Asn1Error('subjectPublicKey is not a point on P-384');
}

function readExtensions(wrapper: Asn1Node): Map<string, Uint8Array> {
  if (wrapper.children.length !== 1) throw new Asn1Error('extensions: expected one SEQUENCE');
  const list = readSequence(wrapper.children[0], 'extensions', 1);
  const out = new Map<string, Uint8Array>();
  for (const ext of list) {
    const fields = readSequence(ext, 'extension', 2, 3);
    const oid = readOid(fields[0], 'extension.extnID');
    let critical = false;
    if (fields.length === 3) {
      critical = readBoolean(fields[1], 'extension.critical');
      // DER: a DEFAULT value is never encoded.
      if (!critical) throw new Asn1Error(`extension ${oid}: explicit critical=FALSE is not DER`);
    }
    const value = readOctetString(fields[fields.length - 1], 'extension.extnValue');
    if (out.has(oid)) throw new Asn1Error(`extension ${oid} appears twice`);
    if (critical && !UNDERSTOOD_EXTENSIONS.has(oid)) {
      throw new CertificateError('ERR_CERTIFICATE_UNSUPPORTED', `unknown critical extension ${oid}`);
    }
    out.set(oid, value);
  }
  return out;
}

function readBasicConstraints(value: Uint8Array): BasicConstraints {
  const fields = readSequence(parseAsn1(value, { encoding: 'der' }), 'basicConstraints', 0, 2);
  let i = 0;
  let ca = false;
  if (fields[i]?.tagNumber === UniversalTag.Boolean) {
    ca = readBoolean(fields[i++], 'basicConstraints.cA');
    if (!ca) throw new Asn1Error('basicConstraints: explicit cA=FALSE is not DER');
  }
  if (i < fields.length) {
    if (!ca) throw new Asn1Error('basicConstraints: pathLenConstraint without cA');
    return { ca, pathLength: readSmallInteger(fields[i++], 'basicConstraints.pathLenConstraint') };
  }
  return { ca };
}

function formatName(name: Asn1Node): string {
  const parts: string[] = [];
  for (const rdn of name.children) {
    expectUniversal(rdn, UniversalTag.Set, 'RelativeDistinguishedName');
    for (const atv of rdn.children) {
      const [typeNode, valueNode] = readSequence(atv, 'AttributeTypeAndValue', 2, 2);
      const type = readOid(typeNode, 'AttributeType');
      const value = UTF8.decode((valueNode as Asn1Node).content);
      parts.push(`${NAME_ATTRIBUTES[type] ?? type}=${value}`);
    }
  }
  return parts.join(', ');
}
