import { createRequire } from 'node:module';
import { NativeLayerError } from './errors.js';

/** The functions the C addon exports (native/*.c). */
export interface NativeAddon {
  nsmOpen(path: string): number;
  nsmRequest(fd: number, request: Uint8Array): Promise<Buffer>;
  nsmClose(fd: number): void;

  /** Bytes read, 0 at end of stream, -1 when nothing is ready. */
  fdRead(fd: number, buffer: Uint8Array): number;
  /** Bytes written, -1 when the socket buffer is full. */
  fdWrite(fd: number, buffer: Uint8Array): number;
  fdShutdownWrite(fd: number): void;
  fdClose(fd: number): void;
  /** 0, or the Error a non-blocking connect ended with. */
  socketError(fd: number): 0 | SystemError;
  unixSocketPair(): [number, number];
  /** The peer process of a connected AF_UNIX socket, as the kernel recorded it (SO_PEERCRED). */
  socketPeerCredentials(fd: number): { pid: number; uid: number; gid: number };
  Poller: new (fd: number, callback: (status: number, readable: boolean, writable: boolean) => void) => NativePoller;

  vsockSocket(): number;
  vsockBind(fd: number, cid: number, port: number): void;
  vsockListen(fd: number, backlog: number): void;
  vsockAccept(fd: number): { fd: number; cid: number; port: number } | null;
  vsockConnect(fd: number, cid: number, port: number): boolean;
  vsockAddress(fd: number): { cid: number; port: number };
  vsockPeerAddress(fd: number): { cid: number; port: number };
  vsockLocalCid(): number;
  readonly VMADDR_CID_ANY: number;

  /** Brings lo up; true if it was down. */
  loopbackUp(): boolean;

  /**
   * Arms SIGKILL-on-parent-death, resets signal dispositions, then execvp(file, [file, ...args]) in
   * the current environment: returns only by throwing (the exec failed; 125 exit if the parent is gone).
   */
  execWithParentDeathSignal(parentPid: number, file: string, args: readonly string[]): never;
}

/** Readiness of one fd from the libuv loop (uv_poll). */
export interface NativePoller {
  start(readable: boolean, writable: boolean): void;
  close(): void;
}

let addon: NativeAddon | undefined;

/** Loads build/Release/nitro_datakey_native.node once; a missing build is a typed error, not a crash. */
export function loadNativeAddon(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    // src/native.ts and dist/native.js both sit one level below the package root.
    addon = require('../build/Release/nitro_datakey_native.node') as NativeAddon;
  } catch (cause) {
    throw new NativeLayerError(
      'ERR_NATIVE_ADDON_UNAVAILABLE',
      'the native addon is not built (build/Release/nitro_datakey_native.node of @nitro-datakey/native): ' +
        'run "npm ci", or "npm rebuild @nitro-datakey/native" with g++ and python3 present',
      { cause },
    );
  }
  return addon;
}

/** An OS error from the addon: `code` is the errno name, as in Node's own system errors. */
export interface SystemError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
}
