/** `@nitro-datakey/shared/x509`: X.509 certificates as the attestation chain needs them: parsing, signatures, constraints. */
export {
  parseCertificate,
  isSignedBy,
  CertificateError,
  KeyUsage,
  OID,
  type Certificate,
  type BasicConstraints,
  type CertificateErrorCode,
} from '../x509/index.js';
