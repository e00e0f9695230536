import { Agent } from 'node:https';
import { KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { LocalKms } from './server.js';

/** An unmodified AWS SDK KMS client pointed at a local KMS (trusting its CA when it serves TLS). */
export function localKmsClient(
  kms: Pick<LocalKms, 'endpoint' | 'region' | 'caCertPem'>,
  options: { accessKeyId?: string; maxAttempts?: number } = {},
): KMSClient {
  return new KMSClient({
    endpoint: kms.endpoint,
    region: kms.region,
    credentials: { accessKeyId: options.accessKeyId ?? 'AKIDLOCALTEST', secretAccessKey: 'not-checked' },
    maxAttempts: options.maxAttempts ?? 1,
    ...(kms.caCertPem ? { requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: kms.caCertPem, keepAlive: true }) }) } : {}),
  });
}
