import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (for configs that must name one up front). */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
