import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalKms, startLocalKms } from '@nitro-datakey/devkit';
import { IAM_ALLOW_ALL_KMS } from '../../support/index.js';

/*
 * The authorization rules through botocore, the AWS SDK for Python, as users' CI calls KMS: delegation
 * through the account root, a pathed role's sessions, cross-account, an explicit IAM Deny, NotPrincipal, the
 * encryption-context key's case, grants with tokens and constraints. One Python run plays every caller
 * (each an access key id the local KMS maps to a principal) and prints each outcome.
 */
const run = promisify(execFile);
const hasBotocore = spawnSync('python3', ['-c', 'import botocore']).status === 0;
const title = `KMS authorization through botocore${hasBotocore ? '' : ' (SKIPPED: python3 cannot import botocore)'}`;

const A = '111122223333';
const B = '444455556666';
const SCRIPT = `
import json, os, botocore.session
from botocore.exceptions import ClientError
def kms(key_id):
    return botocore.session.get_session().create_client('kms', region_name='us-east-1', endpoint_url=os.environ['ENDPOINT'],
        aws_access_key_id=key_id, aws_secret_access_key='not-checked')
def outcome(f):
    try:
        f()
        return 'OK'
    except ClientError as e:
        return e.response['Error']['Code']
admin, worker, nobody, denied, partner, lonely = (kms(k) for k in ['AKIDADMIN', 'ASIAWORKER', 'ASIANOBODY', 'AKIDDENIED', 'ASIAPARTNER', 'ASIALONELY'])
A, B = '${A}', '${B}'
out = {}
plain = admin.create_key()['KeyMetadata']['Arn']
blob = admin.encrypt(KeyId=plain, Plaintext=b'x')['CiphertextBlob']
out['delegation: a role without IAM'] = outcome(lambda: nobody.decrypt(CiphertextBlob=blob))
out['delegation: a pathed role with IAM'] = outcome(lambda: worker.decrypt(CiphertextBlob=blob))
out['explicit IAM Deny'] = outcome(lambda: denied.decrypt(CiphertextBlob=blob))
shared = admin.create_key(Policy=json.dumps({'Statement': [
    {'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::%s:user/admin' % A}, 'Action': 'kms:*', 'Resource': '*'},
    {'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::%s:root' % B}, 'Action': 'kms:Encrypt', 'Resource': '*'},
    {'Effect': 'Deny', 'NotPrincipal': {'AWS': 'arn:aws:iam::%s:user/admin' % A}, 'Action': 'kms:ScheduleKeyDeletion', 'Resource': '*'},
    {'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::%s:role/team/worker' % A}, 'Action': ['kms:Encrypt', 'kms:ScheduleKeyDeletion'], 'Resource': '*',
     'Condition': {'StringEquals': {'kms:EncryptionContext:Department': 'IT'}}}]}))['KeyMetadata']['Arn']
out['cross-account with its IAM'] = outcome(lambda: partner.encrypt(KeyId=shared, Plaintext=b'x'))
out['cross-account without IAM'] = outcome(lambda: lonely.encrypt(KeyId=shared, Plaintext=b'x'))
out['NotPrincipal Deny'] = outcome(lambda: worker.schedule_key_deletion(KeyId=shared, PendingWindowInDays=7))
out['context key in another case'] = outcome(lambda: worker.encrypt(KeyId=shared, Plaintext=b'x', EncryptionContext={'department': 'IT'}))
out['context value in another case'] = outcome(lambda: worker.encrypt(KeyId=shared, Plaintext=b'x', EncryptionContext={'Department': 'it'}))
granted = admin.create_key()['KeyMetadata']['Arn']
gblob = admin.encrypt(KeyId=granted, Plaintext=b'x', EncryptionContext={'app': 'pay'})['CiphertextBlob']
grant = admin.create_grant(KeyId=granted, GranteePrincipal='arn:aws:iam::%s:role/nobody' % A, Operations=['Decrypt'],
    Constraints={'EncryptionContextSubset': {'app': 'pay'}})
out['grant with its token'] = outcome(lambda: nobody.decrypt(CiphertextBlob=gblob, EncryptionContext={'app': 'pay'}, GrantTokens=[grant['GrantToken']]))
other = admin.encrypt(KeyId=granted, Plaintext=b'x', EncryptionContext={'app': 'other'})['CiphertextBlob']
token = [grant['GrantToken']]
out['grant outside its constraint'] = outcome(lambda: nobody.decrypt(CiphertextBlob=other, EncryptionContext={'app': 'other'}, GrantTokens=token))
print(json.dumps(out))
`;

let kms: LocalKms;
beforeAll(async () => {
  if (!hasBotocore) return;
  kms = await startLocalKms({
    account: A,
    principals: {
      AKIDADMIN: `arn:aws:iam::${A}:user/admin`,
      ASIAWORKER: `arn:aws:sts::${A}:assumed-role/worker/i-0w`,
      ASIANOBODY: `arn:aws:sts::${A}:assumed-role/nobody/i-0n`,
      AKIDDENIED: `arn:aws:iam::${A}:user/denied`,
      ASIAPARTNER: `arn:aws:sts::${B}:assumed-role/partner/s`,
      ASIALONELY: `arn:aws:sts::${B}:assumed-role/lonely/s`,
    },
    iamPolicies: {
      [`arn:aws:iam::${A}:user/admin`]: IAM_ALLOW_ALL_KMS,
      [`arn:aws:iam::${A}:role/team/worker`]: JSON.stringify({ Statement: [{ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt'], Resource: '*' }] }),
      [`arn:aws:iam::${A}:user/denied`]: [IAM_ALLOW_ALL_KMS, JSON.stringify({ Statement: [{ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' }] })],
      [`arn:aws:iam::${B}:role/partner`]: IAM_ALLOW_ALL_KMS,
    },
  });
});
afterAll(async () => kms?.close());

describe.skipIf(!hasBotocore)(title, () => {
  it('decides each rule as AWS documents it', async () => {
    const { stdout } = await run('python3', ['-c', SCRIPT], { env: { ...process.env, ENDPOINT: kms.endpoint } });
    expect(JSON.parse(stdout)).toEqual({
      'delegation: a role without IAM': 'AccessDeniedException',
      'delegation: a pathed role with IAM': 'OK',
      'explicit IAM Deny': 'AccessDeniedException',
      'cross-account with its IAM': 'OK',
      'cross-account without IAM': 'AccessDeniedException',
      'NotPrincipal Deny': 'AccessDeniedException',
      'context key in another case': 'OK',
      'context value in another case': 'AccessDeniedException',
      'grant with its token': 'OK',
      'grant outside its constraint': 'AccessDeniedException',
    });
  });
});
