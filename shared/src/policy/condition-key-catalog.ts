import { isRecipientAttestationKey } from './condition-keys.js';

/*
 * The condition keys a KMS key policy may name (KMS Developer Guide "Condition keys for AWS KMS"; IAM User
 * Guide "AWS global condition context keys"). A policy naming any other key is refused, as KMS refuses it;
 * a key the local KMS cannot know (aws:SourceVpce, aws:PrincipalOrgID without the option) is simply absent
 * from the request, as it is on AWS for a request without it.
 */
const GLOBAL_KEYS = [
  'aws:calledvia',
  'aws:calledviafirst',
  'aws:calledvialast',
  'aws:currenttime',
  'aws:epochtime',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:principalisawsservice',
  'aws:principalorgid',
  'aws:principalorgpaths',
  'aws:principalservicename',
  'aws:principaltype',
  'aws:referer',
  'aws:requestedregion',
  'aws:securetransport',
  'aws:sourceaccount',
  'aws:sourcearn',
  'aws:sourceip',
  'aws:sourceorgid',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:tagkeys',
  'aws:useragent',
  'aws:userid',
  'aws:username',
  'aws:viaawsservice',
  'aws:vpcsourceip',
];
const KMS_KEYS = [
  'kms:bypasspolicylockoutsafetycheck',
  'kms:calleraccount',
  'kms:customermasterkeyspec',
  'kms:customermasterkeyusage',
  'kms:datakeypairspec',
  'kms:encryptionalgorithm',
  'kms:encryptioncontextkeys',
  'kms:expirationmodel',
  'kms:grantconstrainttype',
  'kms:grantisforawsresource',
  'kms:grantoperations',
  'kms:granteeprincipal',
  'kms:keyagreementalgorithm',
  'kms:keyorigin',
  'kms:keyspec',
  'kms:keyusage',
  'kms:macalgorithm',
  'kms:messagetype',
  'kms:multiregion',
  'kms:multiregionkeytype',
  'kms:primaryregion',
  'kms:reencryptonsamekey',
  'kms:replicaregion',
  'kms:requestalias',
  'kms:resourcealiases',
  'kms:retiringprincipal',
  'kms:rotationperiodindays',
  'kms:schedulekeydeletionpendingwindowindays',
  'kms:signingalgorithm',
  'kms:validto',
  'kms:viaservice',
  'kms:wrappingalgorithm',
  'kms:wrappingkeyspec',
];
/** Keys with a suffix of the caller's choosing: a tag key, a context key. */
const PREFIXED = ['aws:principaltag/', 'aws:resourcetag/', 'aws:requesttag/', 'kms:encryptioncontext:'];
/** The keys that carry several values in one request: only these take ForAnyValue / ForAllValues. */
const MULTIVALUED = new Set([
  'aws:calledvia',
  'aws:principalorgpaths',
  'aws:tagkeys',
  'kms:encryptioncontextkeys',
  'kms:grantoperations',
  'kms:resourcealiases',
]);
const KNOWN = new Set([...GLOBAL_KEYS, ...KMS_KEYS]);

/** Whether a key policy may name this condition key (any case). */
export function isKnownConditionKey(key: string): boolean {
  const lower = key.toLowerCase();
  return KNOWN.has(lower) || isRecipientAttestationKey(key) || PREFIXED.some((p) => lower.startsWith(p) && lower.length > p.length);
}

/** Whether a key carries several values (a set operator applies to it). */
export const isMultivaluedConditionKey = (key: string): boolean => MULTIVALUED.has(key.toLowerCase());
