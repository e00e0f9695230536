import { randomBytes } from 'node:crypto';
import { optionalEnum, optionalInteger } from '@nitro-datakey/shared';
import type { StoredKey } from '../keystore.js';
import { authorize } from './authorization.js';
import { keyArn, type Operation, seconds } from './context.js';
import { keyIdParam, keyMaterialId, requireSymmetricForRotation, requireUsable, resolveKey } from './keys.js';
import { page } from './params.js';

/** Key rotation: scheduled, on demand, and its history. */
export const ROTATION_OPERATIONS: Readonly<Record<string, Operation>> = {
  async EnableKeyRotation(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    const period = optionalInteger(body, 'RotationPeriodInDays', 90, 2560) ?? 365;
    authorize(ctx, key, 'EnableKeyRotation');
    requireSymmetricForRotation(ctx, key);
    requireUsable(ctx, key);
    await ctx.store.commit(() => {
      key.rotationPeriodInDays = period;
    });
    return {};
  },
  async DisableKeyRotation(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'DisableKeyRotation');
    requireSymmetricForRotation(ctx, key);
    requireUsable(ctx, key);
    await ctx.store.commit(() => {
      delete key.rotationPeriodInDays;
    });
    return {};
  },
  GetKeyRotationStatus(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'GetKeyRotationStatus');
    const enabled = key.rotationPeriodInDays !== undefined;
    const last = key.rotations?.at(-1)?.date ?? key.creationDate;
    return {
      KeyId: keyArn(ctx, key.keyId),
      KeyRotationEnabled: enabled,
      ...(enabled
        ? { RotationPeriodInDays: key.rotationPeriodInDays, NextRotationDate: seconds(last + (key.rotationPeriodInDays as number) * 86_400_000) }
        : {}),
    };
  },
  /** A new key material now: new ciphertexts use it, every earlier one still decrypts (AWS: RotateKeyOnDemand). */
  async RotateKeyOnDemand(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'RotateKeyOnDemand');
    requireSymmetricForRotation(ctx, key);
    requireUsable(ctx, key);
    const fresh = randomBytes(32).toString('base64');
    const date = ctx.clock().getTime();
    await ctx.store.commit(() => {
      const live = ctx.store.keys.get(key.keyId) as StoredKey;
      live.previousMaterials = [...(live.previousMaterials ?? []), live.material];
      (live as { material: string }).material = fresh;
      live.rotations = [...(live.rotations ?? []), { date, type: 'ON_DEMAND' }];
    });
    return { KeyId: keyArn(ctx, key.keyId) };
  },
  ListKeyRotations(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'ListKeyRotations');
    requireSymmetricForRotation(ctx, key);
    const include = optionalEnum(body, 'IncludeKeyMaterial', ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] as const) ?? 'ROTATIONS_ONLY';
    // Material version 0 is the key's first; rotation i made version i + 1. ALL_KEY_MATERIAL lists the first too.
    const versions = (key.rotations ?? []).map((r, i) => ({ version: i + 1, rotation: r as typeof r | undefined }));
    const all = include === 'ALL_KEY_MATERIAL' ? [{ version: 0, rotation: undefined }, ...versions] : versions;
    const current = key.previousMaterials?.length ?? 0;
    const { items, truncated, next } = page(all, body, (r) => String(r.version));
    return {
      Rotations: items.map(({ version, rotation }) => ({
        KeyId: keyArn(ctx, key.keyId),
        KeyMaterialId: keyMaterialId(key.keyId, version),
        KeyMaterialState: version === current ? 'CURRENT' : 'NON_CURRENT',
        ...(rotation ? { RotationDate: seconds(rotation.date), RotationType: rotation.type } : {}),
      })),
      Truncated: truncated,
      ...(next ? { NextMarker: next } : {}),
    };
  },
};
