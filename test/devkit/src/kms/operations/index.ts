import { ALIAS_OPERATIONS } from './aliases.js';
import type { Operation } from './context.js';
import { DATA_KEY_OPERATIONS } from './data-keys.js';
import { ENCRYPTION_OPERATIONS } from './encryption.js';
import { GRANT_OPERATIONS_SERVED } from './grants.js';
import { KEY_AGREEMENT_OPERATIONS } from './key-agreement.js';
import { KEY_LIFECYCLE_OPERATIONS } from './key-lifecycle.js';
import { ROTATION_OPERATIONS } from './rotation.js';
import { SIGNING_OPERATIONS } from './signing.js';
import { MAC_OPERATIONS } from './mac.js';
import { TAG_AND_POLICY_OPERATIONS } from './tags-and-policies.js';

export type { AuditFacts, Operation, OperationContext } from './context.js';
export { PLAINTEXT_FIELD } from './recipient-answer.js';

/**
 * Every operation the local KMS serves, by its X-Amz-Target name. Each family is a file of one job over
 * the shared request context (context.ts): key resolution and checks (keys.ts), authorization
 * (authorization.ts), the key material (key-material.ts), and the one place a secret meets the wire,
 * with or without a Recipient (recipient-answer.ts).
 */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  ...KEY_LIFECYCLE_OPERATIONS,
  ...ROTATION_OPERATIONS,
  ...ALIAS_OPERATIONS,
  ...TAG_AND_POLICY_OPERATIONS,
  ...ENCRYPTION_OPERATIONS,
  ...DATA_KEY_OPERATIONS,
  ...KEY_AGREEMENT_OPERATIONS,
  ...GRANT_OPERATIONS_SERVED,
  ...SIGNING_OPERATIONS,
  ...MAC_OPERATIONS,
};
