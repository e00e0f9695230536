import { createServer, type Server, type Socket } from 'node:net';
import { NSM_MAX_REQUEST_BYTES, type NsmTransport } from '@nitro-datakey/shared';
import { decodeNsmRequest } from '@nitro-datakey/shared/testing';
import { listenUnix } from '@nitro-datakey/native';

/** The largest answer the device gives (its response buffer, NSM_RESPONSE_MAX_SIZE). */
const NSM_MAX_RESPONSE_BYTES = 0x3000;
/** A client that sends nothing for this long is dropped, so a stuck caller cannot pin a connection. */
const IDLE_MS = 10_000;

export interface NsmDeviceServer {
  /** The Unix socket path the emulated device answers on. */
  readonly path: string;
  /** Requests answered so far, by request type ("Attestation", "DescribeNSM", ...). */
  served(): Readonly<Record<string, number>>;
  close(): Promise<void>;
}

export interface NsmDeviceServerOptions {
  /** Called once per answered request with its type; never with its bytes. */
  readonly onRequest?: (type: string) => void;
}

/**
 * The NSM device's request/response bytes over a Unix socket, answered by `nsm` (a simulated NSM):
 * the other half of the test build's LD_PRELOAD shim, which turns the addon's ioctl on /dev/nsm into
 * one connection here. Each connection carries one exchange: a 4-byte big-endian length and the CBOR
 * request, answered with a length and the CBOR response. The socket is created 0600.
 *
 * @example
 * ```ts
 * const device = await serveNsmDevice(await SimulatedNsm.boot({ pki }), '/tmp/nsm.sock');
 * // LD_PRELOAD=libnitro-kernel-shim.so NITRO_EMU_NSM_SOCKET=/tmp/nsm.sock node app.js
 * ```
 */
export async function serveNsmDevice(nsm: NsmTransport, path: string, options: NsmDeviceServerOptions = {}): Promise<NsmDeviceServer> {
  const served: Record<string, number> = {};
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const length = buffered.readUInt32BE(0);
      // The shim never sends more than the device takes; anything else is not a device caller.
      if (length === 0 || length > NSM_MAX_REQUEST_BYTES || buffered.length > 4 + length) return void socket.destroy();
      if (buffered.length < 4 + length) return;
      socket.removeAllListeners('data');
      const request = new Uint8Array(buffered.subarray(4));
      void answer(request).then(
        (response) => {
          if (response.byteLength > NSM_MAX_RESPONSE_BYTES) return void socket.destroy();
          const header = Buffer.alloc(4);
          header.writeUInt32BE(response.byteLength);
          socket.end(Buffer.concat([header, response]));
        },
        () => socket.destroy(),
      );
    });
  });

  async function answer(request: Uint8Array): Promise<Uint8Array> {
    const response = await nsm.request(request);
    let type = 'invalid';
    try {
      type = decodeNsmRequest(request).type;
    } catch {
      // the simulator answered it with the device's error; count it as invalid
    }
    served[type] = (served[type] ?? 0) + 1;
    options.onRequest?.(type);
    return response;
  }

  // 0600 from the moment the socket file appears (bound under umask 0177): no window for another user.
  await listenUnix(server, path, 0o600);
  return {
    path,
    served: () => ({ ...served }),
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
