import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { AttestedKmsError } from '../errors.js';

/**
 * The roots AWS's KMS endpoints chain to (Amazon Trust Services: Amazon Root CA 1 to 4, and the
 * Starfield Services Root G2 that cross-signs them), by the SHA-256 of their DER. TLS ends inside the
 * enclave: trusting Node's whole bundle would let any of its ~140 CAs vouch for a "KMS" the parent
 * routes the bytes to. The certificates themselves come from Node's bundle.
 */
export const AMAZON_TRUST_ROOT_FINGERPRINTS: readonly string[] = [
  '8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E', // Amazon Root CA 1
  '1BA5B2AA8C65401A82960118F80BEC4F62304D83CEC4713A19C39C011EA46DB4', // Amazon Root CA 2
  '18CE6CFE7BF14E60B2E347B8DFE868CB31D02EBB3ADA271569F50343B46DB3A4', // Amazon Root CA 3
  'E35D28419ED02025CFA69038CD623962458DA5C695FBDEA3C22B0BFB25897092', // Amazon Root CA 4
  '568D6905A2C88708A4B3025190EDCFEDB1974A606A13C6E5290FCB2AE63EDAB5', // Starfield Services Root Certificate Authority - G2
];

let cached: string[] | undefined;

/** The pinned roots as PEM; fails closed when Node's bundle holds none of them. */
export function amazonTrustRoots(): readonly string[] {
  if (cached) return cached;
  const wanted = new Set(AMAZON_TRUST_ROOT_FINGERPRINTS);
  const found = rootCertificates.filter((pem) => wanted.has(new X509Certificate(pem).fingerprint256.replaceAll(':', '')));
  if (found.length === 0) throw new AttestedKmsError('ERR_KMS_TRANSPORT', "none of Amazon's root CAs is in this Node's certificate bundle: pass them as `ca`");
  cached = found;
  return found;
}

/** What TLS to KMS trusts: Amazon's roots, plus `extra` (a VPC endpoint's private CA, a local KMS's CA). */
export function kmsTrustAnchors(extra?: string | readonly string[]): string[] {
  const more = extra === undefined ? [] : typeof extra === 'string' ? [extra] : [...extra];
  return [...amazonTrustRoots(), ...more];
}
