// The AWS Secrets Manager backend (docs/design.md "The chain"): JSON secrets read by key, plain secrets as a fallback, a
// cycle's secrets read with BatchGetSecretValue, and, as a WritableBackend (agent/backends/writable.ts), the
// writes, history and listing behind rotate, migrate and audit, on the same client. The SDK
// owns credentials (its default chain), region, endpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER/AWS_ENDPOINT_URL)
// and retries; this module owns the path layout and what each failure means for the chain.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config/schema.js';
import { AgentError, isAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Outcome, SecretRef } from './backend.js';
import { refKey } from './backend.js';
import { classifyError } from './aws/failure.js';
import { listSecrets } from './aws/listing.js';
import { SecretReader } from './aws/reader.js';
import type { Resolved } from './aws/resolve.js';
import { resolveRefs } from './aws/resolve.js';
import type { SecretMetadata, WriteContext } from './aws/writes.js';
import { createSecret, describe, putValue } from './aws/writes.js';
import { currentCreated, replaceValue, setTags } from './aws/rotation.js';
import type { SecretHistory, StoredSecret, WritableBackend } from './writable.js';

export type { SecretMetadata } from './aws/writes.js';

export interface AwsBackendOptions {
  readonly config: Config['aws'];
  readonly log: Logger;
  /** A client to use instead of one built from the default chain; the caller keeps ownership of it. */
  readonly client?: SecretsManagerClient;
}

/** An id no one creates: reading it proves the service answers for this identity. */
const PROBE = 'secrets-agent/health-probe';

export class AwsBackend implements WritableBackend {
  readonly name = 'aws' as const;
  readonly #client: SecretsManagerClient;
  readonly #ownsClient: boolean;
  readonly #config: Config['aws'];
  readonly #reader: SecretReader;
  readonly #previousReader: SecretReader;
  #region: Promise<string> | undefined;

  constructor(options: AwsBackendOptions) {
    this.#config = options.config;
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new SecretsManagerClient(options.config.region === undefined ? {} : { region: options.config.region });
    this.#reader = new SecretReader({ client: this.#client, versionStage: options.config.versionStage, region: () => this.#resolveRegion(), log: options.log.child({ component: 'aws' }) });
    this.#previousReader = new SecretReader({ client: this.#client, versionStage: 'AWSPREVIOUS', region: () => this.#resolveRegion(), log: options.log.child({ component: 'aws' }) });
  }

