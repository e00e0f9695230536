import { InvalidArgumentError } from '../errors.js';
import { RECIPIENT_ATTESTATION_IMAGE_SHA384, recipientAttestationPcrKey } from './condition-keys.js';

/** Cryptographic operations an enclave may be granted; all take a Recipient. */
export const ATTESTED_OPERATIONS = ['Decrypt', 'GenerateDataKey', 'GenerateDataKeyPair', 'DeriveSharedSecret'] as const;
export type AttestedOperation = (typeof ATTESTED_OPERATIONS)[number];

/**
 * What the account keeps: managing the key, never using it. Listed one by one on purpose: a wildcard
 * such as kms:Create* would include CreateGrant, and a grant can hand out cryptographic rights.
 */
export const MANAGEMENT_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:ListAliases',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:UpdateKeyDescription',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:GetKeyRotationStatus',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
] as const;

export interface EnclavePolicyInput {
  readonly account: string;
  readonly roleArn: string;
  /**
   * Who manages the key. Default: the account root, which in IAM means any principal of the account
   * whose IAM policies allow it. The enclave's role is denied management either way.
   */
  readonly adminArn?: string;
  /**
   * PCR index -> lower-case hex (PCR0 required). PCR0 becomes kms:RecipientAttestation:ImageSha384.
   * Several maps admit several images, each with its own statement (during an upgrade: the old image
   * and the new one), so PCRs of one image never combine with another's.
   */
  readonly pcrs: ReadonlyMap<number, string> | readonly ReadonlyMap<number, string>[];
  readonly operations?: readonly AttestedOperation[];
  /**
   * The operator who seals secrets for the enclave (a role or user ARN): may call GenerateDataKey and
   * Encrypt without an attestation document, and is denied every way to decrypt, share or manage the key.
   */
  readonly sealerArn?: string;
}

/** What a sealer may do without attestation: make ciphertext, never read it. */
const SEALER_ACTIONS = ['kms:GenerateDataKey', 'kms:Encrypt'] as const;

/**
 * Everything that would let a sealer read what the enclave reads: decrypt, re-encrypt to a key it
 * controls, key pairs and shared secrets, grants, and the management actions (a policy rewrite).
 */
const SEALER_DENIED_ACTIONS = [
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:DeriveSharedSecret',
  'kms:CreateGrant',
  'kms:RetireGrant',
  'kms:RevokeGrant',
  ...MANAGEMENT_ACTIONS.filter((a) => a !== 'kms:DescribeKey'),
];

interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal?: { AWS: string };
  Action: string | string[];
  Resource: string;
  Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}

/**
 * A key policy that releases the key's cryptographic operations to one role, only with a Recipient
 * whose PCRs match the enclave image, and denies every such call without an attestation document.
 */
export function enclaveKeyPolicy(input: EnclavePolicyInput): PolicyDocument {
  const { account, roleArn } = check(input);
  const images = imagesOf(input);
  const operations = (input.operations ?? ATTESTED_OPERATIONS).map((op) => `kms:${op}`);
  const sealer = input.sealerArn;
  const noAttestation: Record<string, Record<string, string>> = { Null: { [RECIPIENT_ATTESTATION_IMAGE_SHA384]: 'true' } };
  // The sealer's own calls without attestation are let through this Deny; SealerNeverDecrypts keeps it to ciphertext.
  if (sealer) noAttestation['StringNotEquals'] = { 'aws:PrincipalArn': sealer };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AdminManagesButDoesNotUseTheKey',
        Effect: 'Allow',
        Principal: { AWS: input.adminArn ?? `arn:aws:iam::${account}:root` },
        Action: [...MANAGEMENT_ACTIONS],
        Resource: '*',
      },
      // The parent instance holds the role's credentials: were the role to inherit management through
      // the account (IAM), the parent could rewrite this policy or re-point an alias, then decrypt
      // without attestation. An explicit Deny wins over any Allow, in this policy or in IAM.
      {
        Sid: 'EnclaveRoleNeverManagesTheKey',
        Effect: 'Deny',
        Principal: { AWS: roleArn },
        Action: [...MANAGEMENT_ACTIONS, 'kms:CreateGrant', 'kms:RetireGrant', 'kms:RevokeGrant', 'kms:ReplicateKey', 'kms:UpdatePrimaryRegion'],
        Resource: '*',
      },
      ...images.map(
        (pcrs, i): Statement => ({
          Sid: `EnclaveUsesTheKeyWithMatchingAttestation${i === 0 ? '' : i + 1}`,
          Effect: 'Allow',
          Principal: { AWS: roleArn },
          Action: operations,
          Resource: '*',
          Condition: { StringEqualsIgnoreCase: attestationConditions(pcrs) },
        }),
      ),
      ...(sealer
        ? [
            {
              Sid: 'SealerEncryptsWithoutAttestation',
              Effect: 'Allow',
              Principal: { AWS: sealer },
              Action: [...SEALER_ACTIONS],
              Resource: '*',
            } satisfies Statement,
            {
              Sid: 'SealerNeverDecrypts',
              Effect: 'Deny',
              Principal: { AWS: sealer },
              Action: [...SEALER_DENIED_ACTIONS],
              Resource: '*',
            } satisfies Statement,
          ]
        : []),
      // Without a Recipient there is no attestation key in the request: refuse, whoever asks (but the sealer).
      {
        Sid: 'NoCryptographicCallWithoutAttestation',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: operations,
        Resource: '*',
        Condition: noAttestation,
      },
    ],
  };
}

