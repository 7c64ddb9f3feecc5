// SecretRotationManager (README.md "Library", the seed's rotation manager): write a new version of one key through
// the backend that owns the path (its WritableBackend, agent/backends/writable.ts), with that backend's
// check-and-set, and record an audit event.
// `rotateKey` is the same logic for `secrets-agent rotate`, which brings its own store instead of a manager.
import type { Backend, BackendName, SecretRef } from '../backends/backend.js';
import { isWritable } from '../backends/writable.js';
import type { WritableBackend } from '../backends/writable.js';
import { AgentError, isAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Resolution } from '../store/store.js';
import type { SecretManager } from './manager.js';

export interface RotationResult {
  path: string;
  backend: BackendName;
  version: string;
}

/** Where a rotation finds the owner of a path: the backends of a chain and a way to resolve through it. */
export interface RotationSource {
  readonly backends: readonly Backend[];
  resolve(ref: SecretRef, backend: BackendName | undefined): Promise<Resolution>;
}

export class SecretRotationManager {
  constructor(private readonly manager: SecretManager) {}

  /** Write `newValue` as the new version of `path` in the backend that serves it now; never logs the value. */
  async rotateSecret(path: string, newValue: string, options: { backend?: BackendName } = {}): Promise<RotationResult> {
    const source: RotationSource = { backends: await this.manager.backends(), resolve: (ref, backend) => this.manager.resolve(ref, backend) };
    const { config, log } = await this.manager.context();
    return rotateKey(source, path, newValue, { ...options, ...(config.log.audit ? { audit: log } : {}) });
  }
}

/**
 * Write `value` as a new version of `path` in the backend that serves it now (or `backend`), with the
 * backend's check-and-set; with `audit`, one `component: audit` record of the attempt, never the value.
 */
export async function rotateKey(source: RotationSource, path: string, value: string, options: { backend?: BackendName; audit?: Logger } = {}): Promise<RotationResult> {
  let backend = options.backend;
  try {
    const owner = await ownerOf(source, path, options.backend);
    backend = owner.name;
    const { version } = await owner.writeKey(path, value);
    const result: RotationResult = { path, backend: owner.name, version };
    if (options.audit) auditRotation(options.audit, { ...result, outcome: 'written' });
    return result;
  } catch (error) {
    if (options.audit) auditRotation(options.audit, { path, backend, outcome: isAgentError(error, 'ERR_CAS_CONFLICT') ? 'conflict' : 'failed', code: isAgentError(error) ? error.code : undefined });
    throw error;
  }
}

/** Why: every rotation attempt, written or not, leaves one audit line an operator can grep for. */
function auditRotation(log: Logger, record: { path: string; backend: string | undefined; version?: string; outcome: 'written' | 'conflict' | 'failed'; code?: string | undefined }): void {
  const audit = log.child({ component: 'audit' });
  const message = record.outcome === 'written' ? `secret rotated: ${record.path}` : `secret rotation ${record.outcome === 'conflict' ? 'lost a check-and-set race' : 'failed'}: ${record.path}`;
  const line = { audit: true, event: 'rotate', ...record };
  if (record.outcome === 'written') audit.info(line, message);
  else audit.warn(line, message);
}

/** The backend that holds `path` today (the chain's answer), or the forced one, when it can be written. */
async function ownerOf(source: RotationSource, path: string, backend: BackendName | undefined): Promise<WritableBackend> {
  const resolution = await source.resolve({ kind: 'value', path }, backend);
  if (resolution.status === 'failed') throw resolution.error;
  const name = resolution.status === 'found' ? resolution.backend : backend;
  const target = source.backends.find((each) => each.name === name);
  if (isWritable(target)) return target;
  if (name === undefined) throw new AgentError('ERR_SECRET_NOT_FOUND', `Secret not found: ${path} (pass a backend to add the key to an existing secret)`, { details: { path } });
  throw new AgentError('ERR_USAGE', `rotate: the ${name} backend is read-only; rotate "${path}" in Vault or AWS Secrets Manager`, { details: { path, backend: name } });
}