  /** Fetch one reference (GetSecretValue); a secret that exists but cannot be read as asked is its `error` outcome. */
  async fetch(ref: SecretRef): Promise<Outcome> {
    const resolved = (await this.#resolve([ref])).get(refKey(ref));
    if (resolved === undefined) throw new AgentError('ERR_BACKEND_RESPONSE', `aws backend: no outcome for "${ref.path}"`, { details: { backend: 'aws', path: ref.path } });
    return resolved instanceof AgentError ? { status: 'error', error: resolved } : resolved;
  }

  /**
   * Fetch every reference of a cycle with as few calls as possible (BatchGetSecretValue, 20 ids a call).
   * A reference whose secret exists but cannot be read as asked (ERR_BACKEND_DATA, ERR_BACKEND_RESPONSE) is its
   * `error` outcome, so the store never reads it a second time. Throws ERR_NO_CREDENTIALS for the whole cycle
   * when the SDK finds no credentials.
   */
  async fetchMany(refs: readonly SecretRef[]): Promise<Map<string, Outcome>> {
    const outcomes = new Map<string, Outcome>();
    for (const [key, resolved] of await this.#resolve(refs)) outcomes.set(key, resolved instanceof AgentError ? { status: 'error', error: resolved } : resolved);
    return outcomes;
  }

  /** True when Secrets Manager answers for this identity (a probe read that is found, not found or denied by policy). */
  async isAvailable(): Promise<boolean> {
    const result = await this.#reader.getOne(`${this.#config.prefix}${PROBE}`);
    return result.status === 'found' || result.status === 'not_found' || result.code === 'AccessDeniedException';
  }

  /** rotate: merge one key into the JSON secret `<prefix><secret>`, or replace the plain secret `<prefix><path>`. */
  async putValue(path: string, value: string): Promise<{ version: string }> {
    return putValue(await this.#writeContext(), path, value);
  }

  /** migrate: create the JSON secret `<prefix><secret>`; with `merge`, add the keys to an existing one instead of failing. */
  async createSecret(secret: string, data: Readonly<Record<string, string>>, options: { merge?: boolean } = {}): Promise<{ version: string; changed: boolean }> {
    return createSecret(await this.#writeContext(), secret, data, options);
  }

  /** audit: when the secret holding `path` last changed and rotated; undefined when no such secret exists. */
  async describe(path: string, options: { kind?: 'value' | 'map' } = {}): Promise<SecretMetadata | undefined> {
    return describe(await this.#writeContext(), path, options.kind ?? 'value');
  }

  /** Every key of the JSON secret `<prefix><secret>` at the configured stage, and that version; undefined when it does not exist. */
  async readSecret(secret: string): Promise<StoredSecret | undefined> {
    const outcome = await this.fetch({ kind: 'map', path: secret });
    if (outcome.status === 'not_found') return undefined;
    if (outcome.status === 'found') {
      if (typeof outcome.data === 'string') throw new AgentError('ERR_BACKEND_DATA', `aws backend: the secret "${secret}" is a plain value, not a JSON object of keys`, { details: { backend: 'aws', path: secret } });
      return { data: outcome.data, version: outcome.version ?? '' };
    }
    if (outcome.status === 'error') throw outcome.error;
    throw new AgentError(outcome.status === 'denied' ? 'ERR_SECRET_DENIED' : 'ERR_BACKEND_UNAVAILABLE', `aws backend: cannot read "${secret}": ${outcome.reason}`, { details: { backend: 'aws', path: secret } });
  }

  // Why: AWS has no conditional put; the merge compares AWSCURRENT with the version it read before it puts.
  /** migrate --overwrite: the keys of `data` merged into the existing JSON secret (AWSCURRENT, read again). */
  async mergeSecret(secret: string, data: Readonly<Record<string, string>>): Promise<{ version: string }> {
    return { version: (await this.createSecret(secret, data, { merge: true })).version };
  }

  /** rotate: see putValue. */
  writeKey(path: string, value: string): Promise<{ version: string }> {
    return this.putValue(path, value);
  }

  /**
   * audit: the VersionId at the configured stage, when the AWSCURRENT version was created (ListSecretVersionIds;
   * LastChangedDate also moves with tags), and the tags; LastChangedDate when no version lists a creation time.
   */
  async history(ref: SecretRef): Promise<SecretHistory> {
    const described = await this.describe(ref.path, { kind: ref.kind });
    if (described === undefined) return { version: null, lastChanged: null };
    const created = await currentCreated(await this.#writeContext(), described.secretId).catch((error: unknown) => {
      // Why: an IAM policy written before audit needed ListSecretVersionIds still audits, by LastChangedDate.
      if (isAgentError(error, 'ERR_SECRET_DENIED')) return undefined;
      throw error;
    });
    const lastChanged = created ?? described.lastChanged ?? null;
    return { version: described.version ?? null, lastChanged, secret: described.secretId, ...(described.tags === undefined ? {} : { labels: described.tags }) };
  }

  /** run: the tags of the secret that holds `ref` (one DescribeSecret); undefined when it has none or does not exist. */
  async readLabels(ref: SecretRef): Promise<Readonly<Record<string, string>> | undefined> {
    return (await this.describe(ref.path, { kind: ref.kind }))?.tags;
  }

  /** rotate --every: the policy as tags of the secret that holds `ref` (TagResource / UntagResource), other tags kept. */
  async setLabels(ref: SecretRef, labels: Readonly<Record<string, string | null>>): Promise<void> {
    const described = await this.describe(ref.path, { kind: ref.kind });
    if (described === undefined) throw new AgentError('ERR_SECRET_NOT_FOUND', `aws backend: cannot record a rotation policy for "${ref.path}": no secret holds it`, { details: { backend: 'aws', path: ref.path } });
    const present = described.tags ?? {};
    // Why: only tags that exist are untagged, so recording the same policy twice makes no request at all for them.
    const changes = Object.fromEntries(Object.entries(labels).filter(([key, value]) => (value === null ? Object.hasOwn(present, key) : present[key] !== value)));
    await setTags(await this.#writeContext(), described.secretId, changes);
  }

  /** Auto-rotation: a new value put only over AWSCURRENT `expected`, with a ClientRequestToken derived from both. */
  async replaceKey(path: string, value: string, expected: string): Promise<{ version: string }> {
    return replaceValue(await this.#writeContext(), path, value, expected);
  }

  /** Why: a value `a/b/key` lives in the JSON secret `a/b` or in a plain secret of its own, so each reference is its own. */
  historyKey(ref: SecretRef): string {
    return refKey(ref);
  }

  /** audit --all: ListSecrets with a name filter on this backend's client; undefined past `limit`. */
  async listSecrets(prefix: string, limit: number): Promise<string[] | undefined> {
    return listSecrets(await this.#writeContext(), prefix, limit);
  }

  /** True once BatchGetSecretValue was denied and every read uses GetSecretValue (for health and tests). */
  get batchDenied(): boolean {
    return this.#reader.batchDenied;
  }

  /** Release the client's sockets, when this backend built the client. */
  close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
    return Promise.resolve();
  }

  /** Why: a missing-credentials error concerns every reference, so it fails the cycle once instead of per path. */
  async #resolve(refs: readonly SecretRef[]): Promise<Map<string, Resolved>> {
    const region = await this.#resolveRegion();
    const current = refs.filter((ref) => ref.version === undefined);
    const previous = refs.filter((ref) => ref.version === 'previous');
    const resolved = await resolveRefs(current, { reader: this.#reader, prefix: this.#config.prefix, region });
    // version="previous": the same layout read at AWSPREVIOUS (GetSecretValue; batch has no VersionStage); a secret
    // with one version has no AWSPREVIOUS, which the service answers as not found.
    if (previous.length > 0) for (const [key, value] of await resolveRefs(previous, { reader: this.#previousReader, prefix: this.#config.prefix, region })) resolved.set(key, value);
    for (const value of resolved.values()) if (isAgentError(value, 'ERR_NO_CREDENTIALS')) throw value;
    return resolved;
  }

  /** Why: messages name the region; the SDK resolves it (config, AWS_REGION, profile) when the config has none. */
  #resolveRegion(): Promise<string> {
    this.#region ??= this.#config.region === undefined
      ? this.#client.config.region().catch((error: unknown) => `unknown region (${classifyError(error, { operation: 'region', region: '?' }).code})`)
      : Promise.resolve(this.#config.region);
    return this.#region;
  }

  /** Why: writes share the reader (for AWSCURRENT reads) and the resolved region of the reads. */
  async #writeContext(): Promise<WriteContext> {
    return { client: this.#client, reader: this.#reader, prefix: this.#config.prefix, region: await this.#resolveRegion(), versionStage: this.#config.versionStage };
  }
}

/** Build the AWS backend from the `aws` config section. */
export function createAwsBackend(options: AwsBackendOptions): AwsBackend {
  return new AwsBackend(options);
}
