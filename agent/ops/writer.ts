// What `migrate`'s plan (migrate-plan.ts) needs from the backend it writes to: read a whole secret with its
// version, create a secret only when it does not exist, merge keys into an existing one, or set one key - each
// with the backend's own check-and-set. A narrow port that tests fake in memory, made from the writable backend
// (agent/backends/writable.ts) and nothing else.
import type { StoredSecret, WritableBackend, WritableBackendName } from '../backends/writable.js';

export type { StoredSecret } from '../backends/writable.js';

export interface SecretWriter {
  readonly backend: WritableBackendName;
  /** Every key of `secret` and its version; undefined when it does not exist. */
  read(secret: string): Promise<StoredSecret | undefined>;
  /** Create `secret` holding `data`; ERR_CAS_CONFLICT when it exists by the time the write lands. */
  create(secret: string, data: Readonly<Record<string, string>>): Promise<{ version: string }>;
  /** Set the keys of `data` on the existing `secret` (other keys kept); ERR_CAS_CONFLICT when it changed since `read`. */
  merge(secret: string, data: Readonly<Record<string, string>>, read: StoredSecret): Promise<{ version: string }>;
}

/** The writer over a writable backend of the chain. */
export function secretWriter(backend: WritableBackend): SecretWriter {
  return {
    backend: backend.name,
    read: (secret) => backend.readSecret(secret),
    create: (secret, data) => backend.createSecret(secret, data),
    merge: (secret, data, read) => backend.mergeSecret(secret, data, read),
  };
}
