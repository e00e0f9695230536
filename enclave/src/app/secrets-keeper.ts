import { readFile } from 'node:fs/promises';
import { NitroDatakeyError, parseSealedSecret, type SealedSecret, sealedSecretVersion } from '@nitro-datakey/shared';
import type { Logger } from '@nitro-datakey/shared/cli';
import { SecretRollbackError } from '../errors.js';
import type { AttestedKmsClient } from '../kms/attested-client.js';
import { openSecret } from '../sealed-secret.js';
import { fetchSecretEnvelope } from '../secrets-route-client.js';
import type { SecretItemConfig, SecretsConfig } from './config.js';
import { prepareSecretsDirectory, removeSecretFiles, writeSecretFile } from './secrets-dir.js';

/** What one look at one secret came to: opened at start, rotated, unchanged, or kept as it was (refused, failed). */
export interface SecretRefresh {
  readonly name: string;
  readonly outcome: 'opened' | 'rotated' | 'unchanged' | 'refused' | 'failed';
  /** The version now held (undefined: an envelope sealed without one). */
  readonly version: number | undefined;
  /** For `refused` and `failed`: the error code (ERR_SECRET_ROLLBACK, ERR_SECRETS_ROUTE_UNAVAILABLE, ...). */
  readonly code?: string;
}

export interface SecretsKeeperOptions {
  readonly log: Logger;
  /** Called after a secret file was replaced by a newer version (the supervisor signals the workload). */
  readonly onRotated?: (name: string, version: number | undefined) => void;
  /** Called for every look at a secret, for metrics. */
  readonly onRefresh?: (refresh: SecretRefresh) => void;
  /** Fetches an envelope from the parent (default: the secrets route); tests put a hostile parent here. */
  readonly fetchEnvelope?: (name: string) => Promise<SealedSecret>;
}

export const DEFAULT_SECRETS_REFRESH_MS = 60_000;

/**
 * The secrets of one enclave app: opened into the secrets directory at start (from the image or from the
 * parent), then, for the parent's, fetched again on a timer or on demand. An envelope is opened only if its
 * version is above the one held and not below the item's minVersion, so the parent, which stores and
 * serves the envelopes, can hold a rotation back but never roll one back or relabel one (the version is
 * in the encryption context KMS binds). A rotated secret replaces its file atomically: a reader sees the
 * old bytes or the new, never a mix.
 */
export class SecretsKeeper {
  readonly #config: SecretsConfig;
  readonly #client: AttestedKmsClient;
  readonly #options: SecretsKeeperOptions;
  readonly #held = new Map<string, number | undefined>();
  /** The last refusal logged per item: the same one again (every refresh while the parent holds on) is not logged twice. */
  readonly #lastRefusal = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<SecretRefresh[]> | undefined;
  #closed = false;

  constructor(config: SecretsConfig, client: AttestedKmsClient, options: SecretsKeeperOptions) {
    this.#config = config;
    this.#client = client;
    this.#options = options;
  }

  /** The names opened so far, in config order. */
  get opened(): string[] {
    return this.#config.items.filter((item) => this.#held.has(item.name)).map((item) => item.name);
  }

  /** The version held for each opened secret. */
  get versions(): ReadonlyMap<string, number | undefined> {
    return this.#held;
  }

