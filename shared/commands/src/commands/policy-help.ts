import { ATTESTED_OPERATIONS } from '@nitro-datakey/shared/policy';

/** The policy command's help, apart from its code: `--help` loads neither the generator nor the evaluator. */
export const POLICY_HELP = `Usage: nitro-datakey policy --measurements FILE [--measurements FILE] --account ID --role-arn ARN [options]

Prints a KMS key policy that releases the key to enclave images: the admin (default the account)
keeps management rights but no cryptographic operation; the enclave's role may call Decrypt,
GenerateDataKey, GenerateDataKeyPair and DeriveSharedSecret only with a Recipient whose PCRs match
one image (ImageSha384 = PCR0, and PCR1, PCR2, PCR8 when present) and may never manage the key or
create grants (the parent holds its credentials); an optional sealer may make ciphertext without
attestation but never decrypt; and a Deny refuses every other cryptographic call without an
attestation document.

Options:
  --measurements FILE     the JSON "nitro-cli build-enclave" prints (PCR0, PCR1, PCR2, and PCR8 if signed).
                          Repeat it during an upgrade (old image and new): each image gets its own
                          statement, so one image's PCRs never combine with another's
  --account ID            the 12-digit AWS account that owns the key
  --role-arn ARN          the parent instance's IAM role (the enclave calls KMS with its credentials);
                          it is explicitly denied every management action and grants
  --admin-arn ARN         who manages the key (default: the account root, i.e. IAM decides)
  --sealer-arn ARN        the operator who seals secrets ("nitro-datakey seal"): may call GenerateDataKey
                          and Encrypt without attestation, and is denied Decrypt, ReEncrypt, key pairs,
                          shared secrets, grants and key management
  --pcr N=HEX             require PCR N too, or override it, in every image (repeatable), e.g. PCR3 for
                          the role, PCR4 for the instance, PCR8 for the signing certificate
  --operations LIST       comma-separated subset of ${ATTESTED_OPERATIONS.join(',')}
  --iam-policy            print the IAM policy for the role instead (GenerateRandom, attested)
  --json                  print {"keyPolicy": ..., "iamPolicy": ...}
  --summary               instead of the JSON, say who may do what, under which measurements, and what
                          is denied, for a reviewer (with --iam-policy: of the IAM policy)
  -h, --help              show this help

Subcommands:
  nitro-datakey policy explain ...   why a call is allowed or denied by a key policy (see "policy explain --help")
  nitro-datakey policy lint FILE     the ways a key policy fails to enforce attestation (see "policy lint --help")

Exit status: 0 ok, 2 usage error or unreadable input.
`;
