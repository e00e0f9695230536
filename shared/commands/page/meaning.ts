/** What each PCR of a Nitro Enclave measures (AWS's documentation). */
export const PCR_NAMES: Readonly<Record<number, string>> = {
  0: 'enclave image file',
  1: 'Linux kernel and bootstrap',
  2: 'application',
  3: 'IAM role of the parent instance',
  4: 'instance ID of the parent instance',
  8: 'enclave image signing certificate',
};

/** The rule behind each refusal, in a sentence a reader can act on. */
export const RULES: Readonly<Record<string, string>> = {
  ERR_ATTESTATION_MALFORMED:
    'The bytes are not a COSE_Sign1 attestation document, or a payload field breaks its rules (AWS, "Attestation document specification").',
  ERR_ATTESTATION_ALGORITHM: 'Nitro documents are signed with ES384 (COSE algorithm -35); any other algorithm is refused.',
  ERR_ATTESTATION_SIGNATURE: "The COSE signature does not verify with the leaf certificate's key: the payload was changed after signing.",
  ERR_ATTESTATION_CERTIFICATE: 'A certificate cannot be read, or uses a key, algorithm or critical extension other than those of the AWS Nitro PKI.',
  ERR_ATTESTATION_CHAIN: 'The certificates do not link leaf to cabundle to the trusted root.',
  ERR_ATTESTATION_CERT_EXPIRED:
    'A certificate had expired at the verification time. Leaf certificates live 3 hours: verify a stored document as of its own time.',
  ERR_ATTESTATION_CERT_NOT_YET_VALID: 'A certificate was not yet valid at the verification time.',
  ERR_ATTESTATION_CERT_CONSTRAINTS: "A certificate's basicConstraints, path length or key usage forbid its place in the chain.",
  ERR_ATTESTATION_PCR_MISMATCH: 'A PCR differs from the expected value.',
  ERR_ATTESTATION_NONCE_MISMATCH: 'The nonce differs from the expected one.',
  ERR_ATTESTATION_USER_DATA_MISMATCH: 'The user data differs from the expected value.',
  ERR_ATTESTATION_PUBLIC_KEY_MISMATCH: 'The public key differs from the expected one, or is missing.',
  ERR_ATTESTATION_STALE: 'The document is older than allowed.',
  ERR_ATTESTATION_FUTURE: "The document's timestamp is ahead of the verification time.",
  ERR_ATTESTATION_DEBUG_MODE: 'The enclave runs in debug mode (PCR0-2 are zero): its measurements prove nothing.',
  ERR_INVALID_ARGUMENT: 'An option is not usable as given.',
};
