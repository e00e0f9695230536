import {
  Asn1Error,
  berIndefinite,
  DER_NULL,
  derOid,
  derSmallInteger,
  derTlv,
  expectUniversal,
  isContext,
  parseAsn1,
  readOctetString,
  readOid,
  readSequence,
  readSmallInteger,
  UniversalTag,
  TagByte,
  TagClass,
  type Asn1Node,
} from '../asn1/index.js';
import { CmsError } from './errors.js';
import { CMS_OID } from './oids.js';

/*
 * CiphertextForRecipient is read with our own strict BER reader rather than pkijs: it accepts exactly
 * KMS's layout and nothing looser, it is a few hundred lines we can audit instead of a general CMS
 * library, and it parses a message in microseconds. pkijs stays in the tests, as an independent reader
 * that must agree with what we build.
 */

export type RecipientIdentifier =
  | { readonly type: 'subjectKeyIdentifier'; readonly keyIdentifier: Uint8Array }
  | { readonly type: 'issuerAndSerialNumber'; readonly issuer: Uint8Array; readonly serialNumber: Uint8Array };

/** The parts of a KMS-style EnvelopedData, before any decryption. */
export interface EnvelopedDataParts {
  /** EnvelopedData version: 2 with a subjectKeyIdentifier recipient, 0 with issuer-and-serial. */
  readonly version: number;
  readonly recipient: {
    readonly version: number;
    readonly rid: RecipientIdentifier;
    /** The content-encryption key, RSAES-OAEP(SHA-256, MGF1-SHA-256) encrypted. */
    readonly encryptedKey: Uint8Array;
  };
  /** AES-256-CBC initialisation vector (16 bytes). */
  readonly iv: Uint8Array;
  /** AES-256-CBC ciphertext with PKCS#7 padding. */
  readonly encryptedContent: Uint8Array;
}

export interface ParseOptions {
  /** Accept an issuer-and-serial-number recipient (what `openssl cms -encrypt` makes by default). KMS never sends one. */
  readonly allowIssuerAndSerialNumber?: boolean;
  /** Largest input accepted. Default 64 KiB (KMS plaintexts are at most 4 KiB). */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 64 * 1024;

/** Parses CiphertextForRecipient strictly into its parts. Throws `CmsError`. */
export function parseCiphertextForRecipient(bytes: Uint8Array, options: ParseOptions = {}): EnvelopedDataParts {
  if (!(bytes instanceof Uint8Array)) throw malformed('input must be a Uint8Array');
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes.byteLength > maxBytes) throw malformed(`input of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes}`);
  try {
    return parseContentInfo(parseAsn1(bytes, { encoding: 'ber', maxDepth: 16 }), options);
  } catch (cause) {
    if (cause instanceof CmsError) throw cause;
    throw malformed(cause instanceof Error ? cause.message : 'undecodable', cause);
  }
}

function parseContentInfo(root: Asn1Node, options: ParseOptions): EnvelopedDataParts {
  const [typeNode, contentNode] = readSequence(root, 'ContentInfo', 2, 2);
  const contentType = readOid(typeNode, 'ContentInfo.contentType');
  if (contentType !== CMS_OID.envelopedData) unsupported(`content type ${contentType} is not envelopedData`);
  if (!isContext(contentNode, 0) || !contentNode.constructed || contentNode.children.length !== 1) {
    throw malformed('ContentInfo.content must be [0] EXPLICIT with one element');
  }
  const fields = readSequence(contentNode.children[0], 'EnvelopedData', 3, 5);
  let i = 0;
  const version = readSmallInteger(fields[i++], 'EnvelopedData.version');
  if (isContext(fields[i], 0)) unsupported('originatorInfo is not used by KMS');
  const recipientInfos = expectUniversal(fields[i++], UniversalTag.Set, 'EnvelopedData.recipientInfos');
  if (recipientInfos.children.length !== 1) unsupported(`expected exactly one recipient, found ${recipientInfos.children.length}`);
  const recipient = parseKeyTransRecipientInfo(recipientInfos.children[0] as Asn1Node, options);
  const content = parseEncryptedContentInfo(fields[i++]);
  if (isContext(fields[i], 1)) unsupported('unprotectedAttrs are not used by KMS');
  if (i !== fields.length) throw malformed('unexpected elements at the end of EnvelopedData');
  // RFC 5652 6.1: version 2 when a recipient is identified by subjectKeyIdentifier (v2 KTRI), else 0.
  const expectedVersion = recipient.rid.type === 'subjectKeyIdentifier' ? 2 : 0;
  if (version !== expectedVersion) unsupported(`EnvelopedData version ${version} does not match its recipient (expected ${expectedVersion})`);
  return { version, recipient, ...content };
}

