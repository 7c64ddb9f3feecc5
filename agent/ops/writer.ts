// One write interface over the two backends that can be written (Vault KV v2 and AWS Secrets Manager), for
// `migrate` and `rotate`: read a whole secret with its version, create a secret only when it does not exist,
// merge keys into an existing one, or set one key - each with the backend's own check-and-set.
import { isAws, isVault } from '../backends/create.js';
import type { AwsBackend } from '../backends/aws.js';
import type { Backend, BackendName } from '../backends/backend.js';
import { splitPath } from '../backends/backend.js';
import type { VaultBackend } from '../backends/vault.js';
import { AgentError } from '../errors.js';

export interface StoredSecret {
  readonly data: Readonly<Record<string, string>>;
  readonly version: string;
}

export interface SecretWriter {
  readonly backend: Extract<BackendName, 'vault' | 'aws'>;
  /** Every key of `secret` and its version; undefined when it does not exist. */
  read(secret: string): Promise<StoredSecret | undefined>;
  /** Create `secret` holding `data`; ERR_CAS_CONFLICT when it exists by the time the write lands. */
  create(secret: string, data: Readonly<Record<string, string>>): Promise<{ version: string }>;
  /** Set the keys of `data` on the existing `secret` (other keys kept); ERR_CAS_CONFLICT when it changed since `read`. */
  merge(secret: string, data: Readonly<Record<string, string>>, read: StoredSecret): Promise<{ version: string }>;
  /** A new version of one key `a/b/key` of an existing secret, check-and-set on the version just read. */
  setKey(path: string, value: string): Promise<{ version: string }>;
}

/** The writer for `backend`, or undefined when the backend is read-only (file, env). */
export function secretWriter(backend: Backend): SecretWriter | undefined {
  if (isVault(backend)) return vaultWriter(backend);
  if (isAws(backend)) return awsWriter(backend);
  return undefined;
}

/** Why: KV v2 check-and-set is exact: cas=0 creates only, cas=N writes only over version N. */
function vaultWriter(vault: VaultBackend): SecretWriter {
  return {
    backend: 'vault',
    read: (secret) => vault.readSecret(secret),
    create: (secret, data) => vault.write(secret, { ...data }, { cas: 0 }),
    merge: (secret, data, read) => vault.write(secret, { ...read.data, ...data }, { cas: Number(read.version) }),
    async setKey(path, value) {
      const { secret, key } = splitPath(path);
      if (secret === '') throw new AgentError('ERR_USAGE', `vault: "${path}" names no secret; vault paths are <secret>/<key>`, { details: { backend: 'vault', path } });
      const current = await vault.readSecret(secret);
      if (current === undefined) throw notFound('vault', path, `the secret "${secret}" does not exist`);
      // Check-and-set on the version just read: a write in between fails with ERR_CAS_CONFLICT, nothing is lost.
      return vault.write(secret, { ...current.data, [key]: value }, { cas: Number(current.version) });
    },
  };
}

/** Why: AWS has no conditional put; the backend compares AWSCURRENT with the version it read before it puts. */
function awsWriter(aws: AwsBackend): SecretWriter {
  return {
    backend: 'aws',
    async read(secret) {
      const outcome = await aws.fetch({ kind: 'map', path: secret });
      if (outcome.status === 'not_found') return undefined;
      if (outcome.status === 'found') {
        if (typeof outcome.data === 'string') throw new AgentError('ERR_BACKEND_DATA', `aws backend: the secret "${secret}" is a plain value, not a JSON object of keys`, { details: { backend: 'aws', path: secret } });
        return { data: outcome.data, version: outcome.version ?? '' };
      }
      if (outcome.status === 'error') throw outcome.error;
      throw new AgentError(outcome.status === 'denied' ? 'ERR_SECRET_DENIED' : 'ERR_BACKEND_UNAVAILABLE', `aws backend: cannot read "${secret}": ${outcome.reason}`, { details: { backend: 'aws', path: secret } });
    },
    create: async (secret, data) => ({ version: (await aws.createSecret(secret, data)).version }),
    merge: async (secret, data) => ({ version: (await aws.createSecret(secret, data, { merge: true })).version }),
    setKey: (path, value) => aws.putValue(path, value),
  };
}

/** Why: rotate writes new versions of existing secrets only; creating one is migrate's job. */
function notFound(backend: BackendName, path: string, why: string): AgentError {
  return new AgentError('ERR_SECRET_NOT_FOUND', `${backend}: cannot rotate "${path}": ${why}; rotate writes new versions of existing secrets - create it first (migrate)`, { details: { backend, path } });
}
