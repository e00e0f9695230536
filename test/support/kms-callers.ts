import type { KMSClient } from '@aws-sdk/client-kms';
import { type LocalKms, localKmsClient } from '@nitro-datakey/devkit';

/**
 * SDK clients of one local KMS, one per access key id the server maps to a principal (`--principal`):
 * `as('AKIDADMIN')` calls as that principal; `destroy()` ends every client made.
 */
export function kmsCallers(kms: () => LocalKms): { as(accessKeyId: string): KMSClient; destroy(): void } {
  const clients: KMSClient[] = [];
  return {
    as: (accessKeyId) => {
      const client = localKmsClient(kms(), { accessKeyId });
      clients.push(client);
      return client;
    },
    destroy: () => {
      for (const c of clients.splice(0)) c.destroy();
    },
  };
}
