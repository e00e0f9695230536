import {
  kmsError,
  KmsServiceException,
  type KmsRequestBody as Body,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalString,
  requireString,
} from '@nitro-datakey/shared';

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

export const MAX_TAGS = 50;

/** AWS API model: TagKey 1-128 characters, TagValue 0-256; the `aws:` prefix is AWS's own. */
export function checkTagKey(key: string): void {
  if (key.length < 1 || key.length > 128) throw kmsError.validation(`Tag key must be 1 to 128 characters, got ${key.length}.`);
  if (key.toLowerCase().startsWith('aws:')) throw new KmsServiceException('TagException', 'Tags beginning with aws: are reserved.');
}

/** A request's Tags list as [key, value] pairs, checked; `required` for TagResource. */
export function tagList(body: Body, required = false): [string, string][] {
  const tags = body['Tags'];
  if (tags === undefined || tags === null) {
    if (required) throw kmsError.validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
    return [];
  }
  if (!Array.isArray(tags)) throw kmsError.serialization('Tags must be a list');
  if (tags.length > MAX_TAGS) throw new KmsServiceException('LimitExceededException', `A key can have at most ${MAX_TAGS} tags.`);
  return tags.map((t: unknown) => {
    const { TagKey, TagValue } = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
    if (typeof TagKey !== 'string' || typeof TagValue !== 'string') throw kmsError.serialization('Each tag needs a string TagKey and TagValue');
    checkTagKey(TagKey);
    if (TagValue.length > 256) throw kmsError.validation(`Tag value must be at most 256 characters, got ${TagValue.length}.`);
    return [TagKey, TagValue];
  });
}

export const dryRunParam = (body: Body): boolean => optionalBoolean(body, 'DryRun') === true;

export function dataKeyBytes(body: Body): number {
  const spec = optionalEnum(body, 'KeySpec', ['AES_256', 'AES_128'] as const);
  const count = optionalInteger(body, 'NumberOfBytes', 1, 1024);
  if ((spec === undefined) === (count === undefined)) throw kmsError.validation('Please specify either number of bytes or key spec.');
  return count ?? (spec === 'AES_128' ? 16 : 32);
}

/** One page of a list: Limit (1 to `maxLimit`, default the smaller of 100 and it) and the Marker of the previous page. */
export function page<T>(items: readonly T[], body: Body, id: (item: T) => string, maxLimit = 1000): { items: T[]; truncated: boolean; next?: string } {
  const limit = optionalInteger(body, 'Limit', 1, maxLimit) ?? Math.min(100, maxLimit);
  const marker = optionalString(body, 'Marker', 1, 1024);
  let start = 0;
  if (marker !== undefined) {
    start = items.findIndex((item) => id(item) === Buffer.from(marker, 'base64url').toString('utf8'));
    if (start < 0) throw kmsError.invalidMarker();
  }
  const slice = items.slice(start, start + limit);
  const next = items[start + limit];
  return { items: slice, truncated: next !== undefined, ...(next !== undefined ? { next: Buffer.from(id(next), 'utf8').toString('base64url') } : {}) };
}

export function aliasNameParam(body: Body): string {
  const name = requireString(body, 'AliasName', 1, 256);
  if (!name.startsWith('alias/'))
    throw kmsError.validation('Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
  if (!ALIAS_NAME.test(name))
    throw kmsError.validation(
      `1 validation error detected: Value '${name}' at 'aliasName' failed to satisfy constraint: ` +
        'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$',
    );
  if (name.startsWith('alias/aws/')) throw kmsError.invalidAliasName(`Cannot create alias with prefix 'alias/aws/'`);
  return name;
}
