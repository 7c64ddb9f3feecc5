// How old each secret is: the version and last-changed time of the secret behind a path, from the backend that
// serves it (the creation of the current version: Vault KV v2 metadata `versions[current].created_time`; AWS the
// AWSCURRENT version's CreatedDate), read through the writable backend's `history` (agent/backends/writable.ts);
// file and env keep no history.
// Used by `secrets-agent audit`; the running agent's `secret_age_seconds{path}` takes version creation times
// from its data reads instead (agent/runtime/secret-ages.ts), so it costs no metadata request.
import type { Backend, BackendName } from '../backends/backend.js';
import { isWritable } from '../backends/writable.js';
import type { SecretHistory } from '../backends/writable.js';
import { requestsOf } from '../cycle.js';
import { isCallIdentity } from '../dynamic/identity.js';
import { requestKey } from '../store/store.js';
import type { Resolution } from '../store/store.js';
import type { Template } from '../template/load.js';

/** A path to age, and the backend that serves it (undefined: no backend has it). */
export interface AgeTarget {
  readonly path: string;
  readonly kind: 'value' | 'map';
  readonly backend: BackendName | undefined;
  /** Why the path could not be resolved (a backend outage, a denial); the age is then unknown. */
  readonly error?: string;
}

export interface SecretAge {
  readonly path: string;
  readonly kind: 'value' | 'map';
  /** null: no backend holds the path. */
  readonly backend: BackendName | null;
  /** KV v2 `current_version`, or the AWS VersionId that carries the configured stage; null when unknown. */
  readonly version: string | null;
  /** ISO 8601; null when the backend keeps no history (file, env, KV v1) or the secret is missing. */
  readonly lastChanged: string | null;
  readonly ageSeconds: number | null;
  /** Whole days. */
  readonly ageDays: number | null;
  /** The secret's labels (Vault custom_metadata, AWS tags): where its own rotation policy lives. */
  readonly labels?: Readonly<Record<string, string>>;
  /** What went wrong reading the metadata (never a value); the other fields are then null. */
  readonly error?: string;
}

const DAY_SECONDS = 86_400;

/** Why: the agent and `audit` know which backend served each path from a cycle's resolutions. */
export function ageTargets(templates: readonly Template[], resolutions: ReadonlyMap<string, Resolution>): AgeTarget[] {
  const targets = new Map<string, AgeTarget>();
  // An older version (version="previous") ages with its path: the current version is what is audited.
  // A vault helper call (dynamic credentials, certificates) is no stored secret: it has no version history to age.
  for (const request of templates.flatMap(requestsOf).filter((each) => each.ref.version === undefined && !isCallIdentity(each.ref.path))) {
    const resolution = resolutions.get(requestKey(request));
    const backend = resolution?.status === 'found' ? resolution.backend : undefined;
    const key = `${backend ?? '-'}|${request.ref.kind}:${request.ref.path}`;
    if (targets.has(key)) continue;
    const error = resolution?.status === 'failed' ? { error: resolution.error.message } : {};
    targets.set(key, { path: request.ref.path, kind: request.ref.kind, backend, ...error });
  }
  return [...targets.values()];
}

/**
 * The age of every target at `now` (ms since the epoch). One metadata read per secret however many keys of
 * it are listed; never throws: a failed read is reported in that entry's `error`.
 */
export async function secretAges(backends: readonly Backend[], targets: readonly AgeTarget[], now: number): Promise<SecretAge[]> {
  const reads = new Map<string, Promise<SecretHistory>>();
  return Promise.all(targets.map(async (target): Promise<SecretAge> => {
    const unknown = { path: target.path, kind: target.kind, backend: target.backend ?? null, version: null, lastChanged: null, ageSeconds: null, ageDays: null };
    if (target.error !== undefined) return { ...unknown, error: target.error };
    const backend = backends.find((each) => each.name === target.backend);
    if (!isWritable(backend)) return unknown;
    const ref = { kind: target.kind, path: target.path };
    const key = `${backend.name}|${backend.historyKey(ref)}`;
    let read = reads.get(key);
    if (read === undefined) reads.set(key, (read = backend.history(ref)));
    try {
      const { version, lastChanged, labels } = await read;
      const known = { ...unknown, version, ...(labels === undefined ? {} : { labels }) };
      if (lastChanged === null) return known;
      const ageSeconds = Math.max(0, Math.floor((now - lastChanged.getTime()) / 1000));
      return { ...known, lastChanged: lastChanged.toISOString(), ageSeconds, ageDays: Math.floor(ageSeconds / DAY_SECONDS) };
    } catch (error) {
      return { ...unknown, error: (error as Error).message };
    }
  }));
}
