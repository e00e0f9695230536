export {
  parseCertificate,
  issuerNameMatches,
  ecdsaSignatureToP1363,
  CertificateError,
  KeyUsage,
  OID,
  type Certificate,
  type BasicConstraints,
  type CertificateErrorCode,
} from './certificate.js';
