import { createHash, createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { makeDirectory } from '@nitro-datakey/shared/cli';
import { join } from 'node:path';
import { certificateToPem, issueCertificate, KeyUsageFlags, pemToDer, type CertificateSpec, type IssuedCertificate } from './certificates.js';
import { generateP384KeyPair } from './keys.js';
import { InvalidArgumentError } from '@nitro-datakey/shared';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The real leaf lives about 3 hours. */
export const LEAF_LIFETIME_MS = 3 * HOUR;

/** An AWS-shaped chain: what an attestation document carries. */
export interface NitroChain {
  readonly root: IssuedCertificate;
  readonly regional: IssuedCertificate;
  readonly zonal: IssuedCertificate;
  readonly instance: IssuedCertificate;
  readonly leaf: IssuedCertificate;
  /** Root first, then intermediates toward the leaf, as `cabundle` wants them. */
  readonly cabundle: readonly Uint8Array[];
}

type Level = 'regional' | 'zonal' | 'instance' | 'leaf';

export interface ChainOptions {
  /** The boot time: validity periods are set around it. */
  readonly bootTime: Date;
  readonly region?: string;
  readonly instanceId?: string;
  readonly moduleId?: string;
  /** Per-level changes, for tests that need a broken chain. */
  readonly overrides?: Partial<Record<Level, Partial<CertificateSpec>>>;
}

const SUBJECT_O = 'O=nitro-datakey simulator, OU=Simulated';

/**
 * A simulated Nitro PKI: a P-384 root that can be saved and loaded, and per-boot chains issued
 * under it with the extensions and lifetimes of AWS's (regional pathLen 2, zonal 1, instance 0
 * with keyCertSign only, leaf CA:FALSE with digitalSignature for 3 hours).
 */
export class NitroPki {
  private constructor(
    readonly root: IssuedCertificate,
    private readonly seed: Uint8Array | undefined,
  ) {}

  /** A new root. With `seed`, keys are derived from it (ECDSA signatures stay randomized). */
  static async create(options: { seed?: Uint8Array } = {}): Promise<NitroPki> {
    const keyPair = generateP384KeyPair(options.seed, 'root');
    const root = await issueCertificate({
      subject: `C=US, ${SUBJECT_O}, CN=simulated.aws.nitro-enclaves`,
      keyPair,
      // Fixed like AWS's 30-year root, so a seeded root differs only by its signature.
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2049-12-31T23:59:59Z'),
      basicConstraints: { ca: true },
      keyUsage: KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign,
    });
    return new NitroPki(root, options.seed);
  }

  /** Loads a root saved by `save`. */
  static async load(dir: string): Promise<NitroPki> {
    const der = pemToDer(await readPkiFile(dir, 'root.pem'));
    let privateKey: ReturnType<typeof createPrivateKey>;
    try {
      privateKey = createPrivateKey(await readPkiFile(dir, 'root-key.pem'));
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw e;
      throw new InvalidArgumentError(`${join(dir, 'root-key.pem')} is not a PEM private key`);
    }
    const publicKey = createPublicKey(privateKey);
    const cert = new X509Certificate(der);
    if (!cert.checkPrivateKey(privateKey)) throw new InvalidArgumentError(`${dir}: root-key.pem does not belong to root.pem`);
    return new NitroPki(
      {
        der,
        subject: cert.subject.split('\n').join(', '),
        keyPair: { privateKey, publicKey },
        notBefore: new Date(cert.validFrom),
        notAfter: new Date(cert.validTo),
      },
      undefined,
    );
  }

  /** Writes root.pem, root-key.pem (0600) and root.sha256 into `dir`, each atomically. */
  async save(dir: string): Promise<void> {
    makeDirectory(dir, 'the PKI directory');
    const key = this.root.keyPair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    await writeAtomic(join(dir, 'root-key.pem'), key, 0o600);
    await writeAtomic(join(dir, 'root.pem'), certificateToPem(this.root.der), 0o644);
    await writeAtomic(join(dir, 'root.sha256'), `${this.rootFingerprint}\n`, 0o644);
  }

  /** SHA-256 of the root's DER, lower-case hex: what verifiers pin. */
  get rootFingerprint(): string {
    return createHash('sha256').update(this.root.der).digest('hex');
  }

  /** Issues the intermediates and a leaf for one boot at `options.bootTime`. */
  async issueChain(options: ChainOptions): Promise<NitroChain> {
    const now = options.bootTime.getTime();
    const region = options.region ?? 'us-east-1';
    const tag = (label: string): string =>
      createHash('sha256')
        .update(`${label}/${now}/${this.seed ? Buffer.from(this.seed).toString('hex') : randomBytes(8).toString('hex')}`)
        .digest('hex')
        .slice(0, 16);
    const instanceId = options.instanceId ?? `i-${tag('instance').slice(0, 17)}`;
    const moduleId = options.moduleId ?? `${instanceId}-enc${tag('module')}`;
    const key = (label: string) => generateP384KeyPair(this.seed, `${label}/${now}`);
    const o = options.overrides ?? {};
    const caUsage = KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign;

    const regional = await issueCertificate({
      subject: `C=US, ${SUBJECT_O}, CN=${tag('regional')}.${region}.aws.nitro-enclaves`,
      keyPair: key('regional'),
      issuer: this.root,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 20 * DAY),
      basicConstraints: { ca: true, pathLength: 2 },
      keyUsage: caUsage,
      ...o.regional,
    });
    const zonal = await issueCertificate({
      subject: `CN=${tag('zonal')}.zonal.${region}.aws.nitro-enclaves, OU=Simulated, O=nitro-datakey simulator, C=US, ST=WA, L=Seattle`,
      keyPair: key('zonal'),
      issuer: regional,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 5 * DAY),
      basicConstraints: { ca: true, pathLength: 1 },
      keyUsage: caUsage,
      ...o.zonal,
    });
    const instance = await issueCertificate({
      subject: `C=US, ST=Washington, L=Seattle, ${SUBJECT_O}, CN=${instanceId}.${region}.aws.nitro-enclaves`,
      keyPair: key('instance'),
      issuer: zonal,
      notBefore: new Date(now - HOUR),
      notAfter: new Date(now + DAY),
      basicConstraints: { ca: true, pathLength: 0 },
      keyUsage: KeyUsageFlags.keyCertSign,
      ...o.instance,
    });
    const leaf = await issueCertificate({
      subject: `C=US, ST=Washington, L=Seattle, ${SUBJECT_O}, CN=${moduleId}.${region}.aws`,
      keyPair: key('leaf'),
      issuer: instance,
      notBefore: new Date(now),
      notAfter: new Date(now + LEAF_LIFETIME_MS),
      basicConstraints: { ca: false },
      keyUsage: KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation,
      keyUsageCritical: false,
      ...o.leaf,
    });
    return { root: this.root, regional, zonal, instance, leaf, cabundle: [this.root.der, regional.der, zonal.der, instance.der] };
  }
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode, flush: true });
  await rename(tmp, path);
}

/** A file of a PKI directory; missing or unreadable is an InvalidArgumentError that says what to do (exit 2). */
async function readPkiFile(dir: string, name: string): Promise<string> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const hint = code === 'ENOENT' ? ` (no simulated PKI there: nitro-sim pki init ${dir})` : '';
    throw new InvalidArgumentError(`cannot read ${join(dir, name)}: ${code}${hint}`);
  }
}
