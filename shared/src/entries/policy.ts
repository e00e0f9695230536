/** `@nitro-datakey/shared/policy`: Key policies for enclaves: the generator, the condition-key names, and IAM wildcard matching. */
export * from '../policy/key-policy.js';
export * from '../policy/wildcard.js';
export * from '../policy/condition-keys.js';
