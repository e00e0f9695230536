export {
  parseCertificate,
  isSignedBy,
  CertificateError,
  KeyUsage,
  OID,
  type Certificate,
  type BasicConstraints,
  type CertificateErrorCode,
} from './certificate.js';
