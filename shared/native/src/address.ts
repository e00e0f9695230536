import { NativeLayerError } from './errors.js';

/** One address syntax for both sides: `vsock:CID:PORT`, `tcp:HOST:PORT`, `unix:PATH`. */
export type TransportAddress =
  | { readonly kind: 'vsock'; readonly cid: number; readonly port: number }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

const U32 = /^(0|[1-9]\d{0,9})$/;

export function parseAddress(text: string): TransportAddress {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  switch (kind) {
    case 'vsock': {
      const [cid, port, ...extra] = rest.split(':');
      if (
        extra.length > 0 ||
        cid === undefined ||
        port === undefined ||
        !U32.test(cid) ||
        !U32.test(port) ||
        Number(cid) > 0xffffffff ||
        Number(port) > 0xffffffff
      ) {
        throw invalidAddress(`invalid vsock address ${JSON.stringify(text)}: expected vsock:CID:PORT with CID and PORT from 0 to 4294967295`);
      }
      return { kind, cid: Number(cid), port: Number(port) };
    }
    case 'tcp': {
      const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(rest);
      if (!m || Number(m[2]) > 65535)
        throw invalidAddress(`invalid tcp address ${JSON.stringify(text)}: expected tcp:HOST:PORT (IPv6 in brackets) with PORT from 0 to 65535`);
      return { kind, host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
    }
    case 'unix':
      if (rest.length === 0 || rest.includes('\0')) throw invalidAddress(`invalid unix address ${JSON.stringify(text)}: expected unix:PATH`);
      return { kind, path: rest };
    default:
      throw invalidAddress(`invalid address ${JSON.stringify(text)}: expected vsock:CID:PORT, tcp:HOST:PORT or unix:PATH`);
  }
}

// One definition of "loopback", in shared: the CLI kit checks endpoints with it too.
export { isLoopbackHost } from '@nitro-datakey/shared/loopback';

export function formatAddress(address: TransportAddress): string {
  switch (address.kind) {
    case 'vsock':
      return `vsock:${address.cid}:${address.port}`;
    case 'tcp':
      return `tcp:${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    case 'unix':
      return `unix:${address.path}`;
  }
}

function invalidAddress(message: string): NativeLayerError {
  return new NativeLayerError('ERR_INVALID_ADDRESS', message);
}
