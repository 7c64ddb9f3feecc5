// The one interface the operator commands write through (docs/design.md "The pipeline"): `rotate` and the
// library's SecretRotationManager, `migrate` and `audit` reach Vault KV v2 and AWS Secrets Manager only through
// it, each write with the backend's own check-and-set. VaultBackend and AwsBackend implement it; file and env
// are read-only. The chain's own backend instances implement it, so a command never builds a second client.
import type { Backend, SecretRef } from './backend.js';
import { WRITABLE_BACKEND_NAMES } from './names.js';
import type { WritableBackendName } from './names.js';

export type { WritableBackendName } from './names.js';

/** A whole secret as stored: every key, and the version it was read at. */
export interface StoredSecret {
  readonly data: Readonly<Record<string, string>>;
  readonly version: string;
  /**
   * The keys as stored, with their JSON types (Vault KV: `false`, `5`, `{"rps": 5}`, `null`): what a write of one
   * key gives back for the others, so rotating one key never turns a boolean into the string "false".
   */
  readonly stored?: Readonly<Record<string, unknown>>;
}

/** The version and last change of the secret behind a reference, for `audit`; null where it is not known. */
export interface SecretHistory {
  readonly version: string | null;
  /** When the current version was written (Vault: its `created_time`; AWS: the AWSCURRENT version's CreatedDate). */
  readonly lastChanged: Date | null;
  /** The secret's labels: Vault KV v2 `custom_metadata`, AWS tags (where the rotation policy lives); undefined when none. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The backend's name for the secret that holds the reference (Vault secret path, AWS SecretId). */
  readonly secret?: string;
}

export interface WritableBackend extends Backend {
  readonly name: WritableBackendName;
  /** Every key of `secret` and its version; undefined when it does not exist. */
  readSecret(secret: string): Promise<StoredSecret | undefined>;
  /** migrate: create `secret` holding `data`; ERR_CAS_CONFLICT when it exists by the time the write lands. */
  createSecret(secret: string, data: Readonly<Record<string, string>>): Promise<{ version: string }>;
  /**
   * migrate --overwrite: set the keys of `data` on the existing `secret`, other keys kept; ERR_CAS_CONFLICT when
   * it changed in between. Vault writes over exactly the version `read` holds (KV v2 check-and-set); AWS, which
   * has no conditional put, re-reads AWSCURRENT and puts only if it did not move before the put.
   */
  mergeSecret(secret: string, data: Readonly<Record<string, string>>, read: StoredSecret): Promise<{ version: string }>;
  /**
   * rotate: a new version of one key `a/b/key` of an existing secret, check-and-set on the version just read
   * (ERR_CAS_CONFLICT on a race); ERR_SECRET_NOT_FOUND when there is nothing to rotate.
   */
  writeKey(path: string, value: string): Promise<{ version: string }>;
  /** audit: the version and last change of the secret that holds `ref`; both null when there is none. */
  history(ref: SecretRef): Promise<SecretHistory>;
  /**
   * rotate --every: set (string) or remove (null) labels on the secret that holds `ref`, every other label kept
   * (Vault: a metadata PATCH of `custom_metadata`; AWS: TagResource/UntagResource); no version is written.
   * ERR_SECRET_NOT_FOUND when no secret holds it.
   */
  setLabels(ref: SecretRef, labels: Readonly<Record<string, string | null>>): Promise<void>;
  /**
   * Auto-rotation: a new version of key `a/b/key` (or of the plain secret) written only over version `expected`
   * (Vault: `cas` = expected; AWS: a ClientRequestToken derived from the secret and `expected`), so racing writers
   * make one version. ERR_CAS_CONFLICT when another writer won.
   */
  replaceKey(path: string, value: string, expected: string): Promise<{ version: string }>;
  /** Only the labels of the secret that holds `ref` (one metadata read, no history), where the data read does not carry them. */
  readLabels?(ref: SecretRef): Promise<Readonly<Record<string, string>> | undefined>;
  /** The stored secret whose history `history(ref)` reads: references with the same key share one read. */
  historyKey(ref: SecretRef): string;
  /**
   * audit --all: every secret at or under `prefix` (no leading or trailing "/"; "" is everything), sorted;
   * undefined as soon as there are more than `limit`.
   */
  listSecrets(prefix: string, limit: number): Promise<string[] | undefined>;
}

const METHODS = ['readSecret', 'createSecret', 'mergeSecret', 'writeKey', 'history', 'historyKey', 'listSecrets', 'setLabels', 'replaceKey'] as const;

/** True for a backend the operator commands can write to; a structural check that loads neither node-vault nor the AWS SDK. */
export function isWritable(backend: Backend | undefined): backend is WritableBackend {
  if (backend === undefined || !(WRITABLE_BACKEND_NAMES as readonly string[]).includes(backend.name)) return false;
  const members = backend as unknown as Readonly<Record<string, unknown>>;
  return METHODS.every((method) => typeof members[method] === 'function');
}
