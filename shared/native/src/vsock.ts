import { EventEmitter } from 'node:events';
import { InvalidArgumentError } from '@nitro-datakey/shared/errors';
import { loadNativeAddon, type NativeAddon, type SystemError, type NativePoller } from './addon.js';
import { FdSocket } from './fd-socket.js';

/** The parent instance's CID as seen from an enclave. */
export const VSOCK_PARENT_CID = 3;
export const VMADDR_CID_ANY = 0xffffffff;
/** Ask the kernel for a free port. */
export const VMADDR_PORT_ANY = 0xffffffff;

export interface VsockAddress {
  readonly cid: number;
  readonly port: number;
}

/** A connected AF_VSOCK stream. */
export class VsockSocket extends FdSocket {
  readonly remoteAddress: VsockAddress;

  constructor(fd: number, remote: VsockAddress, addon: NativeAddon = loadNativeAddon(), options: { allowHalfOpen?: boolean } = {}) {
    super(fd, addon, options);
    this.remoteAddress = remote;
  }
}

/** Connects to `cid:port` without blocking the loop; rejects with a Node-style error (ECONNREFUSED, ETIMEDOUT, ...). */
export function connectVsock(cid: number, port: number, options: { timeoutMs?: number; allowHalfOpen?: boolean } = {}): Promise<VsockSocket> {
  const addon = loadNativeAddon();
  checkU32(cid, 'cid');
  checkU32(port, 'port');
  const fd = addon.vsockSocket();
  return new Promise<VsockSocket>((resolve, reject) => {
    let poller: NativePoller | undefined;
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: Error) => {
      if (timer) clearTimeout(timer);
      poller?.close();
      try {
        addon.fdClose(fd);
      } catch {
        // already closed
      }
      reject(error);
    };
    const done = () => {
      if (timer) clearTimeout(timer);
      poller?.close();
      resolve(new VsockSocket(fd, { cid, port }, addon, options.allowHalfOpen === undefined ? {} : { allowHalfOpen: options.allowHalfOpen }));
    };
    try {
      if (addon.vsockConnect(fd, cid, port)) return done();
    } catch (e) {
      return fail(e as SystemError);
    }
    poller = new addon.Poller(fd, () => {
      const error = addon.socketError(fd);
      if (error === 0) done();
      else fail(error);
    });
    poller.start(false, true);
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => fail(Object.assign(new Error(`connect ETIMEDOUT vsock:${cid}:${port}`), { code: 'ETIMEDOUT' })), options.timeoutMs);
    }
  });
}

/** Listens on AF_VSOCK; emits 'connection' (VsockSocket) and 'error'. */
export class VsockServer extends EventEmitter<{ connection: [VsockSocket]; error: [Error]; close: [] }> {
  readonly #addon: NativeAddon;
  #fd = -1;
  #poller: NativePoller | undefined;
  #address: VsockAddress | undefined;

  constructor(addon: NativeAddon = loadNativeAddon()) {
    super();
    this.#addon = addon;
  }

  /** Binds `cid` (default any) and `port` (default any free port) and starts accepting. */
  listen(port: number = VMADDR_PORT_ANY, cid: number = VMADDR_CID_ANY, backlog = 511): VsockAddress {
    checkU32(port, 'port');
    checkU32(cid, 'cid');
    if (this.#fd >= 0) throw Object.assign(new Error('the server is already listening'), { code: 'ERR_SERVER_ALREADY_LISTEN' });
    const fd = this.#addon.vsockSocket();
    try {
      this.#addon.vsockBind(fd, cid, port);
      this.#addon.vsockListen(fd, backlog);
      this.#address = this.#addon.vsockAddress(fd);
    } catch (e) {
      this.#addon.fdClose(fd);
      throw e;
    }
    this.#fd = fd;
    this.#poller = new this.#addon.Poller(fd, (status) =>
      status < 0 ? this.emit('error', Object.assign(new Error(`vsock accept poll failed (${status})`), { code: 'EIO' })) : this.#accept(),
    );
    this.#poller.start(true, false);
    return this.#address;
  }

  /** The bound address (with the port the kernel picked when asked for any). */
  address(): VsockAddress | undefined {
    return this.#address;
  }

  /** Stops accepting; open connections are left to their owners. */
  close(): void {
    if (this.#fd < 0) return;
    this.#poller?.close();
    this.#addon.fdClose(this.#fd);
    this.#fd = -1;
    this.emit('close');
  }

  #accept(): void {
    for (;;) {
      let next: { fd: number; cid: number; port: number } | null;
      try {
        next = this.#addon.vsockAccept(this.#fd);
      } catch (e) {
        // EMFILE and friends: report, keep listening; the kernel queue holds the connection.
        this.emit('error', e as Error);
        return;
      }
      if (next === null) return;
      this.emit('connection', new VsockSocket(next.fd, { cid: next.cid, port: next.port }, this.#addon));
    }
  }
}

function checkU32(value: number, label: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new InvalidArgumentError(`${label} must be an integer from 0 to 4294967295`);
  }
}
