// SecretRotationManager (DESIGN §8, the seed's rotation manager): write a new version of one key through
// the backend that owns the path, with check-and-set where the backend has it, and record an audit event.
import { AwsBackend } from '../backends/aws.js';
import { splitPath } from '../backends/backend.js';
import type { BackendName } from '../backends/backend.js';
import { VaultBackend } from '../backends/vault.js';
import { AgentError } from '../errors.js';
import type { SecretManager } from './manager.js';

export interface RotationResult {
  path: string;
  backend: BackendName;
  version: string;
}

export class SecretRotationManager {
  constructor(private readonly manager: SecretManager) {}

  /** Write `newValue` as the new version of `path` in the backend that serves it now; never logs the value. */
  async rotateSecret(path: string, newValue: string, options: { backend?: BackendName } = {}): Promise<RotationResult> {
    const owner = await this.#owner(path, options.backend);
    const result = await writeValue(owner, path, newValue);
    const { config, log } = await this.manager.context();
    if (config.log.audit) log.child({ component: 'audit' }).info({ audit: true, event: 'rotate', path, backend: result.backend, version: result.version, outcome: 'written' }, `secret rotated: ${path}`);
    return result;
  }

  /** The backend that holds `path` today (the chain's answer), or the forced one. */
  async #owner(path: string, backend: BackendName | undefined): Promise<VaultBackend | AwsBackend> {
    const resolution = await this.manager.resolve({ kind: 'value', path }, backend);
    const name = resolution.status === 'found' ? resolution.backend : backend;
    const target = (await this.manager.backends()).find((each) => each.name === name);
    if (target instanceof VaultBackend || target instanceof AwsBackend) return target;
    if (name === undefined) throw new AgentError('ERR_SECRET_NOT_FOUND', `Secret not found: ${path} (pass a backend to create it)`, { details: { path } });
    throw new AgentError('ERR_USAGE', `rotate: the ${name} backend is read-only; rotate "${path}" in Vault or AWS Secrets Manager`, { details: { path, backend: name } });
  }
}

/** One key of one secret, written with the backend's own concurrency guard. */
async function writeValue(backend: VaultBackend | AwsBackend, path: string, value: string): Promise<RotationResult> {
  if (backend instanceof AwsBackend) return { path, backend: 'aws', ...(await backend.putValue(path, value)) };
  const { secret, key } = splitPath(path);
  const current = await backend.readSecret(secret);
  // Check-and-set on the version just read: a write in between fails with ERR_CAS_CONFLICT, nothing is lost.
  const { version } = await backend.write(secret, { ...(current?.data ?? {}), [key]: value }, { cas: current === undefined ? 0 : Number(current.version) });
  return { path, backend: 'vault', version };
}
