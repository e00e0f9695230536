/**
 * `@nitro-datakey/native/transport`: vsock, TCP and Unix sockets behind one address syntax, and the fd
 * I/O under them. What the parent proxy needs, without the NSM device.
 */
export { NativeLayerError, type NativeLayerErrorCode } from '../errors.js';
export { loadNativeAddon, type NativeAddon, type NativePoller, type SystemError } from '../addon.js';
export { parseAddress, formatAddress, isLoopbackHost, type TransportAddress } from '../address.js';
export { FdSocket } from '../fd-socket.js';
export { VsockSocket, VsockServer, connectVsock, VSOCK_PARENT_CID, VMADDR_CID_ANY, VMADDR_PORT_ANY, type VsockAddress } from '../vsock.js';
export { connectTo, listenOn, listenUnix, claimUnixSocketPath, unixPeerCredentials, type TransportListener, type TransportSocket } from '../net.js';
