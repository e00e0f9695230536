/**
 * A full KMS key ARN: `arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID` (a UUID, or `mrk-` and 32 hex
 * digits for a multi-Region key). The only KeyId form that names one key in one account: an alias or
 * a bare key id resolves in whatever account the caller's credentials belong to.
 */
export const KEY_ARN_PATTERN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

export function isKeyArn(text: string): boolean {
  return KEY_ARN_PATTERN.test(text);
}
