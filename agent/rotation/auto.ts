// Scheduled rotation carried out by the running agents (docs/operations.md "Rotation"). After each full render
// pass, the secrets the templates read are checked against their own policy (Vault: the `custom_metadata` the data
// read carried; AWS: tags, read with DescribeSecret at most once an hour per secret): due = creation of the version
// served + period, exported as secret_rotation_due_timestamp_seconds{path}. With `rotation.auto: true` in the config
// and `rotation-auto` on the secret (opt-in twice), a generated secret that is due gets a new random value written
// with check-and-set on the version this cycle read (Vault `cas`; AWS a ClientRequestToken derived from the secret
// and that VersionId), so replicas racing write exactly one version; the losers see a conflict and read the
// winner's. The caller runs another cycle, which renders the new value and runs the notifiers.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { SecretRef } from '../backends/backend.js';
import { isVersionKey, splitPath } from '../backends/backend.js';
import { isWritable } from '../backends/writable.js';
import type { WritableBackend } from '../backends/writable.js';
import { isCallIdentity } from '../dynamic/identity.js';
import { isAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Scrubber } from '../log/scrub.js';
import { generateSecret } from '../ops/generate.js';
import { Limiter } from '../store/limit.js';
import type { Resolution, SecretStore } from '../store/store.js';
import { resolvedValues } from '../store/values.js';
import type { Clock } from '../util/clock.js';
import { assertServedBy } from './owner.js';
import { readPolicy } from './policy.js';
import type { RotationPolicy } from './policy.js';

/** How long AWS tags read with DescribeSecret are trusted (docs/operations.md: at most once an hour per secret). */
export const TAGS_TTL_MS = 3_600_000;
/** How long a rotation that failed, or lost to a version the next cycles do not read, waits before it is tried again. */
const FAILED_RETRY_MS = 300_000;

export interface AutoRotatorOptions {
  readonly registry: Registry;
  readonly clock: Clock;
  /** Draws characters of new values; the CSPRNG unless a test passes another. */
  readonly draw?: (max: number) => number;
}

export interface RotationPass {
  readonly store: SecretStore;
  readonly resolutions: ReadonlyMap<string, Resolution>;
  /** `rotation.auto` of the config: without it, due times are exported and nothing is written. */
  readonly auto: boolean;
  readonly log: Logger;
  /** Audit records on (`log.audit`). */
  readonly audit: boolean;
  readonly scrubber: Scrubber;
}

/** One secret that may need rotating: what the cycle read, and the path whose value a rotation replaces. */
interface Candidate {
  /** The reference the cycle read. */
  readonly ref: SecretRef;
  readonly backend: WritableBackend;
  /** The path a new value is written to: `<secret>/<rotation-key>`, or the plain secret's own path. */
  readonly target: string;
  /** The version the cycle read (a KV v2 version, an AWS VersionId): the check-and-set of the write. */
  readonly version: string;
  readonly policy: RotationPolicy;
  readonly due: number;
}

export class AutoRotator {
  readonly rotations: Counter<'result'>;
  readonly due: Gauge<'path'>;
  readonly #clock: Clock;
  readonly #draw: ((max: number) => number) | undefined;
  /** AWS tags by backend|secret id: when read, and what they were. */
  readonly #tags = new Map<string, { at: number; labels: Readonly<Record<string, string>> | undefined }>();
  /** backend|target|version → when a rotation of it failed, or lost a race (its winner's version is read next). */
  readonly #failed = new Map<string, number>();
  /** The last check asked for a cycle to render what it wrote or lost to: that cycle writes nothing. */
  #rendering = false;

  constructor(options: AutoRotatorOptions) {
    this.#clock = options.clock;
    this.#draw = options.draw;
    this.rotations = new Counter({ name: 'secret_rotations_total', help: 'Automatic rotations by result: rotated (this agent wrote the new version), conflict (another writer rotated it first), failed.', labelNames: ['result'], registers: [options.registry] });
    this.due = new Gauge({ name: 'secret_rotation_due_timestamp_seconds', help: 'Unix time at which the served version of a secret with its own rotation period is due (creation + period).', labelNames: ['path'], registers: [options.registry] });
  }

