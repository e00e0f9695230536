/**
 * `@nitro-datakey/native`: the one native layer under both sides of the trust boundary. The enclave
 * connects over AF_VSOCK and talks to /dev/nsm; the parent proxy listens on AF_VSOCK. Node cannot own
 * either fd, so a small N-API addon does the syscalls and libuv tells it when an fd is ready.
 *
 * @example
 * ```ts
 * import { connectTo, listenOn } from '@nitro-datakey/native';
 * const listener = await listenOn('vsock:4294967295:8000', (socket) => socket.pipe(socket));
 * const socket = await connectTo('vsock:3:8000', { timeoutMs: 5_000 });
 * ```
 *
 * Two subpaths load only their part: `@nitro-datakey/native/transport` (sockets, what the parent proxy
 * uses) and `@nitro-datakey/native/enclave-device` (/dev/nsm and loopback, what only an enclave uses).
 */
export * from './entries/transport.js';
export * from './entries/enclave-device.js';
