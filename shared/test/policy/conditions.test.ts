// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables (${aws:username}) are literal text in these policies
import { describe, expect, it } from 'vitest';
import { KmsServiceException } from '@nitro-datakey/shared';
import { checkStatement, parsePolicyDocument, policyCaller } from '@nitro-datakey/shared/policy';

/*
 * The condition operators and keys AWS accepts in a key policy (IAM "Condition operators", "AWS global
 * condition context keys"; KMS "Condition keys"): accepted, evaluated, and their bad values refused.
 */
const USER = 'arn:aws:iam::111122223333:user/alice';
const statement = (condition: object) =>
  parsePolicyDocument(
    JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: USER }, Action: 'kms:Decrypt', Resource: '*', Condition: condition }] }),
  )[0];
const holds = (condition: object, facts: Record<string, string | string[]>) =>
  checkStatement(
    statement(condition) as NonNullable<ReturnType<typeof statement>>,
    {
      principalArn: USER,
      action: 'kms:Decrypt',
      resourceArn: 'arn:aws:kms:us-east-1:111122223333:key/k',
      conditions: new Map(Object.entries(facts).map(([k, v]) => [k.toLowerCase(), v])),
    },
    policyCaller(USER),
  ).applies;

describe('condition operators', () => {
  it('IpAddress and NotIpAddress: IPv4 and IPv6 blocks, single addresses, an IPv4 client on a dual-stack socket', () => {
    expect(holds({ IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } }, { 'aws:SourceIp': '127.0.0.1' })).toBe(true);
    expect(holds({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '127.0.0.1' })).toBe(false);
    expect(holds({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '::ffff:10.1.2.3' })).toBe(true);
    expect(holds({ IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db8:1::5' })).toBe(true);
    expect(holds({ IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db9::5' })).toBe(false);
    expect(holds({ IpAddress: { 'aws:SourceIp': '192.0.2.7' } }, { 'aws:SourceIp': '192.0.2.7' })).toBe(true);
    expect(holds({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '127.0.0.1' })).toBe(true);
    expect(holds({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {})).toBe(true); // a negated operator matches a missing key
  });

  it('Numeric*, Date*, Arn* and Bool', () => {
    expect(
      holds({ NumericLessThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '10' } }, { 'kms:ScheduleKeyDeletionPendingWindowInDays': '7' }),
    ).toBe(true);
    expect(holds({ NumericGreaterThan: { 'kms:RotationPeriodInDays': 100 } }, { 'kms:RotationPeriodInDays': '90' })).toBe(false);
    expect(holds({ DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, { 'aws:CurrentTime': '2026-12-05T12:00:00Z' })).toBe(true);
    expect(holds({ DateGreaterThan: { 'aws:EpochTime': '1893456000' } }, { 'aws:EpochTime': '1796000000' })).toBe(false);
    expect(holds({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/ali*' } }, { 'aws:PrincipalArn': USER })).toBe(true);
    expect(holds({ ArnNotEquals: { 'aws:PrincipalArn': USER } }, { 'aws:PrincipalArn': USER })).toBe(false);
    expect(holds({ Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': 'true' })).toBe(true);
    // AWS console's default policy: a grant for an AWS resource; absent for a caller's own CreateGrant.
    expect(holds({ Bool: { 'kms:GrantIsForAWSResource': 'true' } }, {})).toBe(false);
  });

  it.each([
    ['a number that is not one', { NumericEquals: { 'kms:RotationPeriodInDays': 'ten' } }, /not a number/],
    ['a date that is not one', { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } }, /not a date/],
    ['a CIDR block that is not one', { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } }, /not an IP address/],
    ['a set operator on a single-valued key', { 'ForAnyValue:StringEquals': { 'kms:EncryptionContext:team': 'a' } }, /multivalued keys only/],
    ['a key KMS does not know', { StringEquals: { 'kms:RecipientAtestation:ImageSha384': 'ab' } }, /not a KMS or global condition key/],
    ['an operator IAM does not have', { StringRoughly: { 'aws:PrincipalArn': 'x' } }, /not supported/],
  ])('refuses %s as a malformed policy', (_what, condition, message) => {
    expect(() => statement(condition)).toThrow(KmsServiceException);
    expect(() => statement(condition)).toThrow(message);
  });

  it('accepts the global keys AWS accepts (values it cannot know are absent from the request)', () => {
    for (const key of [
      'aws:SourceVpce',
      'aws:PrincipalOrgID',
      'aws:PrincipalTag/team',
      'kms:RequestAlias',
      'kms:GrantIsForAWSResource',
      'aws:ResourceTag/env',
    ]) {
      expect(() => statement({ StringEquals: { [key]: 'x' } }), key).not.toThrow();
    }
    expect(() => statement({ 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/app*' } })).not.toThrow();
  });
});

describe('policy variables', () => {
  it("${aws:username} in a condition or a Resource is the caller's user name; a missing key matches nothing; ${*} is a literal *", () => {
    expect(
      holds({ StringEquals: { 'kms:EncryptionContext:owner': '${aws:username}' } }, { 'kms:EncryptionContext:owner': 'alice', 'aws:username': 'alice' }),
    ).toBe(true);
    expect(
      holds({ StringEquals: { 'kms:EncryptionContext:owner': '${aws:username}' } }, { 'kms:EncryptionContext:owner': 'bob', 'aws:username': 'alice' }),
    ).toBe(false);
    // Without the key in the request the value is gone: not compared literally as "${aws:username}".
    expect(holds({ StringEquals: { 'kms:EncryptionContext:owner': '${aws:username}' } }, { 'kms:EncryptionContext:owner': '${aws:username}' })).toBe(false);
    expect(holds({ StringEquals: { 'kms:EncryptionContext:note': 'a${*}b' } }, { 'kms:EncryptionContext:note': 'a*b' })).toBe(true);
  });
});
