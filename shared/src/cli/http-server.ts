import type { Server } from 'node:http';

/** Bounds for a small HTTP listener that only answers short requests (metrics, admin endpoints). */
export interface SmallHttpServerLimits {
  /** Open connections at once; more are closed as they arrive. */
  readonly maxConnections: number;
  /** Time for the whole request head, and for the whole request. */
  readonly requestTimeoutMs: number;
}

/**
 * Caps and times out a listener: a client that opens connections and never finishes a request would
 * otherwise hold one descriptor each, for ever, and starve the process's other listeners.
 */
export function limitHttpServer(server: Server, limits: SmallHttpServerLimits): void {
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.requestTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = Math.min(5_000, limits.requestTimeoutMs);
  // An idle socket that never sends a byte is not a request yet: the socket timeout covers it.
  server.timeout = limits.requestTimeoutMs;
}

/**
 * Stops `server`: no new connections, idle keep-alive connections closed now, requests in flight given
 * `graceMs` to finish, then every connection closed (a half-sent request never holds a shutdown).
 */
export function stopHttpServer(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