/** GenerateRandom has no key, so no key policy: the role gets it through IAM, with the same PCR conditions. */
export function enclaveIamPolicy(input: EnclavePolicyInput): PolicyDocument {
  check(input);
  return {
    Version: '2012-10-17',
    Statement: imagesOf(input).map((pcrs, i) => ({
      Sid: `AttestedGenerateRandom${i === 0 ? '' : i + 1}`,
      Effect: 'Allow',
      Action: 'kms:GenerateRandom',
      Resource: '*',
      Condition: { StringEqualsIgnoreCase: attestationConditions(pcrs) },
    })),
  };
}

function imagesOf(input: EnclavePolicyInput): readonly ReadonlyMap<number, string>[] {
  return input.pcrs instanceof Map ? [input.pcrs] : (input.pcrs as readonly ReadonlyMap<number, string>[]);
}

function attestationConditions(pcrs: ReadonlyMap<number, string>): Record<string, string> {
  const out: Record<string, string> = { [RECIPIENT_ATTESTATION_IMAGE_SHA384]: pcrs.get(0) as string };
  for (const [index, value] of [...pcrs].sort(([a], [b]) => a - b)) if (index !== 0) out[recipientAttestationPcrKey(index)] = value;
  return out;
}

function check(input: EnclavePolicyInput): EnclavePolicyInput {
  if (!/^\d{12}$/.test(input.account)) throw new InvalidArgumentError('account must be a 12-digit AWS account id');
  checkPrincipals(input);
  checkImages(imagesOf(input));
  for (const op of input.operations ?? [])
    if (!(ATTESTED_OPERATIONS as readonly string[]).includes(op))
      throw new InvalidArgumentError(`operation ${op} is not one of ${ATTESTED_OPERATIONS.join(', ')}`);
  return input;
}

/** The admin, the enclave role and the sealer: each well formed, and no two the same (each role would gain the other's rights). */
function checkPrincipals(input: EnclavePolicyInput): void {
  if (input.adminArn !== undefined && !/^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/.test(input.adminArn)) {
    throw new InvalidArgumentError(`admin ARN ${JSON.stringify(input.adminArn)} is not arn:aws:iam::ACCOUNT:root, :role/NAME or :user/NAME`);
  }
  if (input.adminArn !== undefined && input.adminArn === input.roleArn)
    throw new InvalidArgumentError('the admin must not be the enclave role: the parent holds its credentials');
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(input.roleArn))
    throw new InvalidArgumentError(`role ARN ${JSON.stringify(input.roleArn)} is not arn:aws:iam::ACCOUNT:role/NAME`);
  if (input.sealerArn === undefined) return;
  if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/.test(input.sealerArn))
    throw new InvalidArgumentError(`sealer ARN ${JSON.stringify(input.sealerArn)} is not arn:aws:iam::ACCOUNT:role/NAME or :user/NAME`);
  if (input.sealerArn === input.roleArn) throw new InvalidArgumentError('the sealer must not be the enclave role: the parent holds its credentials');
  if (input.sealerArn === input.adminArn)
    throw new InvalidArgumentError('the sealer must not be the admin: whoever manages the key can rewrite its policy and decrypt');
}

/** One to eight images, each with PCR0, real (no debug zeros) SHA-384 values, and none given twice. */
function checkImages(images: readonly ReadonlyMap<number, string>[]): void {
  if (images.length === 0) throw new InvalidArgumentError('at least one image (a set of PCRs) is required');
  if (images.length > 8) throw new InvalidArgumentError('at most 8 images: a rollout needs the old and the new one');
  const seen = new Set<string>();
  for (const pcrs of images) {
    if (!pcrs.has(0)) throw new InvalidArgumentError('PCR0 (the enclave image measurement) is required');
    for (const [i, v] of pcrs) {
      if (!Number.isInteger(i) || i < 0 || i > 31) throw new InvalidArgumentError(`PCR index ${i} is outside 0..31`);
      if (!/^[0-9a-f]{96}$/.test(v)) throw new InvalidArgumentError(`PCR${i} must be 96 lower-case hex digits (SHA-384)`);
      if (/^0+$/.test(v) && i <= 2) throw new InvalidArgumentError(`PCR${i} is all zeros: that is a debug-mode enclave, whose measurements mean nothing`);
    }
    const id = JSON.stringify([...pcrs].sort(([a], [b]) => a - b));
    if (seen.has(id)) throw new InvalidArgumentError('the same image is given twice');
    seen.add(id);
  }
}

/** PCRs from `nitro-cli build-enclave` output (`{"Measurements": {"PCR0": ...}}`) or a flat `{"PCR0": ...}`. */
export function measurementsFromJson(json: unknown): Map<number, string> {
  const root = json !== null && typeof json === 'object' && 'Measurements' in json ? (json as { Measurements: unknown }).Measurements : json;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) throw new InvalidArgumentError('measurements must be an object of PCRn values');
  const pcrs = new Map<number, string>();
  for (const [key, value] of Object.entries(root)) {
    if (key === 'HashAlgorithm') continue;
    const m = /^PCR(\d{1,2})$/.exec(key);
    if (!m || typeof value !== 'string') throw new InvalidArgumentError(`unexpected measurements entry ${JSON.stringify(key)}`);
    pcrs.set(Number(m[1]), value.toLowerCase());
  }
  return pcrs;
}
