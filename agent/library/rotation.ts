// SecretRotationManager (README.md "Library", the seed's rotation manager): write a new version of one key through
// the backend that owns the path (its WritableBackend, agent/backends/writable.ts), with that backend's
// check-and-set, and record an audit event; record and read the path's rotation schedule (agent/rotation/).
// `rotateKey` is the same logic for `secrets-agent rotate`, which brings its own store instead of a manager.
import type { Backend, BackendName, SecretRef } from '../backends/backend.js';
import { splitPath } from '../backends/backend.js';
import { DurationError } from '../config/duration.js';
import { GENERATE_MAX, GENERATE_MIN } from '../ops/generate.js';
import type { Charset } from '../ops/generate.js';
import { makePolicy } from '../rotation/policy.js';
import type { RotationPolicy } from '../rotation/policy.js';
import { assertServedBy } from '../rotation/owner.js';
import { readSchedule, recordPolicy } from '../rotation/schedule.js';
import type { RotationSchedule } from '../rotation/schedule.js';
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

/** `scheduleRotation`'s options: the seed's `days`, and what `rotate --every` takes besides. */
export interface ScheduleOptions {
  /** The rotation period in days (the seed's `schedule_rotation(path, days=90)`). */
  readonly days: number;
  /** Length of a generated value: the secret is one the agent may generate (`rotation-generate`). */
  readonly generate?: number;
  readonly charset?: Charset;
  /** Let running agents with `rotation.auto: true` write its next value when due (needs `generate`). */
  readonly auto?: boolean;
  readonly backend?: BackendName;
}

/** The seed's `getRotationSchedule` answer. */
export interface RotationScheduleView {
  readonly period: string | null;
  readonly lastChanged: Date | null;
  readonly due: Date | null;
  readonly auto: boolean;
}

export class SecretRotationManager {
  constructor(private readonly manager: SecretManager) {}

  /**
   * Record the rotation policy of `path` with the secret itself (Vault `custom_metadata`, AWS tags; the other
   * labels kept); writes no version. Same as `secrets-agent rotate PATH --every <days>d [--generate N --auto]`.
   */
  async scheduleRotation(path: string, options: ScheduleOptions): Promise<RotationScheduleView> {
    const policy = policyFromOptions(path, { period: options.days, generate: options.generate, charset: options.charset, auto: options.auto });
    const owner = await ownerOf(await this.#source(), path, options.backend);
    await recordPolicy(owner, path, policy);
    return view(await readSchedule(owner, path));
  }

  /** `{ period, lastChanged, due, auto }` of `path`: its own policy and the creation time of its current version. */
  async getRotationSchedule(path: string, options: { backend?: BackendName } = {}): Promise<RotationScheduleView> {
    const owner = await ownerOf(await this.#source(), path, options.backend);
    return view(await readSchedule(owner, path));
  }

  async #source(): Promise<RotationSource> {
    return { backends: await this.manager.backends(), resolve: (ref, backend) => this.manager.resolve(ref, backend) };
  }

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

/** The library's view of a schedule: the seed's four fields. */
function view(schedule: RotationSchedule): RotationScheduleView {
  return { period: schedule.period, lastChanged: schedule.lastChanged, due: schedule.due, auto: schedule.auto };
}

/**
 * The policy `rotate --every` and `scheduleRotation` record, checked: a positive period, `auto` only for a
 * generated secret, `generate` within bounds; the key it names is the last segment of `path`.
 */
export function policyFromOptions(path: string, options: { period: string | number; generate?: number | undefined; charset?: Charset | undefined; auto?: boolean | undefined }): RotationPolicy {
  const { period } = options;
  if (typeof period === 'number' && (!Number.isSafeInteger(period) || period < 1)) throw new AgentError('ERR_USAGE', `rotation period for "${path}": days must be a whole number of at least 1, got ${String(period)}`, { details: { path } });
  if (options.auto === true && options.generate === undefined) throw new AgentError('ERR_USAGE', `rotation of "${path}": auto needs generate (running agents can only rotate values they generate; an exchange's API key comes from the exchange)`, { details: { path } });
  if (options.generate !== undefined && (!Number.isSafeInteger(options.generate) || options.generate < GENERATE_MIN || options.generate > GENERATE_MAX)) {
    throw new AgentError('ERR_USAGE', `rotation of "${path}": generate must be a whole number of characters from ${GENERATE_MIN} to ${GENERATE_MAX}`, { details: { path } });
  }
  let policy: RotationPolicy;
  try {
    policy = makePolicy({ ...options, key: splitPath(path).key });
  } catch (error) {
    if (error instanceof DurationError) throw new AgentError('ERR_USAGE', `rotation period for "${path}": ${error.message}`, { details: { path } });
    throw error;
  }
  if (policy.periodMs <= 0) throw new AgentError('ERR_USAGE', `rotation period for "${path}": it must be longer than 0`, { details: { path } });
  return policy;
}

/** The backend that holds `path` today (the chain's answer), or the forced one, when it can be written. */
export async function ownerOf(source: RotationSource, path: string, backend: BackendName | undefined): Promise<WritableBackend> {
  const ref: SecretRef = { kind: 'value', path };
  const resolution = await source.resolve(ref, backend);
  if (resolution.status === 'failed') throw resolution.error;
  // The chain's answer names the owner only when no backend above it was skipped for not answering (a sealed Vault
  // and an old copy in AWS: the write would go to AWS, and Vault would serve the old value once back).
  if (backend === undefined && resolution.status === 'found') await assertServedBy(source.backends, resolution.backend, ref, (each, name) => source.resolve(each, name));
  const name = resolution.status === 'found' ? resolution.backend : backend;
  const target = source.backends.find((each) => each.name === name);
  if (isWritable(target)) return target;
  if (name === undefined) throw new AgentError('ERR_SECRET_NOT_FOUND', `Secret not found: ${path} (pass a backend to add the key to an existing secret)`, { details: { path } });
  throw new AgentError('ERR_USAGE', `rotate: the ${name} backend is read-only; rotate "${path}" in Vault or AWS Secrets Manager`, { details: { path, backend: name } });
}