  /**
   * Check a full pass's secrets; returns true when a version was written or another writer's is there to read
   * (the caller renders again). Never throws: a failure is logged, counted and tried again later.
   */
  async check(pass: RotationPass): Promise<boolean> {
    const candidates = await this.#candidates(pass);
    const now = this.#clock.now();
    if (!pass.auto) return false;
    // Why: the cycle a rotation asked for renders its version; were it to write too, a period shorter than a cycle
    // (a label anyone with metadata write can set, or clock skew with the backend) would chain writes, renders and
    // notifier runs without end. Writes are thus bounded by the cycles the operator configured (the schedule).
    if (this.#rendering) {
      this.#rendering = false;
      return false;
    }
    let again = false;
    for (const candidate of candidates.values()) {
      if (candidate.due > now || !candidate.policy.auto || candidate.policy.generate === undefined) continue;
      const attempt = `${candidate.backend.name}|${candidate.target}|${candidate.version}`;
      const failedAt = this.#failed.get(attempt);
      if (failedAt !== undefined && now - failedAt < FAILED_RETRY_MS) continue;
      again = (await this.#rotate(candidate, pass, attempt)) || again;
    }
    this.#rendering = again;
    return again;
  }

  /** Every secret of the pass with a usable policy, by backend and target; the due gauge set for each path. */
  async #candidates(pass: RotationPass): Promise<Map<string, Candidate>> {
    const found = new Map<string, Candidate>();
    const read: { ref: SecretRef; backend: WritableBackend; resolution: Extract<Resolution, { status: 'found' }>; created: number; version: string }[] = [];
    for (const [key, resolution] of pass.resolutions) {
      if (isVersionKey(key) || resolution.status !== 'found' || resolution.stale !== undefined || resolution.version === undefined) continue;
      const created = resolution.meta?.createdAt === undefined ? Number.NaN : Date.parse(resolution.meta.createdAt);
      const backend = pass.store.backends.find((each) => each.name === resolution.backend);
      if (Number.isNaN(created) || !isWritable(backend)) continue;
      const ref = refOf(key);
      // A vault helper call (dynamic credentials, certificates) is no stored secret: Vault renews or re-issues it.
      if (isCallIdentity(ref.path)) continue;
      read.push({ ref, backend, resolution, created, version: resolution.version });
    }
    const failures: string[] = [];
    const limiter = new Limiter(LABEL_READS);
    const labels = await Promise.all(read.map((entry) => limiter.run(() => this.#labels(entry.backend, entry.ref, entry.resolution, failures))));
    if (failures.length > 0) {
      // One line per check, however many secrets: a policy that denies DescribeSecret must not flood the log.
      pass.log.child({ component: 'rotation' }).warn({ paths: failures.length, path: failures[0] }, `cannot read the rotation policy (AWS tags) of ${failures.length} secret${failures.length === 1 ? '' : 's'} (${failures.slice(0, 3).join('; ')}); tried again in an hour`);
    }
    this.due.reset();
    for (const [index, { ref, backend, resolution, created, version }] of read.entries()) {
      const reading = readPolicy(labels[index]);
      if (!('policy' in reading) || reading.policy === undefined) continue;
      const { policy } = reading;
      const due = created + policy.periodMs;
      this.due.set({ path: ref.path }, Math.floor(due / 1000));
      const target = targetOf(ref, policy, ownSecret(ref, resolution));
      if (target === undefined) continue;
      found.set(`${backend.name}|${target}`, { ref, backend, target, version, policy, due });
    }
    return found;
  }

  /**
   * The secret's labels: Vault's came with the data read; AWS tags are read at most once an hour per secret (a
   * failed read too is tried again an hour later, the last tags read serving meanwhile).
   */
  async #labels(backend: WritableBackend, ref: SecretRef, resolution: Extract<Resolution, { status: 'found' }>, failures: string[]): Promise<Readonly<Record<string, string>> | undefined> {
    if (backend.name === 'vault') return resolution.meta?.rotation;
    const id = `${backend.name}|${resolution.meta?.secret ?? ref.path}`;
    const cached = this.#tags.get(id);
    const now = this.#clock.now();
    if (cached !== undefined && now - cached.at < TAGS_TTL_MS) return cached.labels;
    try {
      const labels = backend.readLabels === undefined ? (await backend.history(ref)).labels : await backend.readLabels(ref);
      this.#tags.set(id, { at: now, labels });
      return labels;
    } catch (error) {
      this.#tags.set(id, { at: now, labels: cached?.labels });
      failures.push(`"${ref.path}": ${isAgentError(error) ? error.code : 'error'}`);
      return cached?.labels;
    }
  }

  /** Write the next value of one due secret; true when a version is there to render (ours or a winner's). */
  async #rotate(candidate: Candidate, pass: RotationPass, attempt: string): Promise<boolean> {
    const { backend, target, version, policy } = candidate;
    const value = generateSecret(policy.generate ?? 0, policy.charset ?? 'base62', ...(this.#draw === undefined ? [] : [this.#draw]));
    // Before the write: nothing that could log may see the value unscrubbed.
    pass.scrubber.add([value]);
    const fields = { path: target, backend: backend.name, oldVersion: version };
    try {
      // The chain may have fallen to this backend because one above it did not answer: not the secret's owner then.
      await assertServedBy(pass.store.backends, backend.name, candidate.ref, async (ref, name) => {
        const resolution = await pass.store.resolve({ ref, backend: name });
        pass.scrubber.add(resolvedValues([resolution]));
        return resolution;
      });
      const written = await backend.replaceKey(target, value, version);
      this.rotations.inc({ result: 'rotated' });
      if (pass.audit) pass.log.child({ component: 'audit' }).info({ audit: true, event: 'rotated', ...fields, newVersion: written.version }, `secret rotated automatically: ${target} (${backend.name} version ${version} -> ${written.version}, due every ${policy.period})`);
      return true;
    } catch (error) {
      if (isAgentError(error, 'ERR_CAS_CONFLICT')) {
        // Another replica won this rotation: its version is read and rendered by the next cycle. Should the next
        // cycles read this same version again (a read that does not move), the conflict is no race: it waits like a
        // failure instead of asking for cycle after cycle.
        this.#failed.set(attempt, this.#clock.now());
        this.rotations.inc({ result: 'conflict' });
        pass.log.child({ component: 'rotation' }).info(fields, `another writer rotated ${target} first; reading its version`);
        return true;
      }
      this.#failed.set(attempt, this.#clock.now());
      this.rotations.inc({ result: 'failed' });
      pass.log.child({ component: 'rotation' }).warn({ ...fields, code: isAgentError(error) ? error.code : undefined }, `automatic rotation of ${target} failed (tried again in ${FAILED_RETRY_MS / 60_000} minutes): ${(error as Error).message}`);
      return false;
    }
  }
}

/** How many AWS tag reads run at once (the first cycle of an agent with many AWS secrets). */
const LABEL_READS = 8;

/** The reference behind a store request key (`*|value:a/b/key`, `vault|map:a/b`). */
function refOf(key: string): SecretRef {
  const body = key.slice(key.indexOf('|') + 1);
  const cut = body.indexOf(':');
  return { kind: body.slice(0, cut) === 'map' ? 'map' : 'value', path: body.slice(cut + 1) };
}

// Why rotation-key: one secret holds several keys (a password next to a user name); the policy names the one that is
// generated, and every reference to that secret (a key of it, or all of it) leads to that one write.
// Without rotation-key (a policy written by hand with the contract's four keys) only a value that is a secret of its
// own (an AWS plain secret) is known to be the generated one: any key of a Vault or AWS JSON secret may be the user
// name or the API key id next to it, and the first one read would have been replaced by random characters.
/** The path a rotation writes for `ref`: the policy's key in the secret `ref` reads; a plain secret is its own path. */
function targetOf(ref: SecretRef, policy: RotationPolicy, own: boolean): string | undefined {
  const secret = ref.kind === 'map' ? ref.path : splitPath(ref.path).secret;
  if (policy.key !== undefined) return secret === '' ? undefined : `${secret}/${policy.key}`;
  return own ? ref.path : undefined;
}

/** True when `ref` was read from a secret that holds that value alone: AWS names it `<prefix><path>`, not `<prefix><secret>`. */
function ownSecret(ref: SecretRef, resolution: Extract<Resolution, { status: 'found' }>): boolean {
  return ref.kind === 'value' && resolution.meta?.secret.endsWith(ref.path) === true;
}
