import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalKms, startLocalKms } from '@nitro-datakey/devkit';

/*
 * "message" or "Message" in KMS error bodies: botocore's KMS model (installed with the aws CLI) names
 * the member of every exception shape, so the local KMS is held to it rather than to a guess.
 */
const model = spawnSync(
  'python3',
  [
    '-c',
    `import json, botocore.loaders
m = botocore.loaders.Loader().load_service_model('kms', 'service-2')
print(json.dumps({k: sorted(v.get('members', {}).keys()) for k, v in m['shapes'].items() if v.get('exception')}))`,
  ],
  { encoding: 'utf8' },
);
const exceptions = model.status === 0 ? (JSON.parse(model.stdout) as Record<string, string[]>) : undefined;
const skip = exceptions ? '' : " (skipped: python3 cannot load botocore's KMS model; it comes with the aws CLI)";

/** Errors every AWS JSON service may answer with, outside any one service's model. */
const GENERIC_ERRORS = new Set(['ValidationException', 'UnknownOperationException', 'AccessDeniedException', 'ThrottlingException']);

describe('KMS error bodies', () => {
  let kms: LocalKms;
  beforeAll(async () => {
    kms = await startLocalKms();
  });
  afterAll(async () => kms?.close());

  it.skipIf(!exceptions)(`every exception shape of botocore's KMS model has one member, "message" (lowercase)${skip}`, () => {
    const shapes = Object.entries(exceptions ?? {});
    expect(shapes.length).toBeGreaterThan(40);
    for (const [name, members] of shapes) expect(members, name).toEqual(['message']);
  });

  it('the local KMS writes {"__type", "message"} and nothing else, for each kind of error it raises', async () => {
    const call = async (target: string, body: unknown) => {
      const res = await fetch(kms.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `TrentService.${target}`,
          authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261205/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00',
        },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const errors = [
      await call('DescribeKey', { KeyId: 'alias/missing' }),
      await call('GenerateRandom', { NumberOfBytes: 5000 }),
      await call('Decrypt', { CiphertextBlob: Buffer.alloc(64).toString('base64') }),
      await call('NoSuchOperation', {}),
    ];
    expect(errors.map((e) => e.body['__type'])).toEqual([
      'NotFoundException',
      'ValidationException',
      'InvalidCiphertextException',
      'UnknownOperationException',
    ]);
    for (const e of errors) {
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(Object.keys(e.body).sort()).toEqual(['__type', 'message']);
      // Service-specific errors are the model's own shapes; ValidationException and friends are the protocol's.
      if (exceptions && !GENERIC_ERRORS.has(String(e.body['__type']))) expect(Object.keys(exceptions)).toContain(e.body['__type']);
    }
  });
});
