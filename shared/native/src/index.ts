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
 */
export { NativeLayerError, type NativeLayerErrorCode } from './errors.js';
export { loadNativeAddon, type NativeAddon, type NativePoller, type SystemError } from './addon.js';
export { parseAddress, formatAddress, isLoopbackHost, type TransportAddress } from './address.js';
export { FdSocket } from './fd-socket.js';
export { VsockSocket, VsockServer, connectVsock, VSOCK_PARENT_CID, VMADDR_CID_ANY, VMADDR_PORT_ANY, type VsockAddress } from './vsock.js';
export { connectTo, listenOn, listenUnix, claimUnixSocketPath, unixPeerCredentials, type TransportListener, type TransportSocket } from './net.js';
export { bringUpLoopback } from './loopback.js';
export { NsmDeviceTransport, openNsmDevice, NSM_DEVICE_PATH } from './nsm-device.js';
