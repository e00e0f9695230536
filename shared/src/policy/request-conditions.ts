import { RECIPIENT_ATTESTATION_IMAGE_SHA384, recipientAttestationPcrKey } from './condition-keys.js';
import { policyCaller } from './policy-evaluation.js';

/** What KMS knows about a request that a condition may test. */
export interface KmsRequestFacts {
  readonly principalArn: string;
  /** For an assumed-role session, its role's ARN (with its path): aws:PrincipalArn is the role's. */
  readonly roleArn?: string;
  /** The Recipient document's PCRs (verified by KMS), lower-case hex. */
  readonly pcrs?: ReadonlyMap<number, string>;
  readonly encryptionContext?: Readonly<Record<string, string>>;
}

/**
 * The condition keys KMS sets for a request, named lower-case as policies are matched (IAM compares keys
 * case-insensitively, the context key of kms:EncryptionContext:KEY included): the attested ones
 * (kms:RecipientAttestation:ImageSha384 = PCR0, :PCR<n>), the encryption context (kms:EncryptionContext:KEY,
 * kms:EncryptionContextKeys), and the caller (aws:PrincipalArn, kms:CallerAccount). One place, for the
 * local KMS and for `nitro-datakey policy explain`.
 */
export function kmsRequestConditions(facts: KmsRequestFacts): Map<string, string | readonly string[]> {
  return new Map([
    ...recipientConditions(facts.pcrs ?? new Map()),
    ...encryptionContextConditions(facts.encryptionContext ?? {}),
    ...callerConditions(facts.principalArn, facts.roleArn),
  ]);
}

/** kms:RecipientAttestation:PCR<n> and :ImageSha384 (= PCR0) from a verified document's PCRs. */
export function recipientConditions(pcrs: ReadonlyMap<number, string>): Map<string, string> {
  const conditions = new Map<string, string>();
  for (const [index, value] of pcrs) conditions.set(recipientAttestationPcrKey(index).toLowerCase(), value.toLowerCase());
  const pcr0 = pcrs.get(0);
  if (pcr0 !== undefined) conditions.set(RECIPIENT_ATTESTATION_IMAGE_SHA384.toLowerCase(), pcr0.toLowerCase());
  return conditions;
}

/** kms:EncryptionContext:KEY (the key lower-cased: AWS matches it case-insensitively) and kms:EncryptionContextKeys. */
export function encryptionContextConditions(context: Readonly<Record<string, string>>): Map<string, string | readonly string[]> {
  const conditions = new Map<string, string | readonly string[]>();
  for (const [key, value] of Object.entries(context)) conditions.set(`kms:encryptioncontext:${key.toLowerCase()}`, value);
  if (Object.keys(context).length > 0) conditions.set('kms:encryptioncontextkeys', Object.keys(context));
  return conditions;
}

/** aws:PrincipalArn (a session's role, when given), aws:PrincipalAccount, aws:PrincipalType and kms:CallerAccount. */
export function callerConditions(principalArn: string, roleArn?: string): Map<string, string> {
  const conditions = new Map<string, string>([['aws:principalarn', roleArn ?? principalArn]]);
  const { account } = policyCaller(principalArn);
  if (account) {
    conditions.set('kms:calleraccount', account);
    conditions.set('aws:principalaccount', account);
  }
  const type = /:root$/.test(principalArn)
    ? 'Account'
    : /:assumed-role\//.test(principalArn)
      ? 'AssumedRole'
      : /:user\//.test(principalArn)
        ? 'User'
        : undefined;
  if (type) conditions.set('aws:principaltype', type);
  conditions.set('aws:principalisawsservice', 'false'); // an IAM principal, never a service's own
  // aws:username is an IAM user's name (the last part of its ARN), for ${aws:username} in a policy.
  const user = /:user\/(?:[^/]+\/)*([^/]+)$/.exec(principalArn)?.[1];
  if (user) conditions.set('aws:username', user);
  return conditions;
}

/** What IAM knows about a principal beyond its ARN: its tags and its organization. */
export interface PrincipalAttributes {
  readonly tags?: Readonly<Record<string, string>>;
  /** aws:PrincipalOrgID, `o-` and 10 to 32 characters. */
  readonly organizationId?: string;
  /** aws:PrincipalOrgPaths, each `o-.../r-.../ou-.../` down to the principal's account. */
  readonly organizationPaths?: readonly string[];
}

/** aws:PrincipalTag/KEY (the tag key lower-cased: condition keys match case-insensitively), aws:PrincipalOrgID and aws:PrincipalOrgPaths. */
export function principalAttributeConditions(attributes: PrincipalAttributes): Map<string, string | readonly string[]> {
  const conditions = new Map<string, string | readonly string[]>();
  for (const [key, value] of Object.entries(attributes.tags ?? {})) conditions.set(`aws:principaltag/${key.toLowerCase()}`, value);
  if (attributes.organizationId !== undefined) conditions.set('aws:principalorgid', attributes.organizationId);
  if (attributes.organizationPaths !== undefined && attributes.organizationPaths.length > 0)
    conditions.set('aws:principalorgpaths', attributes.organizationPaths);
  return conditions;
}

/** aws:ResourceTag/KEY from the key's tags; for a request that sets tags, aws:RequestTag/KEY and aws:TagKeys. */
export function tagConditions(
  resourceTags: Readonly<Record<string, string>>,
  requestTags?: Readonly<Record<string, string>>,
): Map<string, string | readonly string[]> {
  const conditions = new Map<string, string | readonly string[]>();
  for (const [key, value] of Object.entries(resourceTags)) conditions.set(`aws:resourcetag/${key.toLowerCase()}`, value);
  for (const [key, value] of Object.entries(requestTags ?? {})) conditions.set(`aws:requesttag/${key.toLowerCase()}`, value);
  if (requestTags !== undefined) conditions.set('aws:tagkeys', Object.keys(requestTags));
  return conditions;
}

/** The request itself: aws:CurrentTime, aws:EpochTime, aws:RequestedRegion, and from the connection aws:SourceIp and aws:SecureTransport. */
export function requestConditions(facts: {
  readonly now: Date;
  readonly region: string;
  readonly sourceIp?: string;
  readonly secureTransport?: boolean;
}): Map<string, string> {
  const conditions = new Map<string, string>([
    ['aws:currenttime', facts.now.toISOString()],
    ['aws:epochtime', String(Math.floor(facts.now.getTime() / 1000))],
    ['aws:requestedregion', facts.region],
  ]);
  if (facts.sourceIp) conditions.set('aws:sourceip', facts.sourceIp);
  if (facts.secureTransport !== undefined) conditions.set('aws:securetransport', String(facts.secureTransport));
  return conditions;
}
