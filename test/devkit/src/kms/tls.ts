import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { makeDirectory } from '@nitro-datakey/shared/cli';
import { join } from 'node:path';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { x509 } from '../x509.js';

export interface TlsMaterial {
  readonly caCertPath: string;
  readonly caCertPem: string;
  readonly cert: string;
  readonly key: string;
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/**
 * A local CA and a server certificate for localhost, 127.0.0.1 and ::1, kept in `dir/tls` so clients
 * that trust the CA keep trusting it across restarts. Keys are written 0600.
 */
export async function loadOrCreateTls(dir: string, now: Date): Promise<TlsMaterial> {
  const tlsDir = join(dir, 'tls');
  const paths = { ca: join(tlsDir, 'ca.pem'), cert: join(tlsDir, 'server.pem'), key: join(tlsDir, 'server-key.pem') };
  if (existsSync(paths.ca) && existsSync(paths.cert) && existsSync(paths.key)) {
    const [caCertPem, cert, key] = await Promise.all([readFile(paths.ca, 'utf8'), readFile(paths.cert, 'utf8'), readFile(paths.key, 'utf8')]);
    if (new x509.X509Certificate(cert).notAfter.getTime() > now.getTime() + 86_400_000) return { caCertPath: paths.ca, caCertPem, cert, key };
  }
  makeDirectory(tlsDir, 'the TLS directory');
  const importPair = async (pair: ReturnType<typeof generateKeyPairSync>) => ({
    privateKey: await webcrypto.subtle.importKey('pkcs8', pair.privateKey.export({ format: 'der', type: 'pkcs8' }), P256, false, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', pair.publicKey.export({ format: 'der', type: 'spki' }), P256, true, ['verify']),
  });
  const caPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serverPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ca = await importPair(caPair);
  const server = await importPair(serverPair);
  const notBefore = new Date(now.getTime() - 3_600_000);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=nitro-kms-local CA',
    notBefore,
    notAfter: new Date(now.getTime() + 5 * 365 * 86_400_000),
    keys: { privateKey: ca.privateKey as never, publicKey: ca.publicKey as never },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const serverCert = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=localhost',
    issuer: caCert.subjectName,
    notBefore,
    notAfter: new Date(now.getTime() + 365 * 86_400_000),
    publicKey: server.publicKey as never,
    signingKey: ca.privateKey as never,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
    ],
  });
  const material: TlsMaterial = {
    caCertPath: paths.ca,
    caCertPem: caCert.toString('pem'),
    cert: serverCert.toString('pem'),
    key: serverPair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
  await writeFile(paths.key, material.key, { mode: 0o600 });
  await writeFile(paths.cert, material.cert, { mode: 0o644 });
  await writeFile(paths.ca, material.caCertPem, { mode: 0o644 });
  return material;
}
