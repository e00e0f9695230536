import { isIPv4 } from 'node:net';

/** A TCP host (or URL hostname, brackets allowed) that only this machine, or this enclave, can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare === 'localhost' || bare === '::1' || (isIPv4(bare) && bare.startsWith('127.'));
}
