import { Duplex } from 'node:stream';
import { loadNativeAddon, type NativeAddon, type SystemError, type NativePoller } from './addon.js';

const READ_CHUNK = 64 * 1024;

/**
 * A Duplex over a connected, non-blocking stream socket fd that Node's `net` cannot own (AF_VSOCK).
 * Readiness comes from libuv (uv_poll): no thread per socket, no blocking call on the loop.
 * Backpressure both ways: reading stops while the consumer is full; a write that does not fit
 * waits for the socket to drain before the stream takes more. end() sends shutdown(SHUT_WR) once
 * every byte is out; the peer's shutdown ends the readable side.
 */
export class FdSocket extends Duplex {
  readonly #addon: NativeAddon;
  #fd: number;
  readonly #poller: NativePoller;
  #wantRead = false;
  #pendingWrite: { data: Uint8Array; callback: (error?: Error | null) => void } | undefined;
  #bytesRead = 0;
  #bytesWritten = 0;

  /** `allowHalfOpen: false` ends our writes when the peer ends its (what a request/response client wants). */
  constructor(fd: number, addon: NativeAddon = loadNativeAddon(), options: { allowHalfOpen?: boolean } = {}) {
    super({ allowHalfOpen: options.allowHalfOpen ?? true, readableHighWaterMark: READ_CHUNK, writableHighWaterMark: READ_CHUNK });
    this.#addon = addon;
    this.#fd = fd;
    this.#poller = new addon.Poller(fd, (status, readable, writable) => this.#onReady(status, readable, writable));
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  override _read(): void {
    this.#wantRead = true;
    this.#drainReads();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#pendingWrite = { data: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), callback };
    this.#flushWrite();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // _final runs after the last _write's callback, so every byte has reached the kernel.
    try {
      this.#addon.fdShutdownWrite(this.#fd);
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#pendingWrite?.callback(error ?? new Error('socket destroyed'));
    this.#pendingWrite = undefined;
    this.#poller.close();
    if (this.#fd >= 0) {
      const fd = this.#fd;
      this.#fd = -1;
      try {
        this.#addon.fdClose(fd);
      } catch {
        // the fd is gone either way
      }
    }
    callback(error);
  }

  #updatePolling(): void {
    if (this.#fd < 0) return;
    this.#poller.start(this.#wantRead, this.#pendingWrite !== undefined);
  }

  #onReady(status: number, readable: boolean, writable: boolean): void {
    if (this.destroyed) return;
    if (status < 0) {
      this.destroy(socketError(this.#addon, this.#fd) ?? Object.assign(new Error(`poll error ${status}`), { code: 'EIO' }));
      return;
    }
    if (writable) this.#flushWrite();
    if (readable) this.#drainReads();
  }

  #drainReads(): void {
    while (this.#wantRead && !this.destroyed) {
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      let n: number;
      try {
        n = this.#addon.fdRead(this.#fd, buffer);
      } catch (e) {
        this.destroy(e as SystemError);
        return;
      }
      if (n < 0) break; // nothing ready: wait for the poller
      if (n === 0) {
        this.#wantRead = false;
        this.push(null);
        break;
      }
      this.#bytesRead += n;
      // push() returning false is the consumer saying "enough": stop until the next _read.
      this.#wantRead = this.push(buffer.subarray(0, n));
    }
    this.#updatePolling();
  }

  #flushWrite(): void {
    const pending = this.#pendingWrite;
    if (!pending || this.destroyed) return;
    while (pending.data.byteLength > 0) {
      let n: number;
      try {
        n = this.#addon.fdWrite(this.#fd, pending.data);
      } catch (e) {
        this.#pendingWrite = undefined;
        pending.callback(e as SystemError);
        return;
      }
      if (n < 0) {
        this.#updatePolling(); // wait until writable
        return;
      }
      this.#bytesWritten += n;
      pending.data = pending.data.subarray(n);
    }
    this.#pendingWrite = undefined;
    this.#updatePolling();
    pending.callback();
  }
}

function socketError(addon: NativeAddon, fd: number): SystemError | undefined {
  if (fd < 0) return undefined;
  try {
    const e = addon.socketError(fd);
    return e === 0 ? undefined : e;
  } catch (e) {
    return e as SystemError;
  }
}
