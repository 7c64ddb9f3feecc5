// Reading and recording a secret's rotation schedule through the backend that holds it (docs/operations.md
// "Rotation"): the policy is written as labels (Vault custom_metadata, AWS tags) next to the secret's other labels,
// and the schedule is the policy plus the creation time of the current version. Shared by `rotate --every`,
// `audit` and the library's SecretRotationManager, so all three agree.
import type { BackendName, SecretRef } from '../backends/backend.js';
import type { SecretHistory, WritableBackend } from '../backends/writable.js';
import { AgentError } from '../errors.js';
import { dueAt, policyEntries, readPolicy } from './policy.js';
import type { RotationPolicy } from './policy.js';

/** The seed's `getRotationSchedule` shape, plus where it was read. */
export interface RotationSchedule {
  readonly path: string;
  readonly backend: BackendName;
  /** The secret's own period (`90d`); null when it has no policy. */
  readonly period: string | null;
  /** When the current version was written; null when the backend cannot tell. */
  readonly lastChanged: Date | null;
  /** lastChanged + period; null without a policy or a creation time. */
  readonly due: Date | null;
  /** Running agents may generate its next value (the policy says so, and it is a generated secret). */
  readonly auto: boolean;
  readonly version: string | null;
  readonly policy?: RotationPolicy;
}

/** The schedule a history answer describes; a malformed policy is an error naming the label, never a value. */
export function scheduleOf(path: string, backend: BackendName, history: SecretHistory): RotationSchedule {
  const reading = readPolicy(history.labels);
  if ('problem' in reading) {
    throw new AgentError('ERR_BACKEND_DATA', `the rotation policy of "${path}" in ${backend} is not usable: ${reading.problem}; record it again with secrets-agent rotate ${path} --every <period>`, { details: { backend, path } });
  }
  const { policy } = reading;
  return {
    path,
    backend,
    period: policy?.period ?? null,
    lastChanged: history.lastChanged,
    due: policy === undefined ? null : dueAt(history.lastChanged, policy.periodMs),
    auto: policy?.auto ?? false,
    version: history.version,
    ...(policy === undefined ? {} : { policy }),
  };
}

/** The schedule of `path` as its backend stores it now (one metadata read). */
export async function readSchedule(owner: WritableBackend, path: string): Promise<RotationSchedule> {
  const ref: SecretRef = { kind: 'value', path };
  return scheduleOf(path, owner.name, await owner.history(ref));
}

/** Record `policy` with the secret that holds `path`, keeping every label that is not a policy key; writes no version. */
export async function recordPolicy(owner: WritableBackend, path: string, policy: RotationPolicy): Promise<void> {
  await owner.setLabels({ kind: 'value', path }, policyEntries(policy));
}