function parseKeyTransRecipientInfo(node: Asn1Node, options: ParseOptions): EnvelopedDataParts['recipient'] {
  if (node.tagClass !== TagClass.Universal || node.tagNumber !== UniversalTag.Sequence) {
    unsupported('only key transport recipients (KeyTransRecipientInfo) are supported');
  }
  const [versionNode, ridNode, algNode, keyNode] = readSequence(node, 'KeyTransRecipientInfo', 4, 4);
  const version = readSmallInteger(versionNode, 'KeyTransRecipientInfo.version');
  let rid: RecipientIdentifier;
  if (isContext(ridNode, 0) && !ridNode.constructed) {
    if (version !== 2) unsupported(`KeyTransRecipientInfo version ${version} with a subjectKeyIdentifier (expected 2)`);
    if (ridNode.content.byteLength < 1 || ridNode.content.byteLength > 64) throw malformed('subjectKeyIdentifier must be 1 to 64 bytes');
    rid = { type: 'subjectKeyIdentifier', keyIdentifier: ridNode.content };
  } else if (ridNode?.tagClass === TagClass.Universal && ridNode.tagNumber === UniversalTag.Sequence) {
    if (!options.allowIssuerAndSerialNumber) {
      unsupported('the recipient is identified by issuer and serial number; KMS uses a subjectKeyIdentifier (pass allowIssuerAndSerialNumber to accept it)');
    }
    if (version !== 0) unsupported(`KeyTransRecipientInfo version ${version} with issuerAndSerialNumber (expected 0)`);
    const [issuer, serial] = readSequence(ridNode, 'IssuerAndSerialNumber', 2, 2);
    rid = {
      type: 'issuerAndSerialNumber',
      issuer: expectUniversal(issuer, UniversalTag.Sequence, 'issuer').raw,
      serialNumber: expectUniversal(serial, UniversalTag.Integer, 'serialNumber').content,
    };
  } else {
    throw malformed('unknown RecipientIdentifier');
  }
  checkOaepSha256(algNode);
  const encryptedKey = readOctetString(keyNode, 'encryptedKey');
  if (encryptedKey.byteLength < 1 || encryptedKey.byteLength > 1024) throw malformed('encryptedKey must be 1 to 1024 bytes');
  return { version, rid, encryptedKey };
}

/** rsaesOaep with hashAlgorithm SHA-256, MGF1 with SHA-256 and (if present) an empty pSpecified label. */
function checkOaepSha256(node: Asn1Node | undefined): void {
  const fields = readSequence(node, 'keyEncryptionAlgorithm', 1, 2);
  const oid = readOid(fields[0], 'keyEncryptionAlgorithm');
  if (oid !== CMS_OID.rsaesOaep) unsupported(`key encryption algorithm ${oid} is not RSAES-OAEP`);
  // Absent parameters mean SHA-1 and MGF1-SHA-1 (RFC 4055), which KMS never uses.
  if (fields.length !== 2) unsupported('RSAES-OAEP without parameters means SHA-1; only SHA-256 is accepted');
  const params = readSequence(fields[1], 'RSAES-OAEP-params', 0, 3);
  let i = 0;
  if (!isContext(params[i], 0)) unsupported('RSAES-OAEP hashAlgorithm is absent (SHA-1); only SHA-256 is accepted');
  checkSha256(explicitChild(params[i++] as Asn1Node, 'hashAlgorithm'), 'OAEP hashAlgorithm');
  if (!isContext(params[i], 1)) unsupported('RSAES-OAEP maskGenAlgorithm is absent (MGF1-SHA-1); only MGF1-SHA-256 is accepted');
  const mgf = readSequence(explicitChild(params[i++] as Asn1Node, 'maskGenAlgorithm'), 'maskGenAlgorithm', 2, 2);
  const mgfOid = readOid(mgf[0], 'maskGenAlgorithm');
  if (mgfOid !== CMS_OID.mgf1) unsupported(`mask generation function ${mgfOid} is not MGF1`);
  checkSha256(mgf[1], 'MGF1 hash');
  if (isContext(params[i], 2)) {
    const source = readSequence(explicitChild(params[i++] as Asn1Node, 'pSourceAlgorithm'), 'pSourceAlgorithm', 2, 2);
    if (readOid(source[0], 'pSourceAlgorithm') !== CMS_OID.pSpecified || readOctetString(source[1], 'pSpecified').byteLength !== 0) {
      unsupported('only an empty OAEP label is supported');
    }
  }
  if (i !== params.length) throw malformed('unexpected elements in RSAES-OAEP-params');
}

/** SHA-256 AlgorithmIdentifier with NULL or absent parameters (RFC 4055 asks readers to accept both). */
function checkSha256(node: Asn1Node | undefined, label: string): void {
  const fields = readSequence(node, label, 1, 2);
  const oid = readOid(fields[0], label);
  if (oid !== CMS_OID.sha256) unsupported(`${label} ${oid} is not SHA-256`);
  if (fields.length === 2) {
    const p = fields[1] as Asn1Node;
    if (p.tagClass !== TagClass.Universal || p.tagNumber !== UniversalTag.Null || p.content.byteLength !== 0)
      throw malformed(`${label} parameters must be NULL or absent`);
  }
}

