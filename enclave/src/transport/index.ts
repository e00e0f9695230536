export { FdSocket } from './fd-socket.js';
export { VsockSocket, VsockServer, connectVsock, VSOCK_PARENT_CID, VMADDR_CID_ANY, VMADDR_PORT_ANY, type VsockAddress } from './vsock.js';
export { parseAddress, formatAddress, isLoopbackHost, AddressError, type TransportAddress } from './address.js';
export { connectTo, listenOn, type TransportListener, type TransportSocket } from './net.js';
