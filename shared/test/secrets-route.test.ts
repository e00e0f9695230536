import { describe, expect, it } from 'vitest';
import {
  encodeSecretAnswer,
  encodeSecretRefusal,
  encodeSecretRequest,
  parseSecretAnswer,
  parseSecretRequest,
  parseSecretVersion,
  type SealedSecret,
  sealedSecretVersion,
  SECRET_VERSION_CONTEXT_KEY,
} from '../src/index.js';

const envelope: SealedSecret = {
  format: 'nitro-datakey/sealed-secret',
  version: 1,
  keyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  algorithm: 'AES-256-GCM',
  encryptedDataKey: 'AAAA',
  iv: Buffer.alloc(12).toString('base64'),
  encryptionContext: { 'nitro-datakey:secret-name': 'db', [SECRET_VERSION_CONTEXT_KEY]: '7' },
  ciphertext: 'AAAA',
  tag: Buffer.alloc(16).toString('base64'),
};

describe('the secrets route protocol', () => {
  it('round-trips a request and an answer', () => {
    expect(parseSecretRequest(encodeSecretRequest('db').trim())).toBe('db');
    expect(parseSecretAnswer(encodeSecretAnswer(envelope), 'db')).toEqual(envelope);
  });

  it.each([
    ['not JSON', '{"name":'],
    ['an array', '["db"]'],
    ['another member', '{"name":"db","path":"../x"}'],
    ['a path', '{"name":"../etc/passwd"}'],
    ['a hidden file', '{"name":".env"}'],
    ['a number', '{"name":7}'],
  ])('refuses a request that is %s (ERR_SECRETS_ROUTE_MALFORMED)', (_, line) => {
    expect(() => parseSecretRequest(line)).toThrow(expect.objectContaining({ code: 'ERR_SECRETS_ROUTE_MALFORMED' }));
  });

  it.each([
    ['not JSON', 'garbage', 'ERR_SECRETS_ROUTE_MALFORMED'],
    ['an extra member', JSON.stringify({ envelope, plaintext: 'x' }), 'ERR_SECRETS_ROUTE_MALFORMED'],
    ['an envelope with an unknown field', JSON.stringify({ envelope: { ...envelope, note: 'x' } }), 'ERR_SECRETS_ROUTE_MALFORMED'],
    ['a refusal NotFound', encodeSecretRefusal('NotFound', 'db: missing'), 'ERR_SECRETS_ROUTE_NOT_FOUND'],
    ['a refusal Unavailable', encodeSecretRefusal('Unavailable', 'db: not a file'), 'ERR_SECRETS_ROUTE_UNAVAILABLE'],
  ])('reads an answer that is %s as its error', (_, answer, code) => {
    expect(() => parseSecretAnswer(answer, 'db')).toThrow(expect.objectContaining({ code }));
  });

  it('reads versions strictly: whole numbers from 1, no sign, no leading zero, no exponent', () => {
    expect(parseSecretVersion('1')).toBe(1);
    expect(parseSecretVersion('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    for (const bad of ['0', '-1', '+2', '01', '1e3', '1.5', '', ' 2', '9007199254740992']) expect(parseSecretVersion(bad), bad).toBeUndefined();
    expect(sealedSecretVersion(envelope)).toBe(7);
    expect(sealedSecretVersion({ ...envelope, encryptionContext: { 'nitro-datakey:secret-name': 'db' } })).toBeUndefined();
    expect(() => sealedSecretVersion({ ...envelope, encryptionContext: { [SECRET_VERSION_CONTEXT_KEY]: 'seven' } })).toThrow(
      expect.objectContaining({ code: 'ERR_SEALED_SECRET_MALFORMED' }),
    );
  });
});
