import { type PolicyCaller, principalMatch } from '@nitro-datakey/shared/policy';
import type { StoredGrant, StoredKey } from '../keystore.js';

/**
 * Whether a grant on `key` lets the caller do `action` with this encryption context: the grantee is the
 * caller (or its role), the operation is granted, and the constraint, if any, holds (EncryptionContextEquals:
 * exactly that context; EncryptionContextSubset: at least those pairs). Grants only allow: the caller of
 * this never consults them over an explicit Deny.
 */
export function grantAllowing(
  key: StoredKey,
  caller: PolicyCaller,
  action: string,
  context: Readonly<Record<string, string>> | undefined,
): StoredGrant | undefined {
  return key.grants?.find((g) => {
    if (!g.operations.includes(action) || principalMatch(g.granteePrincipal, caller) !== 'direct') return false;
    const equals = g.constraints?.EncryptionContextEquals;
    const subset = g.constraints?.EncryptionContextSubset;
    const given = context ?? {};
    if (equals && (Object.keys(equals).length !== Object.keys(given).length || Object.entries(equals).some(([k, v]) => given[k] !== v))) return false;
    return !subset || Object.entries(subset).every(([k, v]) => given[k] === v);
  });
}