  /** Opens every item; the first that fails fails the boot, and what was opened is removed again. */
  async openAll(): Promise<void> {
    await prepareSecretsDirectory(this.#config.dir);
    try {
      for (const item of this.#config.items) {
        const envelope = item.envelope === undefined ? await this.#fetch(item.name) : parseSealedSecret(await readFile(item.envelope));
        const version = await this.#open(item, envelope);
        this.#report({ name: item.name, outcome: 'opened', version });
      }
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** Fetches again every item the parent serves and takes what is newer; never throws (each failure is reported). */
  refresh(): Promise<SecretRefresh[]> {
    // Overlapping asks (the timer, a signal) share one pass.
    this.#inflight ??= this.#refreshAll().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Fetches on a timer (unref'd: it never holds the process up), when any item comes from the parent. */
  start(): void {
    if (this.#timer || !this.#config.items.some((item) => item.envelope === undefined)) return;
    this.#timer = setInterval(() => void this.refresh(), this.#config.refreshIntervalMs ?? DEFAULT_SECRETS_REFRESH_MS);
    this.#timer.unref();
  }

  /** Stops refreshing and removes every secret file (overwritten first). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#inflight?.catch(() => undefined);
    await removeSecretFiles(this.#config.dir, [...this.#held.keys()]);
    this.#held.clear();
  }

  async #refreshAll(): Promise<SecretRefresh[]> {
    const results: SecretRefresh[] = [];
    for (const item of this.#config.items) {
      if (item.envelope !== undefined || this.#closed) continue;
      const before = this.#held.get(item.name);
      let result: SecretRefresh;
      try {
        const envelope = await this.#fetch(item.name);
        const offered = sealedSecretVersion(envelope);
        if (this.#held.has(item.name) && offered === before) result = { name: item.name, outcome: 'unchanged', version: before };
        else {
          const version = await this.#open(item, envelope);
          result = { name: item.name, outcome: 'rotated', version };
          this.#options.onRotated?.(item.name, version);
        }
      } catch (e) {
        const code = e instanceof NitroDatakeyError ? e.code : 'ERR_UNKNOWN';
        // The file keeps the version held: a failed or refused rotation changes nothing the workload reads.
        result = { name: item.name, outcome: code === 'ERR_SECRET_ROLLBACK' ? 'refused' : 'failed', version: before, code };
        const message = (e as Error).message;
        if (this.#lastRefusal.get(item.name) !== message)
          this.#options.log('warn', 'secret not rotated', { name: item.name, held: before ?? null, code, error: message });
        this.#lastRefusal.set(item.name, message);
      }
      if (result.outcome === 'rotated' || result.outcome === 'unchanged') this.#lastRefusal.delete(item.name);
      this.#report(result);
      results.push(result);
    }
    return results;
  }

  /** Checks the version against the floor and the one held, opens through KMS, replaces the file; returns the version. */
  async #open(item: SecretItemConfig, envelope: SealedSecret): Promise<number | undefined> {
    const version = sealedSecretVersion(envelope);
    const rank = version ?? 0; // an envelope sealed without a version ranks below version 1
    if (item.minVersion !== undefined && rank < item.minVersion)
      throw new SecretRollbackError(`the envelope of ${item.name} has version ${version ?? 'none'}, below the item's minVersion ${item.minVersion}`);
    const held = this.#held.get(item.name);
    if (this.#held.has(item.name) && rank < (held ?? 0))
      throw new SecretRollbackError(`the envelope of ${item.name} has version ${version ?? 'none'}, below the version ${held ?? 'none'} this enclave holds`);
    const plaintext = await openSecret(this.#client, envelope, {
      keyId: item.keyId,
      name: item.name,
      ...(item.encryptionContext ? { expectedContext: item.encryptionContext } : {}),
    });
    try {
      await writeSecretFile(this.#config.dir, item.name, plaintext);
    } finally {
      plaintext.fill(0);
    }
    this.#held.set(item.name, version);
    return version;
  }

  #fetch(name: string): Promise<SealedSecret> {
    if (this.#options.fetchEnvelope) return this.#options.fetchEnvelope(name);
    const route = this.#config.route;
    if (route === undefined) throw new Error(`secrets.route is not configured for ${name}`); // the config reader refuses this first
    return fetchSecretEnvelope(route, name);
  }

  #report(refresh: SecretRefresh): void {
    const { log, onRefresh } = this.#options;
    if (refresh.outcome === 'opened' || refresh.outcome === 'rotated')
      log('info', `secret ${refresh.outcome}`, { name: refresh.name, version: refresh.version ?? null });
    onRefresh?.(refresh);
  }
}
