import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { parseArgs } from 'node:util';
import { isKeyArn } from '@nitro-datakey/shared/kms-protocol';
import { isLoopbackHost } from '@nitro-datakey/shared/loopback';
import { SealedSecretError, sealWithDataKey } from '@nitro-datakey/shared/sealed-secret';
import { type CliCommand, type CliIo, EXIT, UsageError, writeOutput } from '@nitro-datakey/shared/cli';
import { readSealRequest } from '@nitro-datakey/shared/cli/seal';

const SEAL_HELP = `Usage: nitro-datakey seal --key-id KEY --name NAME [options] SECRET_FILE|-

Seals a secret for an enclave, outside the enclave, with your own AWS credentials (the SDK's usual
chain: AWS_PROFILE, environment, SSO, instance role). KMS makes a data key (GenerateDataKey, no
attestation: the key policy's sealer statement allows it); the secret is encrypted with it
(AES-256-GCM) and the data key is wiped. The envelope that results opens only where KMS lets the
caller decrypt: in the measured enclave. Give the sealer principal with "nitro-datakey policy
--sealer-arn"; the same policy denies it Decrypt, so a sealer cannot open what it sealed.

NAME is the item name the enclave opens it as (secrets.items[].name in its config); it is bound into
the envelope, which opens as no other item.

Options:
  --key-id KEY        the KMS key: a key ARN (recommended: the envelope records it, and the enclave
                      checks it against its config), or an alias or key id
  --name NAME         the secret's name in the enclave (letters, digits, ".", "_", "-")
  --context K=V       an extra encryption-context pair (repeatable); the enclave's item must expect it
  --version N         the secret's version (1, 2, ...), bound into the envelope: an enclave opens a
                      rotated secret only if its version is above the one it holds and not below the
                      item's minVersion, so the parent can hold a rotation back but never roll one back
  --out FILE          write the envelope to FILE (default: standard output); written atomically,
                      never through a symlink
  --region REGION     the KMS region (default: AWS_REGION, or your AWS profile's)
  --endpoint URL      another KMS endpoint (a VPC endpoint, or the dev kit's local KMS); https only:
                      the answer carries the data key
  --insecure-http-loopback
                      accept an http:// --endpoint on this machine's loopback (a local KMS without TLS)
  --ca-file FILE      trust this CA for --endpoint's TLS (the local KMS's certificate)
  -h, --help          show this help

Needs @aws-sdk/client-kms installed beside @nitro-datakey/shared.
Exit status: 0 sealed, 1 refused or failed (KMS's exception named), 2 usage error (an empty secret,
no region, no credentials, a bad endpoint or an unreadable file are yours to fix: exit 2).
`;

/** The subset of KMS's GenerateDataKey answer the sealer reads. */
interface DataKeyAnswer {
  readonly KeyId?: string | undefined;
  readonly Plaintext?: Uint8Array | undefined;
  readonly CiphertextBlob?: Uint8Array | undefined;
}

export const sealCommand: CliCommand = {
  help: SEAL_HELP,
  run: (argv, { io }) => seal(argv, io),
};

