// The versioned state of a KV v2 mount (docs/vault.md): versions with deletion times and destruction,
// check-and-set, max_versions pruning, and the metadata documents Vault returns.
import type { Clock } from '../../../agent/util/clock.js';
import { rfc3339 } from './wire.js';

export interface Version {
  data: Record<string, unknown> | null;
  readonly createdTime: number;
  deletionTime: number | undefined;
  destroyed: boolean;
}

export interface Secret {
  readonly versions: Map<number, Version>;
  current: number;
  oldest: number;
  readonly createdTime: number;
  updatedTime: number;
  casRequired: boolean;
  maxVersions: number;
  customMetadata: Record<string, string> | null;
}

export type WriteResult = { readonly kind: 'written'; readonly version: number } | { readonly kind: 'error'; readonly message: string };

export class Kv2Store {
  readonly #clock: Clock;
  readonly secrets = new Map<string, Secret>();
  /** `cas_required` on the mount's config. */
  casRequired = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Whether a version is deleted (deletion time reached) or destroyed. */
  isGone(version: Version): boolean {
    return version.destroyed || (version.deletionTime !== undefined && version.deletionTime <= this.#clock.now());
  }

  /** Write a new version, enforcing check-and-set exactly as path_data.go does. */
  write(path: string, data: Record<string, unknown>, cas: number | undefined): WriteResult {
    const now = this.#clock.now();
    const existing = this.secrets.get(path);
    if ((this.casRequired || existing?.casRequired === true) && cas === undefined) return { kind: 'error', message: 'check-and-set parameter required for this call' };
    if (cas !== undefined && cas !== (existing?.current ?? 0)) return { kind: 'error', message: 'check-and-set parameter did not match the current version' };
    const secret: Secret = existing ?? { versions: new Map(), current: 0, oldest: 0, createdTime: now, updatedTime: now, casRequired: false, maxVersions: 0, customMetadata: null };
    secret.current += 1;
    secret.updatedTime = now;
    secret.versions.set(secret.current, { data: { ...data }, createdTime: now, deletionTime: undefined, destroyed: false });
    if (secret.oldest === 0) secret.oldest = 1;
    const keep = secret.maxVersions || 10;
    while (secret.versions.size > keep) {
      secret.versions.delete(secret.oldest);
      secret.oldest += 1;
    }
    this.secrets.set(path, secret);
    return { kind: 'written', version: secret.current };
  }

  /** The metadata of a key that has no version yet (a metadata write before any data write). */
  createMetadata(path: string): Secret {
    const now = this.#clock.now();
    const secret: Secret = { versions: new Map(), current: 0, oldest: 0, createdTime: now, updatedTime: now, casRequired: false, maxVersions: 0, customMetadata: null };
    this.secrets.set(path, secret);
    return secret;
  }

  /** A metadata write or patch moves `updated_time`, not any version's `created_time`. */
  touchMetadata(secret: Secret): void {
    secret.updatedTime = this.#clock.now();
  }

  /** Soft-delete versions (now); missing, destroyed or deleted versions are skipped. */
  softDelete(path: string, versions: readonly number[]): void {
    for (const version of this.#versions(path, versions)) if (!this.isGone(version)) version.deletionTime = this.#clock.now();
  }

  /** Undo soft deletes; destroyed versions stay destroyed. */
  undelete(path: string, versions: readonly number[]): void {
    for (const version of this.#versions(path, versions)) if (!version.destroyed) version.deletionTime = undefined;
  }

  /** Destroy versions for good: the data is dropped. */
  destroy(path: string, versions: readonly number[]): void {
    for (const version of this.#versions(path, versions)) {
      version.destroyed = true;
      version.data = null;
    }
  }

  /** The per-version metadata object of a read or write response. */
  versionMetadata(secret: Secret, number: number, version: Version): Record<string, unknown> {
    return {
      created_time: rfc3339(version.createdTime),
      custom_metadata: secret.customMetadata,
      deletion_time: version.deletionTime === undefined ? '' : rfc3339(version.deletionTime),
      destroyed: version.destroyed,
      version: number,
    };
  }

  /** The `data` of GET metadata/<path>. */
  metadata(secret: Secret): Record<string, unknown> {
    const versions: Record<string, unknown> = {};
    for (const [number, version] of secret.versions) {
      versions[String(number)] = { created_time: rfc3339(version.createdTime), deletion_time: version.deletionTime === undefined ? '' : rfc3339(version.deletionTime), destroyed: version.destroyed };
    }
    return {
      cas_required: secret.casRequired,
      created_time: rfc3339(secret.createdTime),
      current_version: secret.current,
      custom_metadata: secret.customMetadata,
      delete_version_after: '0s',
      max_versions: secret.maxVersions,
      oldest_version: secret.oldest,
      updated_time: rfc3339(secret.updatedTime),
      versions,
    };
  }

  /** The existing versions among `numbers`. */
  #versions(path: string, numbers: readonly number[]): Version[] {
    const secret = this.secrets.get(path);
    if (!secret) return [];
    return numbers.flatMap((n) => secret.versions.get(n) ?? []);
  }
}
