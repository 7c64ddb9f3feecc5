// KV reads and writes against one mount: the KV version found once per mount, reads of one secret shared
// while in flight, one retry after a 403 when the session could get a different token, and errors
// that name the address and path — never a value or the token.
import { AgentError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { NodeVaultClient } from './client.js';
import type { Reply, VaultHttp } from './http.js';
import type { KvVersion, SecretMetadata, SecretRead } from './kv.js';
import { apiPath, encodePath, goneReason, parseKeys, parseMetadata, parseMountVersion, parseSecret, parseWrite, secretPathProblem } from './kv.js';

export type ReadOutcome =
  | { readonly kind: 'found'; readonly secret: SecretRead }
  | { readonly kind: 'not_found'; readonly reason: string | undefined }
  | { readonly kind: 'denied'; readonly reason: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

/** What the KV client needs from the token lifecycle. */
export interface Session {
  readonly token: string | undefined;
  ensure(): Promise<{ readonly ok: true } | { readonly ok: false; readonly kind: 'refused' | 'unavailable'; readonly reason: string }>;
  recoverFromDenied(used: string | undefined): Promise<boolean>;
}

export interface KvClientOptions {
  http: VaultHttp;
  session: Session;
  mount: string;
  kvVersion: 'auto' | KvVersion;
  log: Logger;
}

// Why: every call needs a token first, and a 403 earns exactly one retry when the token was replaced.
/** Run one request with the session's token: refused login → ERR_AUTH, no token yet → unavailable. */
export async function withToken(session: Session, method: string, path: string, run: () => Promise<Reply>): Promise<Reply> {
  const ensured = await session.ensure();
  if (!ensured.ok) {
    if (ensured.kind === 'refused') throw new AgentError('ERR_AUTH', ensured.reason, { details: { backend: 'vault' } });
    return { kind: 'unavailable', reason: `${ensured.reason} (no token yet for ${method} ${path})` };
  }
  const used = session.token;
  const reply = await run();
  if (reply.kind !== 'denied' || !(await session.recoverFromDenied(used))) return reply;
  return run();
}

const CAS_MISMATCH = 'check-and-set parameter did not match the current version';

export class KvClient {
  readonly #http: VaultHttp;
  readonly #session: Session;
  readonly #mount: string;
  readonly #configured: 'auto' | KvVersion;
  readonly #log: Logger;
  readonly #reads = new Map<string, Promise<ReadOutcome>>();
  #detected: Promise<KvVersion | { reason: string }> | undefined;

  constructor(options: KvClientOptions) {
    this.#http = options.http;
    this.#session = options.session;
    this.#mount = options.mount;
    this.#configured = options.kvVersion;
    this.#log = options.log;
  }

  /** Read one secret; concurrent reads of the same secret share one GET. */
  read(secret: string): Promise<ReadOutcome> {
    let pending = this.#reads.get(secret);
    if (!pending) {
      pending = this.#read(secret).finally(() => this.#reads.delete(secret));
      this.#reads.set(secret, pending);
    }
    return pending;
  }

  /**
   * The version before the current one (KV v2 `?version=current-1`): not found when the secret has one version, the
   * mount is KV v1, or that version was deleted, destroyed or pruned by max_versions.
   */
  async readPrevious(secret: string): Promise<ReadOutcome> {
    const current = await this.read(secret);
    if (current.kind !== 'found') return current;
    const number = Number(current.secret.version);
    if (!Number.isInteger(number) || number <= 1) return { kind: 'not_found', reason: current.secret.version === undefined ? `mount "${this.#mount}" keeps no versions (KV v1)` : `"${secret}" has no version before ${current.secret.version}` };
    return this.#read(secret, number - 1);
  }

  /** Write a new version (KV v2 check-and-set when `cas` is a number); the new version, "" on KV v1. */
  async write(secret: string, data: Readonly<Record<string, unknown>>, cas: number | undefined): Promise<{ version: string }> {
    const version = await this.#versionOrThrow(secret);
    if (version === 1 && cas !== undefined) throw new AgentError('ERR_BACKEND_DATA', `vault: mount "${this.#mount}" is KV v1, which keeps no versions; check-and-set writes of "${secret}" need KV v2`, { details: { backend: 'vault', path: secret } });
    const path = apiPath(this.#mount, version, 'data', secret);
    const body = version === 1 ? data : { ...(cas === undefined ? {} : { options: { cas } }), data };
    const reply = await withToken(this.#session, 'POST', path, () => this.#http.post(path, body));
    if (reply.kind === 'ok') return { version: version === 1 ? '' : parseWrite(reply.body, this.#http.where('POST', path)) };
    if (reply.kind === 'rejected' && reply.message.includes(CAS_MISMATCH)) {
      throw new AgentError('ERR_CAS_CONFLICT', `vault: check-and-set conflict writing "${secret}" (mount "${this.#mount}"): the secret is no longer at version ${String(cas)}; someone wrote in between and nothing was overwritten`, { details: { backend: 'vault', path: secret, cas } });
    }
    throw this.#error(reply, secret, 'write', version);
  }

  /** Version and times of a KV v2 secret; undefined when it does not exist or the mount is KV v1. */
  async metadata(secret: string): Promise<SecretMetadata | undefined> {
    const version = await this.#versionOrThrow(secret);
    if (version === 1) return undefined;
    const path = apiPath(this.#mount, 2, 'metadata', secret);
    const reply = await withToken(this.#session, 'GET', path, () => this.#http.get(path));
    if (reply.kind === 'ok') return parseMetadata(reply.body, this.#http.where('GET', path));
    if (reply.kind === 'not_found') return undefined;
    throw this.#error(reply, secret, 'read the metadata of', 2);
  }

  /**
   * PATCH metadata/<secret> (JSON merge patch, Vault 1.9+): `custom_metadata` keys with a string are set, with null
   * removed, every other key kept; no version is written. ERR_SECRET_NOT_FOUND when the secret has no metadata.
   */
  async patchMetadata(secret: string, customMetadata: Readonly<Record<string, string | null>>): Promise<void> {
    const version = await this.#versionOrThrow(secret);
    if (version === 1) throw new AgentError('ERR_BACKEND_DATA', `vault: mount "${this.#mount}" is KV v1, which keeps no metadata; a rotation policy for "${secret}" needs KV v2`, { details: { backend: 'vault', path: secret } });
    const path = apiPath(this.#mount, 2, 'metadata', secret);
    // Why: node-vault's update() is its PATCH with the merge-patch content type; the agent's client type leaves it out.
    const client = this.#http.client as NodeVaultClient & { update(path: string, data: unknown): Promise<unknown> };
    const reply = await withToken(this.#session, 'PATCH', path, () => this.#http.call('PATCH', path, () => client.update(path, { custom_metadata: customMetadata })));
    if (reply.kind === 'ok') return;
    if (reply.kind === 'not_found' || (reply.kind === 'unavailable' && reply.reason.includes('HTTP 404'))) {
      throw new AgentError('ERR_SECRET_NOT_FOUND', `vault: cannot record metadata on "${secret}": the secret does not exist (mount "${this.#mount}")`, { details: { backend: 'vault', path: secret } });
    }
    throw this.#error(reply, secret, 'patch the metadata of', 2);
  }

  /** Keys under a prefix (`exchange` → `binance`, `kraken/`), through `?list=1`; [] when there are none. */
  async list(prefix: string): Promise<string[]> {
    const version = await this.#versionOrThrow(prefix);
    const path = `${apiPath(this.#mount, version, 'metadata', prefix)}/`;
    const reply = await withToken(this.#session, 'GET', path, () => this.#http.list(path));
    if (reply.kind === 'ok') return parseKeys(reply.body, this.#http.where('GET', path));
    if (reply.kind === 'not_found') return [];
    throw this.#error(reply, prefix, 'list', version);
  }

  /** One GET of a secret at the mount's KV version, classified; a 400 on a read is a response error. */
  async #read(secret: string, number?: number): Promise<ReadOutcome> {
    const problem = secretPathProblem(secret);
    if (problem !== undefined) return { kind: 'not_found', reason: problem };
    const version = await this.#version();
    if (typeof version !== 'number') return { kind: 'unavailable', reason: version.reason };
    const path = `${apiPath(this.#mount, version, 'data', secret)}${number === undefined ? '' : `?version=${number}`}`;
    const reply = await withToken(this.#session, 'GET', path, () => this.#http.get(path));
    switch (reply.kind) {
      case 'ok': {
        const read = parseSecret(reply.body, version, this.#http.where('GET', path));
        return read ? { kind: 'found', secret: read } : { kind: 'not_found', reason: undefined };
      }
      case 'not_found': return { kind: 'not_found', reason: goneReason(reply.body) };
      case 'denied': return { kind: 'denied', reason: reply.message };
      case 'unavailable': return { kind: 'unavailable', reason: reply.reason };
      case 'rejected':
        if (reply.status === 404) return { kind: 'unavailable', reason: this.#noSuchPath(reply.message, version) };
        throw new AgentError('ERR_BACKEND_RESPONSE', reply.message, { details: { backend: 'vault', path: secret } });
    }
  }


  /** The mount's KV version: configured, or detected once (a failed detection is retried next time). */
  #version(): Promise<KvVersion | { reason: string }> {
    if (this.#configured !== 'auto') return Promise.resolve(this.#configured);
    const detection = this.#detected ?? this.#detect();
    this.#detected = detection;
    detection.then((result) => { if (typeof result !== 'number') this.#detected = undefined; }, () => { this.#detected = undefined; });
    return detection;
  }

  /** The KV version for a write, metadata read or list, where "unavailable" must be an error. */
  async #versionOrThrow(secret: string): Promise<KvVersion> {
    const problem = secretPathProblem(secret);
    if (problem !== undefined && secret !== '') throw new AgentError('ERR_BACKEND_DATA', `vault: ${problem}`, { details: { backend: 'vault', path: secret } });
    const version = await this.#version();
    if (typeof version === 'number') return version;
    throw new AgentError('ERR_BACKEND_UNAVAILABLE', version.reason, { details: { backend: 'vault', path: secret } });
  }

  // Why: the Vault CLI's rule — a 404 from Vault means a Vault without the endpoint (KV v1); a 404 from
  // anything else (a proxy) says nothing about Vault, so it is unavailable and asked again. We add 403 →
  // KV v2 (the default of every supported Vault), because agent policies rarely cover the mount itself.
  async #detect(): Promise<KvVersion | { reason: string }> {
    const path = `sys/internal/ui/mounts/${encodePath(this.#mount)}`;
    const reply = await withToken(this.#session, 'GET', path, () => this.#http.get(path));
    const fields = { mount: this.#mount };
    if (reply.kind === 'not_found' || (reply.kind === 'rejected' && reply.status === 404)) {
      this.#log.warn({ ...fields, kvVersion: 1 }, 'vault has no sys/internal/ui/mounts (HTTP 404); assuming KV v1 as the Vault CLI does; set vault.kvVersion to skip detection');
      return 1;
    }
    switch (reply.kind) {
      case 'ok': {
        const version = parseMountVersion(reply.body, this.#http.where('GET', path));
        this.#log.info({ ...fields, kvVersion: version }, 'vault KV version detected');
        return version;
      }
      case 'denied':
      case 'rejected':
        this.#log.warn({ ...fields, kvVersion: 2 }, `cannot detect the KV version of mount "${this.#mount}" (${reply.message}); assuming KV v2; set vault.kvVersion or grant read on the mount to skip this`);
        return 2;
      case 'unavailable':
        return { reason: reply.reason };
    }
  }

  /** Vault's 404 for a path it does not serve, as the reason a read is unavailable, with the likely cause. */
  #noSuchPath(message: string, version: KvVersion): string {
    return `${message} (is "${this.#mount}" a KV v${version} mount in this namespace?)`;
  }

  /** The AgentError for a failed write, metadata read or list, naming the secret and what was attempted. */
  #error(reply: Exclude<Reply, { kind: 'ok' }>, secret: string, what: string, version: KvVersion): AgentError {
    const details = { details: { backend: 'vault', path: secret } };
    switch (reply.kind) {
      case 'denied': return new AgentError('ERR_SECRET_DENIED', `vault: permission denied to ${what} "${secret}": ${reply.message}`, details);
      case 'unavailable': return new AgentError('ERR_BACKEND_UNAVAILABLE', `vault: cannot ${what} "${secret}": ${reply.reason}`, details);
      case 'rejected':
        if (reply.status === 404) return new AgentError('ERR_BACKEND_UNAVAILABLE', `vault: cannot ${what} "${secret}": ${this.#noSuchPath(reply.message, version)}`, details);
        return new AgentError('ERR_BACKEND_RESPONSE', `vault: cannot ${what} "${secret}": ${reply.message}`, details);
      case 'not_found': return new AgentError('ERR_BACKEND_RESPONSE', `vault: cannot ${what} "${secret}": HTTP 404 (is mount "${this.#mount}" a KV mount?)`, details);
    }
  }
}
