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
  /** The enclave's service connections (credentials, secrets), by service. */
  readonly #services = new Map<string, Set<Duplex>>();
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

  /** Service connections (one answer each) close themselves within seconds; a shutdown still waits for them. */
  addService(service: string, socket: Duplex): void {
    const set = this.#services.get(service) ?? new Set<Duplex>();
    this.#services.set(service, set);
    set.add(socket);
    socket.once('close', () => set.delete(socket));
  }

  onService(service: string): number {
    return this.#services.get(service)?.size ?? 0;
  }

  /** Waits up to `graceMs` for every connection to end by itself, then cuts what is left and waits for that. */
  async drain(graceMs: number): Promise<void> {
    const services = [...this.#services.values()].flatMap((set) => [...set]);
    const ended = Promise.all([...[...this.#forwarding.values()].map((f) => f.done), ...services.map(closed)]);
    const grace = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([ended, grace]);
    for (const f of this.#forwarding.values()) f.abort();
    for (const socket of services) socket.destroy();
    await Promise.all([...this.#forwarding.values()].map((f) => f.done));
  }
}

function closed(socket: Duplex): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}
