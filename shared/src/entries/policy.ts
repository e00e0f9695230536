/**
 * `@nitro-datakey/shared/policy`: key policies: the enclave policy generator, the condition-key names, IAM
 * wildcard matching, policy documents, and KMS authorization as AWS decides it.
 */
export * from '../policy/key-policy.js';
export * from '../policy/wildcard.js';
export * from '../policy/condition-keys.js';
export * from '../policy/policy-document.js';
export * from '../policy/policy-evaluation.js';
export * from '../policy/kms-authorization.js';
export * from '../policy/request-conditions.js';
export * from '../policy/policy-lint.js';
export * from '../policy/policy-summary.js';
