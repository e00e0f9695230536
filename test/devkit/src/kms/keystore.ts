import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DevkitError } from '../errors.js';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface StoredKey {
  readonly keyId: string;
  readonly creationDate: number;
  description: string;
  state: KeyState;
  deletionDate?: number;
  pendingWindowInDays?: number;
  /** Base64 of the 256-bit AES key. Lives in memory and in state.json (0600) only. */
  readonly material: string;
  policy: string;
}

export interface StoredAlias {
  readonly name: string;
  targetKeyId: string;
  readonly creationDate: number;
}

interface StateFile {
  readonly format: 'nitro-kms-local/1';
  readonly keys: StoredKey[];
  readonly aliases: StoredAlias[];
}

/**
 * Keys and aliases, in memory and (with a data directory) in `state.json`. Every change is applied,
 * written to a temporary file, fsynced, renamed over the old file and the directory fsynced before the
 * caller acknowledges it: a crash at any point leaves the old state or the new one, never a mix, and
 * never loses an acknowledged change. Changes run one at a time; a failed write rolls the change back.
 */
export class KeyStore {
  readonly keys = new Map<string, StoredKey>();
  readonly aliases = new Map<string, StoredAlias>();
  readonly #dir: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #writes = 0;

  private constructor(dir: string | undefined) {
    this.#dir = dir;
  }

  static async open(dataDir?: string): Promise<KeyStore> {
    const store = new KeyStore(dataDir);
    if (dataDir === undefined) return store;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    let text: string | undefined;
    try {
      text = await readFile(join(dataDir, 'state.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      const state = JSON.parse(text) as StateFile;
      if (state.format !== 'nitro-kms-local/1') throw new DevkitError('ERR_KMS_DATA_DIR', `${dataDir}/state.json: unknown format ${String(state.format)}`);
      for (const key of state.keys) store.keys.set(key.keyId, key);
      for (const alias of state.aliases) store.aliases.set(alias.name, alias);
    }
    return store;
  }

  /** Applies `change`, persists, and resolves once durable. Concurrent calls run in order. */
  commit<T>(change: () => T): Promise<T> {
    const run = this.#queue.then(async () => {
      const snapshot = this.#snapshot();
      const result = change();
      try {
        await this.#persist();
      } catch (e) {
        this.#restore(snapshot);
        throw e;
      }
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  newKey(policy: string, description: string, now: number): StoredKey {
    return { keyId: randomUUID(), creationDate: now, description, state: 'Enabled', material: randomBytes(32).toString('base64'), policy };
  }

  async #persist(): Promise<void> {
    if (this.#dir === undefined) return;
    const state: StateFile = { format: 'nitro-kms-local/1', keys: [...this.keys.values()], aliases: [...this.aliases.values()] };
    const path = join(this.#dir, 'state.json');
    const tmp = join(this.#dir, `.state.json.${process.pid}.${this.#writes++}.tmp`);
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(JSON.stringify(state));
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    const dir = await open(this.#dir, 'r');
    try {
      await dir.sync(); // makes the rename itself durable
    } finally {
      await dir.close();
    }
  }

  #snapshot(): { keys: StoredKey[]; aliases: StoredAlias[] } {
    return structuredClone({ keys: [...this.keys.values()], aliases: [...this.aliases.values()] });
  }

  #restore(snapshot: { keys: StoredKey[]; aliases: StoredAlias[] }): void {
    this.keys.clear();
    this.aliases.clear();
    for (const key of snapshot.keys) this.keys.set(key.keyId, key);
    for (const alias of snapshot.aliases) this.aliases.set(alias.name, alias);
  }
}