function parseEncryptedContentInfo(node: Asn1Node | undefined): Pick<EnvelopedDataParts, 'iv' | 'encryptedContent'> {
  const fields = readSequence(node, 'EncryptedContentInfo', 2, 3);
  const contentType = readOid(fields[0], 'EncryptedContentInfo.contentType');
  if (contentType !== CMS_OID.data) unsupported(`encrypted content type ${contentType} is not id-data`);
  const alg = readSequence(fields[1], 'contentEncryptionAlgorithm', 1, 2);
  const algOid = readOid(alg[0], 'contentEncryptionAlgorithm');
  if (algOid !== CMS_OID.aes256Cbc) unsupported(`content encryption algorithm ${algOid} is not AES-256-CBC`);
  const iv = readOctetString(alg[1], 'AES-256-CBC IV');
  if (iv.byteLength !== 16) throw malformed(`the AES-CBC IV is ${iv.byteLength} bytes, not 16`);
  const contentNode = fields[2];
  if (!isContext(contentNode, 0)) unsupported('encryptedContent is absent (detached content is not supported)');
  let encryptedContent: Uint8Array;
  if (!contentNode.constructed) {
    encryptedContent = contentNode.content;
  } else {
    // [0] IMPLICIT OCTET STRING in its constructed BER form: a run of primitive OCTET STRING chunks.
    const chunks = contentNode.children.map((chunk) => {
      if (chunk.tagClass !== TagClass.Universal || chunk.tagNumber !== UniversalTag.OctetString || chunk.constructed) {
        throw malformed('encryptedContent chunks must be primitive OCTET STRINGs');
      }
      return chunk.content;
    });
    encryptedContent = new Uint8Array(Buffer.concat(chunks));
  }
  if (encryptedContent.byteLength === 0 || encryptedContent.byteLength % 16 !== 0) {
    throw malformed(`encryptedContent is ${encryptedContent.byteLength} bytes, not a positive multiple of the AES block size`);
  }
  return { iv, encryptedContent };
}

function explicitChild(node: Asn1Node, label: string): Asn1Node {
  if (!node.constructed || node.children.length !== 1) throw new Asn1Error(`${label}: [n] EXPLICIT must hold exactly one element`);
  return node.children[0] as Asn1Node;
}

const SHA256_ALGORITHM = derTlv(TagByte.Sequence, derOid(CMS_OID.sha256), DER_NULL);
/** RSAES-OAEP with explicit SHA-256 and MGF1-SHA-256, NULL parameters and no label: byte for byte what KMS sends. */
const OAEP_SHA256_ALGORITHM = derTlv(
  TagByte.Sequence,
  derOid(CMS_OID.rsaesOaep),
  derTlv(
    TagByte.Sequence,
    derTlv(TagByte.context(0, true), SHA256_ALGORITHM),
    derTlv(TagByte.context(1, true), derTlv(TagByte.Sequence, derOid(CMS_OID.mgf1), SHA256_ALGORITHM)),
  ),
);

export interface EncodeOptions {
  /** encryptedContent as constructed [0] with an OCTET STRING chunk (KMS's usual form) or as a primitive [0]. */
  readonly chunkedContent?: boolean;
}

/** Encodes EnvelopedData parts in KMS's BER layout: indefinite lengths outside, definite inside the recipient. */
export function encodeCiphertextForRecipient(parts: EnvelopedDataParts, options: EncodeOptions = {}): Uint8Array {
  const { rid } = parts.recipient;
  const ridBytes =
    rid.type === 'subjectKeyIdentifier'
      ? derTlv(TagByte.context(0, false), rid.keyIdentifier)
      : derTlv(TagByte.Sequence, rid.issuer, derTlv(TagByte.Integer, rid.serialNumber));
  const recipientInfo = derTlv(
    TagByte.Sequence,
    derSmallInteger(parts.recipient.version),
    ridBytes,
    OAEP_SHA256_ALGORITHM,
    derTlv(TagByte.OctetString, parts.recipient.encryptedKey),
  );
  // Every KMS sample carries the ciphertext as one chunk, whatever its length.
  const content =
    options.chunkedContent === false
      ? derTlv(TagByte.context(0, false), parts.encryptedContent)
      : berIndefinite(TagByte.context(0, true), derTlv(TagByte.OctetString, parts.encryptedContent));
  const encryptedContentInfo = berIndefinite(
    TagByte.Sequence,
    derOid(CMS_OID.data),
    derTlv(TagByte.Sequence, derOid(CMS_OID.aes256Cbc), derTlv(TagByte.OctetString, parts.iv)),
    content,
  );
  const envelopedData = berIndefinite(TagByte.Sequence, derSmallInteger(parts.version), derTlv(TagByte.Set, recipientInfo), encryptedContentInfo);
  return berIndefinite(TagByte.Sequence, derOid(CMS_OID.envelopedData), berIndefinite(TagByte.context(0, true), envelopedData));
}

function malformed(message: string, cause?: unknown): CmsError {
  return new CmsError('ERR_CMS_MALFORMED', `malformed CiphertextForRecipient: ${message}`, cause === undefined ? undefined : { cause });
}

function unsupported(message: string): never {
  throw new CmsError('ERR_CMS_UNSUPPORTED', `unsupported CiphertextForRecipient: ${message}`);
}
