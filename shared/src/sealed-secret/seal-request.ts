import { UsageError } from '../cli/exit.js';
import { type CliIo, parseContextArgs, readSecretInput } from '../cli/io.js';
import { isSecretName, MAX_SECRET_BYTES, SECRET_NAME_CONTEXT_KEY, sealedSecretContext } from './envelope.js';
import { parseSecretVersion, SECRET_VERSION_CONTEXT_KEY } from './secret-version.js';

/** What both `seal` commands (the operator's and the enclave's) are given on their command line. */
export interface SealArguments {
  readonly name: string | undefined;
  readonly context: readonly string[] | undefined;
  /** `--version N`: the secret's version, bound into the encryption context (the enclave refuses a rollback). */
  readonly version?: string | undefined;
  /** SECRET_FILE, or `-` for standard input. */
  readonly file: string;
}

/** A request to seal, every part the user gave checked. The caller zeroes `secret` when done. */
export interface SealRequest {
  readonly name: string;
  /** The extra encryption-context pairs the user gave (`--context`), and the version (`--version`) if given. */
  readonly context: Readonly<Record<string, string>>;
  /** The encryption context to bind: those pairs and the name. */
  readonly encryptionContext: Record<string, string>;
  readonly secret: Uint8Array;
}

/**
 * The one reading of a seal command line, so the two `seal` commands answer the same mistake the same
 * way: a bad name, a context pair that is not K=V or names the reserved key, an unreadable, empty or
 * oversized secret are all the user's to fix (a usage error, exit 2), found before KMS is asked.
 */
export async function readSealRequest(args: SealArguments, io: CliIo): Promise<SealRequest> {
  const { name } = args;
  if (name === undefined) throw new UsageError('--name NAME is required: the item name the secret opens as');
  if (!isSecretName(name)) throw new UsageError(`--name ${JSON.stringify(name)} must be a file name of letters, digits, ".", "_" and "-"`);
  const extra = parseContextArgs(args.context);
  if (Object.hasOwn(extra, SECRET_NAME_CONTEXT_KEY)) throw new UsageError(`--context ${SECRET_NAME_CONTEXT_KEY} is set from --name; leave it out`);
  if (Object.hasOwn(extra, SECRET_VERSION_CONTEXT_KEY)) throw new UsageError(`--context ${SECRET_VERSION_CONTEXT_KEY} is set from --version; leave it out`);
  if (args.version !== undefined) {
    const version = parseSecretVersion(args.version);
    if (version === undefined) throw new UsageError(`--version ${JSON.stringify(args.version)} must be a whole number from 1`);
    extra[SECRET_VERSION_CONTEXT_KEY] = String(version);
  }
  const secret = await readSecretInput(args.file, io);
  if (secret.byteLength > MAX_SECRET_BYTES) {
    secret.fill(0);
    throw new UsageError(
      `${args.file === '-' ? 'standard input' : args.file} holds ${secret.byteLength} bytes: a sealed secret is at most ${MAX_SECRET_BYTES}`,
    );
  }
  return { name, context: extra, encryptionContext: sealedSecretContext(name, extra), secret };
}
