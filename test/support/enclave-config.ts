import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Stack } from '@nitro-datakey/devkit';

/**
 * What an enclave config says to reach a stack's KMS through its proxy: the region, the KMS route, the local
 * KMS's endpoint and its CA (written into `dir` as ca.pem), and the credentials route. Suites add the rest.
 */
export function stackEnclaveConfig(stack: Stack, dir: string, allowedKeys?: Readonly<Record<string, string>>) {
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, stack.kms.caCertPem as string);
  return {
    region: stack.kms.region,
    kms: {
      transport: stack.proxy.routes[0]?.listen as string,
      endpoint: `https://localhost:${new URL(stack.kms.endpoint).port}`,
      caFile,
      ...(allowedKeys ? { allowedKeys } : {}),
    },
    credentials: { transport: stack.proxy.credentials as string },
  };
}