async function seal(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'key-id': { type: 'string' },
      name: { type: 'string' },
      context: { type: 'string', multiple: true },
      version: { type: 'string' },
      out: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      'insecure-http-loopback': { type: 'boolean' },
      'ca-file': { type: 'string' },
    },
  });
  const keyId = values['key-id'];
  if (keyId === undefined || values.name === undefined || positionals.length !== 1) {
    throw new UsageError('seal needs --key-id KEY, --name NAME and one SECRET_FILE (or -) (see --help)');
  }
  if (values['ca-file'] !== undefined && values.endpoint === undefined) throw new UsageError('--ca-file goes with --endpoint');
  if (values.endpoint !== undefined) checkEndpoint(values.endpoint, values['insecure-http-loopback'] === true);
  else if (values['insecure-http-loopback']) throw new UsageError('--insecure-http-loopback goes with an http://127.0.0.1 --endpoint');
  let ca: string | undefined;
  if (values['ca-file'] !== undefined) {
    try {
      ca = await readFile(values['ca-file'], 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --ca-file ${values['ca-file']}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  const { name, encryptionContext, secret } = await readSealRequest(
    { name: values.name, context: values.context, version: values.version, file: positionals[0] as string },
    io,
  );
  try {
    const answer = await generateDataKey({
      keyId,
      encryptionContext,
      ...(values.region ? { region: values.region } : {}),
      ...(values.endpoint ? { endpoint: values.endpoint } : {}),
      ...(ca ? { ca } : {}),
    });
    const plaintext = answer.Plaintext;
    try {
      // The sealer trusts its own account, but an answer that does not fit is still no envelope to ship.
      if (!(plaintext instanceof Uint8Array) || plaintext.byteLength !== 32 || !(answer.CiphertextBlob instanceof Uint8Array))
        throw new SealedSecretError('ERR_SEALED_SECRET_KMS', 'KMS answered GenerateDataKey without a 32-byte data key and its ciphertext');
      const keyArn = answer.KeyId ?? '';
      if (!isKeyArn(keyArn) || (isKeyArn(keyId) && keyArn !== keyId))
        throw new SealedSecretError('ERR_SEALED_SECRET_KMS', `KMS answered for the key ${JSON.stringify(keyArn)}, not ${keyId}`);
      const sealed = sealWithDataKey(secret, { plaintext, ciphertextBlob: answer.CiphertextBlob, keyId: keyArn }, encryptionContext);
      const envelope = `${JSON.stringify(sealed, null, 2)}\n`;
      if (values.out) await writeOutput(values.out, envelope);
      else io.stdout(envelope);
      io.stderr(`nitro-datakey seal: sealed ${name} under ${keyArn}${values.out ? ` into ${values.out}` : ''}\n`);
      return EXIT.ok;
    } finally {
      plaintext?.fill(0);
    }
  } finally {
    secret.fill(0);
  }
}

/** The answer carries the data key: https only, or plain http on loopback when explicitly asked. */
function checkEndpoint(text: string, allowHttpLoopback: boolean): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--endpoint ${JSON.stringify(text)} is not a URL (e.g. https://kms.us-east-1.amazonaws.com)`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) {
    if (allowHttpLoopback) return;
    throw new UsageError(`--endpoint ${text} is plain http: the data key would cross in clear (add --insecure-http-loopback for a local KMS on this machine)`);
  }
  throw new UsageError(`--endpoint ${text} is not https: the answer carries the data key, which must never cross the network in clear`);
}

interface DataKeyRequest {
  readonly keyId: string;
  readonly encryptionContext: Record<string, string>;
  readonly region?: string;
  readonly endpoint?: string;
  readonly ca?: string;
}

/**
 * GenerateDataKey with the operator's credentials. The SDK is loaded here, on demand: the rest of this
 * package (and the parent proxy, which uses its CLI kit) never loads it.
 */
async function generateDataKey(request: DataKeyRequest): Promise<DataKeyAnswer> {
  let sdk: typeof import('@aws-sdk/client-kms');
  try {
    sdk = await import('@aws-sdk/client-kms');
  } catch (cause) {
    throw new SealedSecretError('ERR_SEALED_SECRET_KMS', 'nitro-datakey seal needs the AWS SDK: npm install @aws-sdk/client-kms', { cause });
  }
  const client = new sdk.KMSClient({
    ...(request.region ? { region: request.region } : {}),
    ...(request.endpoint ? { endpoint: request.endpoint } : {}),
    ...(request.ca ? { requestHandler: { httpsAgent: new Agent({ ca: request.ca }) } } : {}),
  });
  try {
    return await client.send(new sdk.GenerateDataKeyCommand({ KeyId: request.keyId, KeySpec: 'AES_256', EncryptionContext: request.encryptionContext }));
  } catch (cause) {
    const e = cause as Error;
    // Mistakes on this side, found by the SDK before anything reached KMS: the user's to fix (exit 2).
    if (e.name === 'CredentialsProviderError') throw new UsageError(`no AWS credentials: ${e.message} (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or log in)`);
    if (/region is missing/i.test(e.message ?? '')) throw new UsageError('no AWS region: give --region, or set AWS_REGION');
    throw new SealedSecretError('ERR_SEALED_SECRET_KMS', `KMS refused GenerateDataKey: ${e.name}: ${e.message}`, { cause });
  } finally {
    client.destroy();
  }
}
