import { kmsError, KmsServiceException, type KmsRequestBody, optionalBoolean, optionalString } from '@nitro-datakey/shared';
import { tagConditions } from '@nitro-datakey/shared/policy';
import { authorize, policyParam, requestCondition } from './authorization.js';
import { keyArn, type Operation } from './context.js';
import { keyIdParam, resolveKey } from './keys.js';
import { checkTagKey, MAX_TAGS, page, tagList } from './params.js';

/** A key's tags, its description and its key policy. */
export const TAG_AND_POLICY_OPERATIONS: Readonly<Record<string, Operation>> = {
  async TagResource(body, ctx) {
    const keyId = keyIdParam(body);
    const tags = tagList(body, true);
    const key = resolveKey(ctx, keyId);
    for (const [name, value] of tagConditions({}, Object.fromEntries(tags))) requestCondition(ctx, name, value);
    authorize(ctx, key, 'TagResource');
    const merged = { ...(key.tags ?? {}), ...Object.fromEntries(tags) };
    if (Object.keys(merged).length > MAX_TAGS) throw new KmsServiceException('LimitExceededException', `A key can have at most ${MAX_TAGS} tags.`);
    await ctx.store.commit(() => {
      key.tags = merged;
    });
    return {};
  },
  async UntagResource(body, ctx) {
    const keyId = keyIdParam(body);
    const names = body['TagKeys'];
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw kmsError.serialization('TagKeys must be a list of strings');
    for (const n of names as string[]) checkTagKey(n);
    const key = resolveKey(ctx, keyId);
    requestCondition(ctx, 'aws:TagKeys', names as string[]);
    authorize(ctx, key, 'UntagResource');
    const kept = Object.fromEntries(Object.entries(key.tags ?? {}).filter(([k]) => !(names as string[]).includes(k)));
    await ctx.store.commit(() => {
      if (Object.keys(kept).length > 0) key.tags = kept;
      else delete key.tags;
    });
    return {};
  },
  ListResourceTags(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'ListResourceTags');
    const all = Object.entries(key.tags ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    const { items, truncated, next } = page(all, body, (tag) => tag.TagKey, 50);
    return { Tags: items, Truncated: truncated, ...(next ? { NextMarker: next } : {}) };
  },
  GetKeyPolicy(body, ctx) {
    const name = policyNameParam(body);
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'GetKeyPolicy');
    if (name !== 'default') throw kmsError.notFound(`No such policy exists: ${name}`);
    return { Policy: key.policy, PolicyName: 'default' };
  },
  async PutKeyPolicy(body, ctx) {
    const name = policyNameParam(body);
    const key = resolveKey(ctx, keyIdParam(body));
    requestCondition(ctx, 'kms:BypassPolicyLockoutSafetyCheck', String(optionalBoolean(body, 'BypassPolicyLockoutSafetyCheck') === true));
    authorize(ctx, key, 'PutKeyPolicy');
    const policy = policyParam(body, ctx, true, keyArn(ctx, key.keyId));
    if (name !== 'default') throw kmsError.notFound(`No such policy exists: ${name}`);
    await ctx.store.commit(() => {
      key.policy = policy;
    });
    return {};
  },

  async UpdateKeyDescription(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    const description = requireDescription(body);
    authorize(ctx, key, 'UpdateKeyDescription');
    await ctx.store.commit(() => {
      key.description = description;
    });
    return {};
  },

  /** A key has one policy, "default" (AWS API model: PolicyNames, Truncated, NextMarker). */
  ListKeyPolicies(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'ListKeyPolicies');
    const { items, truncated, next } = page(['default'], body, (name) => name);
    return { PolicyNames: items, Truncated: truncated, ...(next ? { NextMarker: next } : {}) };
  },
};

/** Description: 0 to 8192 characters, and required here (UpdateKeyDescription's model). */
function requireDescription(body: KmsRequestBody): string {
  const description = body['Description'];
  if (typeof description !== 'string')
    throw kmsError.validation("1 validation error detected: Value null at 'description' failed to satisfy constraint: Member must not be null");
  if (description.length > 8192) throw kmsError.validation('Description must be at most 8192 characters.');
  return description;
}

/** PolicyName: 1 to 128 word characters (AWS API model); a key has one policy, "default". */
function policyNameParam(body: KmsRequestBody): string {
  const name = optionalString(body, 'PolicyName', 1, 128) ?? 'default';
  if (!/^\w+$/.test(name))
    throw kmsError.validation(
      `1 validation error detected: Value '${name}' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w]+`,
    );
  return name;
}
