import { KEY_ID_MAX, kmsError, type KmsRequestBody as Body, optionalString } from '@nitro-datakey/shared';
import type { StoredAlias, StoredKey } from '../keystore.js';
import { authorize } from './authorization.js';
import { aliasArn, type Operation, type OperationContext, seconds } from './context.js';
import { keyIdParam, resolveKey } from './keys.js';
import { aliasNameParam, page } from './params.js';

/** An alias may only point at a key, by id or key ARN. */
function aliasTarget(ctx: OperationContext, body: Body): StoredKey {
  const target = keyIdParam(body, 'TargetKeyId');
  if (target.startsWith('alias/') || target.includes(':alias/')) throw kmsError.validation('Aliases must refer to keys. Not aliases');
  return resolveKey(ctx, target);
}

/** Aliases: the names a key is called by. */
export const ALIAS_OPERATIONS: Readonly<Record<string, Operation>> = {
  async CreateAlias(body, ctx) {
    const name = aliasNameParam(body);
    const key = aliasTarget(ctx, body);
    authorize(ctx, key, 'CreateAlias');
    if (ctx.store.aliases.has(name)) throw kmsError.alreadyExists(`An alias with the name ${aliasArn(ctx, name)} already exists`);
    const alias: StoredAlias = { name, targetKeyId: key.keyId, creationDate: ctx.clock().getTime() };
    await ctx.store.commit(() => ctx.store.aliases.set(name, alias));
    return {};
  },
  async UpdateAlias(body, ctx) {
    const name = aliasNameParam(body);
    const key = aliasTarget(ctx, body);
    const alias = ctx.store.aliases.get(name);
    if (!alias) throw kmsError.notFound(`Alias ${aliasArn(ctx, name)} is not found.`);
    // As AWS: kms:UpdateAlias is needed on the key the alias points at now, and on the new one. Checking
    // only the new one would let anyone with rights on some key re-point the enclave's alias to it.
    const current = ctx.store.keys.get(alias.targetKeyId);
    if (current) authorize(ctx, current, 'UpdateAlias');
    authorize(ctx, key, 'UpdateAlias');
    const now = ctx.clock().getTime();
    await ctx.store.commit(() => {
      alias.targetKeyId = key.keyId;
      alias.lastUpdatedDate = now;
    });
    return {};
  },
  async DeleteAlias(body, ctx) {
    const name = aliasNameParam(body);
    const alias = ctx.store.aliases.get(name);
    if (!alias) throw kmsError.notFound(`Alias ${aliasArn(ctx, name)} is not found.`);
    const key = ctx.store.keys.get(alias.targetKeyId);
    if (key) authorize(ctx, key, 'DeleteAlias');
    else if (ctx.principalArn !== `arn:aws:iam::${ctx.account}:root`) {
      // No key policy to ask: without an IAM model, only the account itself may remove a dangling alias.
      throw kmsError.accessDenied(`User: ${ctx.principalArn} is not authorized to perform: kms:DeleteAlias on resource: ${aliasArn(ctx, name)}`);
    }
    await ctx.store.commit(() => ctx.store.aliases.delete(name));
    return {};
  },
  ListAliases(body, ctx) {
    const keyId = optionalString(body, 'KeyId', 1, KEY_ID_MAX);
    const filter = keyId === undefined ? undefined : resolveKey(ctx, keyId).keyId;
    const all = [...ctx.store.aliases.values()].filter((a) => filter === undefined || a.targetKeyId === filter).sort((a, b) => a.name.localeCompare(b.name));
    const { items, truncated, next } = page(all, body, (a) => a.name);
    return {
      Aliases: items.map((a) => ({
        AliasName: a.name,
        AliasArn: aliasArn(ctx, a.name),
        TargetKeyId: a.targetKeyId,
        CreationDate: seconds(a.creationDate),
        LastUpdatedDate: seconds(a.lastUpdatedDate ?? a.creationDate),
      })),
      Truncated: truncated,
      ...(next ? { NextMarker: next } : {}),
    };
  },
};
