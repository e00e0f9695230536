/** `@nitro-datakey/shared/policy`: Key policies for enclaves: the generator, the condition-key names, and IAM wildcard matching. */
export {
  enclaveKeyPolicy,
  enclaveIamPolicy,
  measurementsFromJson,
  ATTESTED_OPERATIONS,
  MANAGEMENT_ACTIONS,
  type EnclavePolicyInput,
  type PolicyDocument,
  type AttestedOperation,
} from '../policy/key-policy.js';
export { matchesWildcard } from '../policy/wildcard.js';
export { RECIPIENT_ATTESTATION_IMAGE_SHA384, recipientAttestationPcrKey, isRecipientAttestationKey } from '../policy/condition-keys.js';
