// The HashiCorp Vault backend (docs/configuration.md): KV v2/v1 through node-vault 0.12, a token that is renewed
// and replaced in the background, one GET per secret however many keys are asked for, and outcomes the
// chain can act on. As a WritableBackend (agent/backends/writable.ts) it serves `rotate`, `migrate` and `audit`.
import type { Config } from '../config/schema.js';
import { AgentError, isAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { systemClock, systemRandom } from '../util/clock.js';
import type { Clock, Random } from '../util/clock.js';
import { createAuthMethod } from './vault/auth/methods.js';
import { directoryWatcher } from './vault/auth/token-file.js';
import type { FileWatcher } from './vault/auth/token-file.js';
import { TokenManager } from './vault/auth/token-manager.js';
import type { TokenStatus } from './vault/auth/token-manager.js';
import type { Outcome, SecretRef } from './backend.js';
import { readMeta, refKey, splitPath } from './backend.js';
import type { SecretHistory, StoredSecret, WritableBackend } from './writable.js';
import { createNodeVaultClient } from './vault/client.js';
import type { NodeVaultFactory } from './vault/client.js';
import { DynamicClient } from './vault/dynamic-client.js';
import { VaultHttp } from './vault/http.js';
import { KvClient } from './vault/kv-client.js';
import type { ReadOutcome } from './vault/kv-client.js';
import { stringify } from './vault/kv.js';
import type { SecretMetadata } from './vault/kv.js';
import { bypassProxyForLoopback } from './vault/proxy.js';

export type { TokenStatus } from './vault/auth/token-manager.js';
export type { SecretMetadata } from './vault/kv.js';

export interface VaultBackendOptions {
  config: Config['vault'];
  log: Logger;
  clock?: Clock;
  random?: Random;
  /** node-vault's factory; tests wrap it to observe how the client is built and used. */
  nodeVault?: NodeVaultFactory;
  /** How vault.auth.tokenFile is watched (default: fs.watch on its directory); false: not watched. */
  watchTokenFile?: FileWatcher | false;
}

export class VaultBackend implements WritableBackend {
  readonly name = 'vault' as const;
  readonly #http: VaultHttp;
  readonly #tokens: TokenManager;
  readonly #kv: KvClient;
  /** Any read or write and the lease calls, for the `vault` template helper (agent/dynamic/). */
  readonly dynamic: DynamicClient;

  constructor(options: VaultBackendOptions) {
    const { config } = options;
    const address = config.address;
    if (address === undefined) throw new AgentError('ERR_CONFIG_INVALID', 'vault backend: vault.address (VAULT_ADDR) is not set', { details: { key: 'vault.address' } });
    const log = options.log.child({ component: 'vault' });
    if (config.tlsSkipVerify) log.warn({ address }, 'TLS certificate verification is OFF for Vault (vault.tlsSkipVerify / VAULT_SKIP_VERIFY); anyone on the path can read the token and the secrets');
    const bypassed = bypassProxyForLoopback(address);
    if (bypassed !== undefined) log.info({ variable: bypassed }, 'vault address is loopback: added to the proxy exclusion list');
    const bound = { ...config, address };
    // Why: node-vault sends X-Vault-Namespace on every request of a client that has a namespace; Vault
    // Enterprise's root-only paths (sys/health, ...) go through a client without one, or they answer 404.
    const rootClient = config.namespace === '' ? undefined : createNodeVaultClient({ ...bound, namespace: '' }, options.nodeVault);
    this.#http = new VaultHttp({ client: createNodeVaultClient(bound, options.nodeVault), rootClient, address, timeout: config.timeout });
    // Why: a separate, always tokenless client for logins, so an expired token is never sent to a login endpoint.
    const loginHttp = new VaultHttp({ client: createNodeVaultClient(bound, options.nodeVault), address, timeout: config.timeout });
    const watcher = options.watchTokenFile === false ? undefined : options.watchTokenFile ?? directoryWatcher(log);
    this.#tokens = new TokenManager({ method: createAuthMethod(config.auth, loginHttp), http: this.#http, log, clock: options.clock ?? systemClock, random: options.random ?? systemRandom, watcher, onReplaced: (end) => { this.dynamic.tokenReplaced(end); } });
    this.#kv = new KvClient({ http: this.#http, session: this.#tokens, mount: config.mount, kvVersion: config.kvVersion, log });
    this.dynamic = new DynamicClient({ http: this.#http, session: this.#tokens, tokenExpiresAt: () => this.#tokens.status().expiresAt });
  }

  /** Authenticate, look the token up and schedule its renewal; throws ERR_AUTH or ERR_BACKEND_UNAVAILABLE. */
  start(): Promise<void> {
    return this.#tokens.start();
  }

  /** `a/b/key` → key `key` of secret `a/b`; `a/b` (map) → every key of it. */
  async fetch(ref: SecretRef): Promise<Outcome> {
    const target = targetOf(ref);
    if ('outcome' in target) return target.outcome;
    try {
      return toOutcome(await this.#readAt(target.secret, ref), target.secret, target.key);
    } catch (error) {
      if (isAgentError(error, 'ERR_AUTH')) throw error;
      return { status: 'error', error: asAgentError(error, ref.path) };
    }
  }

  // Why: the store hands over a cycle's references in one batch; grouped by secret, `a/b/k1` and `a/b/k2`
  // cost one GET, and at most FETCH_MANY_CONCURRENCY secrets are read at once.
  /** Many references: one GET per secret. A read that fails is that secret's `error` outcome (never asked twice); ERR_AUTH fails the batch. */
  async fetchMany(refs: readonly SecretRef[]): Promise<Map<string, Outcome>> {
    const answers = new Map<string, Outcome>();
    const groups = new Map<string, { ref: SecretRef; key: string | undefined }[]>();
    for (const ref of refs) {
      const target = targetOf(ref);
      if ('outcome' in target) answers.set(refKey(ref), target.outcome);
      else {
        // An older version is a read of its own; it shares the current read it starts from (KvClient dedups it).
        const group = ref.version === undefined ? target.secret : `${target.secret}\0${ref.version}`;
        groups.set(group, [...(groups.get(group) ?? []), { ref, key: target.key }]);
      }
    }
    let authError: AgentError | undefined;
    const queue = [...groups];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [, group] = next;
        const first = group[0];
        if (first === undefined) continue;
        const secret = this.historyKey(first.ref);
        try {
          const read = await this.#readAt(secret, first.ref);
          for (const { ref, key } of group) answers.set(refKey(ref), toOutcome(read, secret, key));
        } catch (error) {
          if (isAgentError(error, 'ERR_AUTH')) authError ??= error;
          else for (const { ref } of group) answers.set(refKey(ref), { status: 'error', error: asAgentError(error, ref.path) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_MANY_CONCURRENCY, queue.length) }, worker));
    if (authError !== undefined) throw authError;
    return new Map(refs.flatMap((ref) => { const outcome = answers.get(refKey(ref)); return outcome ? [[refKey(ref), outcome] as const] : []; }));
  }

  /** The current version of `secret`, or the one before it for a `version="previous"` reference. */
  #readAt(secret: string, ref: SecretRef): Promise<ReadOutcome> {
    return ref.version === 'previous' ? this.#kv.readPrevious(secret) : this.#kv.read(secret);
  }

  /** Reachable, initialized and unsealed (GET sys/health at the root namespace, no token needed). */
  async isAvailable(): Promise<boolean> {
    const reply = await this.#http.health();
    if (reply.kind !== 'ok' || typeof reply.body !== 'object' || reply.body === null) return false;
    const health = reply.body as Record<string, unknown>;
    return health['sealed'] === false && health['initialized'] !== false;
  }

  /** Stop renewal timers and the token file watch. */
  close(): Promise<void> {
    this.#tokens.close();
    return Promise.resolve();
  }

  /** Write a new version of a secret; KV v2 check-and-set when `cas` is a number (ERR_CAS_CONFLICT on a race). */
  write(secretPath: string, data: Readonly<Record<string, unknown>>, options: { cas: number | undefined }): Promise<{ version: string }> {
    return this.#kv.write(secretPath, data, options.cas);
  }

  /** The current version and its times (for `audit`); undefined when missing or on KV v1. */
  readMetadata(secretPath: string): Promise<SecretMetadata | undefined> {
    return this.#kv.metadata(secretPath);
  }

  /** Every key of a secret and its version (for `rotate` and `migrate`); undefined when not found. */
  async readSecret(secretPath: string): Promise<StoredSecret | undefined> {
    const read = await this.#kv.read(secretPath);
    if (read.kind === 'not_found') return undefined;
    if (read.kind === 'found') return { data: stringMap(read.secret.data), version: read.secret.version ?? '', stored: read.secret.data };
    throw new AgentError(read.kind === 'denied' ? 'ERR_SECRET_DENIED' : 'ERR_BACKEND_UNAVAILABLE', `vault: cannot read "${secretPath}": ${read.reason}`, { details: { backend: 'vault', path: secretPath } });
  }

  /** Keys under a prefix (a trailing "/" marks a sub-tree), listed with GET ?list=1, never the LIST verb. */
  list(prefix: string): Promise<string[]> {
    return this.#kv.list(prefix);
  }

  // Why: KV v2 check-and-set is exact: cas=0 creates only, cas=N writes only over version N.
  /** migrate: create `secret` only if it does not exist (cas=0). */
  createSecret(secret: string, data: Readonly<Record<string, string>>): Promise<{ version: string }> {
    return this.write(secret, { ...data }, { cas: 0 });
  }

  /** migrate --overwrite: the keys of `data` over `read`, written only over the version `read` holds. */
  mergeSecret(secret: string, data: Readonly<Record<string, string>>, read: StoredSecret): Promise<{ version: string }> {
    return this.write(secret, { ...(read.stored ?? read.data), ...data }, { cas: Number(read.version) });
  }

  /** rotate: a new version of key `key` of the existing secret `a/b`, check-and-set on the version just read. */
  async writeKey(path: string, value: string): Promise<{ version: string }> {
    const { secret, key } = splitPath(path);
    if (secret === '') throw new AgentError('ERR_USAGE', `vault: "${path}" names no secret; vault paths are <secret>/<key>`, { details: { backend: 'vault', path } });
    const current = await this.readSecret(secret);
    // Why: rotate writes new versions of existing secrets only; creating one is migrate's job.
    if (current === undefined) throw new AgentError('ERR_SECRET_NOT_FOUND', `vault: cannot rotate "${path}": the secret "${secret}" does not exist; rotate writes new versions of existing secrets - create it first (migrate)`, { details: { backend: 'vault', path } });
    // Check-and-set on the version just read: a write in between fails with ERR_CAS_CONFLICT, nothing is lost.
    return this.write(secret, { ...(current.stored ?? current.data), [key]: value }, { cas: Number(current.version) });
  }

  /**
   * audit: KV v2 `current_version`, the `created_time` of that version (a metadata write moves `updated_time`,
   * so that is only the fallback) and `custom_metadata`; nulls when missing or on KV v1.
   */
  async history(ref: SecretRef): Promise<SecretHistory> {
    const secret = this.historyKey(ref);
    const metadata = secret === '' ? undefined : await this.readMetadata(secret);
    if (metadata === undefined) return { version: null, lastChanged: null };
    const created = new Date(metadata.versionCreatedTime ?? metadata.updatedTime);
    // Why: a malformed time must read as "unknown", not as an age of NaN days.
    return { version: metadata.version, lastChanged: Number.isNaN(created.getTime()) ? null : created, secret, ...(metadata.customMetadata === undefined ? {} : { labels: metadata.customMetadata }) };
  }

  /** rotate --every: a metadata PATCH of the secret's `custom_metadata` (null removes a key, the others are kept). */
  async setLabels(ref: SecretRef, labels: Readonly<Record<string, string | null>>): Promise<void> {
    const secret = this.historyKey(ref);
    if (secret === '') throw new AgentError('ERR_USAGE', `vault: "${ref.path}" names no secret; vault paths are <secret>/<key>`, { details: { backend: 'vault', path: ref.path } });
    await this.#kv.patchMetadata(secret, labels);
  }

  /** Auto-rotation: key `key` of secret `a/b` replaced, written with `cas` = `expected`; ERR_CAS_CONFLICT when it moved. */
  async replaceKey(path: string, value: string, expected: string): Promise<{ version: string }> {
    const { secret, key } = splitPath(path);
    const current = secret === '' ? undefined : await this.readSecret(secret);
    if (current === undefined) throw new AgentError('ERR_SECRET_NOT_FOUND', `vault: cannot rotate "${path}": the secret "${secret}" does not exist`, { details: { backend: 'vault', path } });
    // Why: the other keys come from this read; were it newer than `expected`, the cas below would refuse it anyway.
    if (current.version !== expected) throw new AgentError('ERR_CAS_CONFLICT', `vault: "${secret}" is at version ${current.version}, not ${expected}: someone rotated it first`, { details: { backend: 'vault', path, cas: Number(expected) } });
    return this.write(secret, { ...(current.stored ?? current.data), [key]: value }, { cas: Number(expected) });
  }

  /** The secret a reference names: every key of `a/b` shares the history of `a/b`. */
  historyKey(ref: SecretRef): string {
    return ref.kind === 'map' ? ref.path : splitPath(ref.path).secret;
  }

  // Why: Vault lists one level at a time; the prefix itself may be a secret as well as a folder.
  /** audit --all: the secrets at and under `prefix`, walking the metadata tree; undefined past `limit`. */
  async listSecrets(prefix: string, limit: number): Promise<string[] | undefined> {
    const found: string[] = [];
    if (prefix !== '' && (await this.readMetadata(prefix)) !== undefined) found.push(prefix);
    const folders = [prefix];
    for (let folder = folders.shift(); folder !== undefined; folder = folders.shift()) {
      for (const key of await this.list(folder)) {
        const path = folder === '' ? key : `${folder}/${key}`;
        if (key.endsWith('/')) folders.push(path.slice(0, -1));
        else found.push(path);
        if (found.length + folders.length > limit) return undefined;
      }
    }
    return found.sort();
  }

  /** The token's TTL, renewability and last problem, for `health` and `vault_token_ttl_seconds`. */
  tokenStatus(): TokenStatus {
    return this.#tokens.status();
  }

  /** Re-read vault.auth.tokenFile now (the watcher calls this too); true when a new token was adopted. */
  reloadTokenFile(): Promise<boolean> {
    return this.#tokens.reloadTokenFile();
  }

  /** Resolves when no renewal or login is in flight; lets tests step a fake clock deterministically. */
  settled(): Promise<void> {
    return this.#tokens.settled();
  }
}

/** The Vault backend for a parsed `vault` config section. */
export function createVaultBackend(options: { config: Config['vault']; log: Logger; clock?: Clock; random?: Random }): VaultBackend {
  return new VaultBackend(options);
}

/** How many secrets fetchMany reads at the same time. */
const FETCH_MANY_CONCURRENCY = 8;

/** The secret and key a reference names, or its outcome when it cannot name a Vault secret. */
function targetOf(ref: SecretRef): { secret: string; key: string | undefined } | { outcome: Outcome } {
  if (ref.kind === 'map') return { secret: ref.path, key: undefined };
  const { secret, key } = splitPath(ref.path);
  if (secret === '') return { outcome: { status: 'not_found', reason: `vault paths are <secret>/<key>; "${ref.path}" names no secret` } };
  return { secret, key };
}

function asAgentError(error: unknown, path: string): AgentError {
  if (error instanceof AgentError) return error;
  return new AgentError('ERR_BACKEND_RESPONSE', `vault backend failed while reading "${path}": ${(error as Error).message}`, { cause: error, details: { backend: 'vault', path } });
}

/** Every non-null value of a secret as a string. */
function stringMap(data: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    const text = stringify(value);
    if (text !== undefined) out[key] = text;
  }
  return out;
}

/** A KV read as a chain outcome for one key (`key`) or the whole map (`key` undefined). */
function toOutcome(read: ReadOutcome, secret: string, key: string | undefined): Outcome {
  switch (read.kind) {
    case 'not_found': return read.reason === undefined ? { status: 'not_found' } : { status: 'not_found', reason: read.reason };
    case 'denied': return { status: 'denied', reason: read.reason };
    case 'unavailable': return { status: 'unavailable', reason: read.reason };
    case 'found': break;
  }
  const version = { ...(read.secret.version === undefined ? {} : { version: read.secret.version }), meta: readMeta(secret, read.secret.createdTime, read.secret.customMetadata) };
  if (key === undefined) return { status: 'found', data: stringMap(read.secret.data), ...version };
  const value = Object.hasOwn(read.secret.data, key) ? stringify(read.secret.data[key]) : undefined;
  if (value === undefined) return { status: 'not_found', reason: `secret "${secret}" has no key "${key}"` };
  return { status: 'found', data: value, ...version };
}
