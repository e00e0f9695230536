import { randomBytes, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { makeDirectory } from '@nitro-datakey/shared/cli';
import { join } from 'node:path';
import { DevkitError } from '../errors.js';

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface StoredKey {
  readonly keyId: string;
  readonly creationDate: number;
  description: string;
  state: KeyState;
  deletionDate?: number;
  pendingWindowInDays?: number;
  /**
   * Base64 of the key material: the 256-bit AES key, or for a key-agreement key its PKCS#8 DER private
   * key. Lives in memory and in state.json (0600) only.
   */
  readonly material: string;
  policy: string;
  /** Absent: a symmetric ENCRYPT_DECRYPT key (SYMMETRIC_DEFAULT), as every key of earlier versions. */
  readonly keyUsage?: 'ENCRYPT_DECRYPT' | 'KEY_AGREEMENT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC';
  readonly keySpec?:
    | 'SYMMETRIC_DEFAULT'
    | 'ECC_NIST_P256'
    | 'ECC_NIST_P384'
    | 'ECC_NIST_P521'
    | 'ECC_SECG_P256K1'
    | 'RSA_2048'
    | 'RSA_3072'
    | 'RSA_4096'
    | 'HMAC_224'
    | 'HMAC_256'
    | 'HMAC_384'
    | 'HMAC_512';
  /** An asymmetric key's public key (key agreement, signing), SubjectPublicKeyInfo DER in base64. */
  readonly publicKey?: string;
  /** Earlier key material (base64), oldest first: a blob of material version n uses [n] (the current is `material`). */
  previousMaterials?: string[];
  /** One entry per rotation, oldest first. */
  rotations?: { date: number; type: 'AUTOMATIC' | 'ON_DEMAND' }[];
  /** Automatic rotation, as EnableKeyRotation sets it (the period is recorded; rotations here are on demand). */
  rotationPeriodInDays?: number;
  /** Resource tags, TagKey -> TagValue. */
  tags?: Record<string, string>;
  /** Grants on the key (CreateGrant), in the order made. */
  grants?: StoredGrant[];
}

/** A grant: who may use the key for which operations, under which encryption-context constraint. */
export interface StoredGrant {
  readonly grantId: string;
  readonly grantToken: string;
  readonly name?: string;
  readonly granteePrincipal: string;
  readonly retiringPrincipal?: string;
  readonly operations: readonly string[];
  readonly constraints?: { readonly EncryptionContextSubset?: Record<string, string>; readonly EncryptionContextEquals?: Record<string, string> };
  readonly creationDate: number;
  readonly issuingAccount: string;
}

export interface StoredAlias {
  readonly name: string;
  targetKeyId: string;
  readonly creationDate: number;
  /** When UpdateAlias last re-pointed it (AliasListEntry.LastUpdatedDate); the creation date until then. */
  lastUpdatedDate?: number;
}

interface StateFile {
  readonly format: 'nitro-kms-local/1';
  readonly keys: StoredKey[];
  readonly aliases: StoredAlias[];
}

/**
 * Keys and aliases, in memory and (with a data directory) in `state.json`. A change is made durable
 * before anyone can see it: it is computed, written to a temporary file, fsynced, renamed over the old
 * file and the directory fsynced, and only then applied in memory and acknowledged. A crash at any
 * point leaves the old state or the new one; a failed write leaves the old state, which no request
 * ever saw changed. Changes run one at a time.
 */
export class KeyStore {
  readonly keys = new Map<string, StoredKey>();
  readonly aliases = new Map<string, StoredAlias>();
  readonly #dir: string | undefined;
  readonly #write: ((json: string) => Promise<void>) | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #writes = 0;
  #lockPath: string | undefined;

  private constructor(dir: string | undefined, write: ((json: string) => Promise<void>) | undefined) {
    this.#dir = dir;
    this.#write = write;
  }

  /** `options.writeState` replaces the file write (tests use it to make a write slow or fail). */
  static async open(dataDir?: string, options: { writeState?: (json: string) => Promise<void> } = {}): Promise<KeyStore> {
    const store = new KeyStore(dataDir, options.writeState);
    if (dataDir === undefined) return store;
    makeDirectory(dataDir, '--data-dir');
    await store.#lock(dataDir);
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

  /**
   * Runs `change` against the current state, makes the result durable, then applies it in memory and
   * resolves. Between the change and the end of the write, every reader still sees the old state: the
   * change runs and is undone in one synchronous step. Concurrent calls run in order.
   */
  commit<T>(change: () => T): Promise<T> {
    const run = this.#queue.then(async () => {
      const before = this.#snapshot();
      let result: T;
      let after: StateSnapshot;
      try {
        result = change();
        after = this.#snapshot();
      } finally {
        this.#apply(before); // in place, in the same tick: nobody observed the change
      }
      await this.#persist(after);
      this.#apply(after);
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Takes the data directory for this process: a lock file created exclusively, holding our pid. It
   * also proves the directory is writable before the server reports ready. A lock whose process is gone
   * (a crash) is taken over; one held by a live process is refused.
   */
  async #lock(dataDir: string): Promise<void> {
    const path = join(dataDir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        try {
          await handle.writeFile(`${process.pid}\n`);
          await handle.sync();
        } finally {
          await handle.close();
        }
        this.#lockPath = path;
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST')
          throw new DevkitError('ERR_KMS_DATA_DIR', `${dataDir} is not writable (${code ?? String(e)}): nothing could be persisted`, { cause: e });
        const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
          throw new DevkitError('ERR_KMS_DATA_DIR', `${dataDir} is in use by another nitro-kms-local (pid ${holder}): one server per data directory`);
        }
        await unlink(path).catch(() => undefined); // stale: its process is gone
      }
    }
    throw new DevkitError('ERR_KMS_DATA_DIR', `${dataDir}: could not take the lock`);
  }

  /** Releases the data directory. */
  async close(): Promise<void> {
    if (this.#lockPath === undefined) return;
    const path = this.#lockPath;
    this.#lockPath = undefined;
    await unlink(path).catch(() => undefined);
  }

  newKey(policy: string, description: string, now: number): StoredKey {
    return { keyId: randomUUID(), creationDate: now, description, state: 'Enabled', material: randomBytes(32).toString('base64'), policy };
  }

  async #persist(snapshot: StateSnapshot): Promise<void> {
    const state: StateFile = { format: 'nitro-kms-local/1', keys: snapshot.keys, aliases: snapshot.aliases };
    if (this.#write) return this.#write(JSON.stringify(state));
    if (this.#dir === undefined) return;
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

  #snapshot(): StateSnapshot {
    return structuredClone({ keys: [...this.keys.values()], aliases: [...this.aliases.values()] });
  }

  /**
   * Makes the live maps equal `snapshot`, updating existing objects in place: a request that holds a
   * key or alias it looked up earlier keeps holding the live object.
   */
  #apply(snapshot: StateSnapshot): void {
    syncInPlace(this.keys, structuredClone(snapshot.keys), (k) => k.keyId);
    syncInPlace(this.aliases, structuredClone(snapshot.aliases), (a) => a.name);
  }
}

interface StateSnapshot {
  readonly keys: StoredKey[];
  readonly aliases: StoredAlias[];
}

function syncInPlace<T extends object>(live: Map<string, T>, next: readonly T[], id: (item: T) => string): void {
  const seen = new Set<string>();
  for (const item of next) {
    const key = id(item);
    seen.add(key);
    const current = live.get(key);
    if (current === undefined) {
      live.set(key, item);
      continue;
    }
    for (const field of Object.keys(current)) delete (current as Record<string, unknown>)[field];
    Object.assign(current, item);
  }
  for (const key of [...live.keys()]) if (!seen.has(key)) live.delete(key);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}
