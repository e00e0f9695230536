import type { Duplex } from 'node:stream';
import type { ForwardResult } from './forward.js';

interface Forwarding {
  readonly route: string;
  readonly abort: () => void;
  readonly done: Promise<ForwardResult>;
}

/** Every connection the proxy holds open, so a shutdown can let them finish, then cut the rest. */
export class OpenConnections {
  readonly #forwarding = new Map<number, Forwarding>();
  readonly #perRoute = new Map<string, number>();
  readonly #credentials = new Set<Duplex>();
  #nextId = 1;

  get size(): number {
    return this.#forwarding.size;
  }

  onRoute(route: string): number {
    return this.#perRoute.get(route) ?? 0;
  }

  /** Tracks a forwarded connection until it is done; returns its id and the route's count with it. */
  addForwarding(route: string, forwarding: Omit<Forwarding, 'route'>): { id: number; onRoute: number } {
    const id = this.#nextId++;
    const onRoute = this.onRoute(route) + 1;
    this.#perRoute.set(route, onRoute);
    this.#forwarding.set(id, { route, ...forwarding });
    return { id, onRoute };
  }

  /** Forgets a finished connection; returns how many stay open on its route. */
  removeForwarding(id: number, route: string): number {
    this.#forwarding.delete(id);
    const left = Math.max(0, this.onRoute(route) - 1);
    this.#perRoute.set(route, left);
    return left;
  }

  /** Credential connections close themselves within seconds; a shutdown still waits for them. */
  addCredentials(socket: Duplex): void {
    this.#credentials.add(socket);
    socket.once('close', () => this.#credentials.delete(socket));
  }

  get credentials(): number {
    return this.#credentials.size;
  }

  /** Waits up to `graceMs` for every connection to end by itself, then cuts what is left and waits for that. */
  async drain(graceMs: number): Promise<void> {
    const ended = Promise.all([...[...this.#forwarding.values()].map((f) => f.done), ...[...this.#credentials].map(closed)]);
    const grace = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([ended, grace]);
    for (const f of this.#forwarding.values()) f.abort();
    for (const socket of this.#credentials) socket.destroy();
    await Promise.all([...this.#forwarding.values()].map((f) => f.done));
  }
}

function closed(socket: Duplex): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}
