// The emulator's router: sealed check, health, logins, token authentication, the token store endpoints,
// sys/internal/ui/mounts, policies, mounts, then the KV mounts of the request's namespace behind ACLs.
import type { Clock } from '../../../agent/util/clock.js';
import { AuthMounts } from './auth.js';
import { Engines } from './engines.js';
import { Kv1Mount } from './kv1.js';
import { Kv2Mount } from './kv2.js';
import type { Capability } from './policy.js';
import { PolicyStore } from './policy.js';
import type { TokenEntry } from './tokens.js';
import { TokenStore } from './tokens.js';
import type { VaultReply, VaultRequest } from './wire.js';
import { denied, fail, invalidToken, noContent, ok } from './wire.js';

export type KvMount = Kv1Mount | Kv2Mount;

// Why: Vault Enterprise serves these only from the root namespace (its "restricted API paths" table, root
// column, and the older "root only API paths" list: sys/leader, sys/storage/raft); asked inside a namespace
// they are 404 "unsupported path" (hashicorp/vault#14934). sys/seal-status is in neither list; it is here
// because docs/vault.md counts it as root-only and the agent sends it without the namespace.
const ROOT_ONLY = [
  'sys/audit', 'sys/audit-hash', 'sys/config/auditing', 'sys/config/cors', 'sys/config/group-policy-application',
  'sys/config/reload', 'sys/config/state', 'sys/config/ui', 'sys/decode-token', 'sys/experiments',
  'sys/generate-recovery-token', 'sys/generate-root', 'sys/health', 'sys/host-info', 'sys/in-flight-req', 'sys/init',
  'sys/internal/counters/activity', 'sys/internal/counters/config', 'sys/internal/inspect/router', 'sys/key-status',
  'sys/leader', 'sys/loggers', 'sys/managed-keys', 'sys/metrics', 'sys/mfa/method', 'sys/monitor', 'sys/pprof',
  'sys/quotas/config', 'sys/quotas/lease-count', 'sys/quotas/rate-limit', 'sys/raw', 'sys/rekey', 'sys/rekey-recovery-key',
  'sys/replication/recover', 'sys/replication/reindex', 'sys/replication/status', 'sys/replication/merkle-check',
  'sys/rotate', 'sys/seal', 'sys/seal-status', 'sys/sealwrap/rewrap', 'sys/step-down', 'sys/storage', 'sys/unseal',
];

/** Whether a logical path is one of Vault Enterprise's root-only paths (or below one). */
export function isRootOnly(path: string): boolean {
  return ROOT_ONLY.some((root) => path === root || path.startsWith(`${root}/`));
}

// Why: the multierror wrapping is how Vault 1.x words ErrUnsupportedPath in its other 404s (hashicorp/vault#19668);
// the exact bytes for root-only paths were not checked — clients should match "unsupported path" only.
/** Vault's 404 for a path that is not served here. */
export const unsupportedPath = (): VaultReply => fail(404, '1 error occurred:\n\t* unsupported path\n\n');

/** The capability a request needs on its path. */
function capabilityOf(request: VaultRequest): Capability | Capability[] {
  if (request.list) return 'list';
  switch (request.method) {
    case 'GET': return 'read';
    case 'PATCH': return 'patch';
    case 'DELETE': return 'delete';
    default: return ['create', 'update'];
  }
}

/** A TTL parameter in seconds: a number, or a string such as "90", "30s", "5m", "1h". */
export function seconds(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  const match = typeof value === 'string' ? /^(\d+)(s|m|h)?$/.exec(value) : null;
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1);
}

export class Router {
  readonly tokens: TokenStore;
  readonly policies = new PolicyStore();
  readonly auth: AuthMounts;
  /** Database and PKI mounts and their lease table (sys/leases). */
  readonly engines: Engines;
  sealed = false;
  /** Emulate Vault Enterprise: root-only paths answer only in the root namespace. */
  enterprise = false;
  readonly #clock: Clock;
  readonly #defaultMounts: Readonly<Record<string, 1 | 2>>;
  readonly #namespaces = new Map<string, Map<string, KvMount>>();

  constructor(clock: Clock, defaultMounts: Readonly<Record<string, 1 | 2>>) {
    this.#clock = clock;
    this.#defaultMounts = defaultMounts;
    this.tokens = new TokenStore(clock);
    this.auth = new AuthMounts(this.tokens);
    this.engines = new Engines(clock);
  }

  /** The KV mounts of a namespace, created from the default mounts the first time it is used. */
  mounts(namespace: string): Map<string, KvMount> {
    let mounts = this.#namespaces.get(namespace);
    if (!mounts) {
      mounts = new Map();
      for (const [path, version] of Object.entries(this.#defaultMounts)) mounts.set(path, this.#newMount(version));
      this.#namespaces.set(namespace, mounts);
    }
    return mounts;
  }

  /** The mount holding `path` (longest prefix) and the path inside it. */
  findMount(namespace: string, path: string): { name: string; mount: KvMount; rest: string } | undefined {
    let best: { name: string; mount: KvMount; rest: string } | undefined;
    for (const [name, mount] of this.mounts(namespace)) {
      if ((path === name || path.startsWith(`${name}/`)) && (!best || name.length > best.name.length)) best = { name, mount, rest: path.slice(name.length + 1) };
    }
    return best;
  }

  /** Answer one request (a PKI issue answers once its key is generated, off the event loop). */
  route(request: VaultRequest): VaultReply | Promise<VaultReply> {
    const { path } = request;
    if (this.enterprise && request.namespace !== '' && isRootOnly(path)) return unsupportedPath();
    if (path === 'sys/health') return this.#health();
    if (this.sealed) return fail(503, 'Vault is sealed');
    const login = /^auth\/(.+)\/login$/.exec(path);
    if (login) return this.auth.login(request, login[1] ?? '') ?? fail(404, `no handler for route "${path}". route entry not found.`);
    const token = this.tokens.lookup(request.token);
    if (!token) return invalidToken();
    const allowed = (p: string, capability: Capability | Capability[]) => this.policies.allows(token.policies, p, capability);
    if (path.startsWith('auth/token/')) return this.#tokenRoute(request, token, allowed);
    if (path.startsWith('sys/internal/ui/mounts/')) return this.#mountInfo(request, path.slice('sys/internal/ui/mounts/'.length), token);
    if (!allowed(path, capabilityOf(request))) return denied();
    const policy = /^sys\/policies\/acl\/(.+)$/.exec(path);
    if (policy && (request.method === 'PUT' || request.method === 'POST')) {
      this.policies.set(policy[1] ?? '', typeof request.body?.['policy'] === 'string' ? request.body['policy'] : '');
      return noContent;
    }
    const mount = /^sys\/mounts\/(.+)$/.exec(path);
    if (mount && request.method === 'POST') return this.#enable(request, mount[1] ?? '');
    const engine = this.engines.handle(request, token, allowed);
    if (engine) return engine;
    const found = this.findMount(request.namespace, path);
    if (found) return found.mount.handle(request, found.rest);
    return fail(404, `no handler for route "${path}". route entry not found.`);
  }

  /** A fresh KV mount of a version. */
  #newMount(version: 1 | 2): KvMount {
    return version === 1 ? new Kv1Mount() : new Kv2Mount(this.#clock);
  }

  /** sys/health: a bare object (not an envelope) for every status, 503 when sealed. */
  #health(): VaultReply {
    const body = { initialized: true, sealed: this.sealed, standby: this.sealed, performance_standby: false, replication_performance_mode: 'disabled', replication_dr_mode: 'disabled', server_time_utc: Math.floor(this.#clock.now() / 1000), version: this.enterprise ? '1.17.0+ent' : '1.17.0', enterprise: this.enterprise, cluster_name: 'vault-emulator', cluster_id: '00000000-0000-4000-8000-000000000000', echo_duration_ms: 0, clock_skew_ms: 0 };
    return { status: this.sealed ? 503 : 200, body };
  }

  /** lookup-self, renew-self, revoke-self and create, each behind its ACL path. */
  #tokenRoute(request: VaultRequest, token: TokenEntry, allowed: (p: string, c: Capability | Capability[]) => boolean): VaultReply {
    const path = request.path;
    if (path === 'auth/token/lookup-self' && allowed(path, 'read')) return ok({ data: this.tokens.lookupData(token) });
    if (path === 'auth/token/renew-self' && allowed(path, 'update') && request.method !== 'GET') {
      const result = this.tokens.renew(token.id, seconds(request.body?.['increment']));
      if (result.kind === 'invalid') return invalidToken();
      if (result.kind === 'not_renewable') return fail(400, 'lease is not renewable');
      return ok({ auth: this.tokens.authBlock(result.entry, result.ttl), warnings: result.warnings });
    }
    if (path === 'auth/token/revoke-self' && allowed(path, 'update')) {
      this.tokens.revoke(token.id);
      this.engines.leases.revokeByToken(token.id);
      return noContent;
    }
    if (path === 'auth/token/create' && allowed(path, ['create', 'update'])) {
      const body = request.body ?? {};
      const policies = Array.isArray(body['policies']) ? body['policies'].map(String) : ['default'];
      const spec = { policies: body['no_default_policy'] === true ? policies : [...new Set([...policies, 'default'])] };
      const ttl = seconds(body['ttl']) ?? 2_764_800;
      const maxTtl = seconds(body['explicit_max_ttl']);
      const entry = this.tokens.create({ ...spec, ttl, ...(maxTtl === undefined ? {} : { maxTtl }), renewable: body['renewable'] !== false });
      return ok({ auth: this.tokens.authBlock(entry, this.tokens.ttl(entry)) });
    }
    return denied();
  }

  /** sys/internal/ui/mounts: the mount's type and options, or Vault's preflight 403. */
  #mountInfo(request: VaultRequest, path: string, token: TokenEntry): VaultReply {
    const engine = this.engines.find(request.namespace, path.endsWith('/') ? path : `${path}/`);
    if (engine && this.policies.touchesMount(token.policies, engine.name)) {
      return ok({ data: { accessor: `${engine.engine.type}_${engine.name.length.toString(16).padStart(8, '0')}`, config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 }, description: '', external_entropy_access: false, local: false, options: null, path: `${engine.name}/`, seal_wrap: false, type: engine.engine.type, uuid: '5f0c1d5e-0000-4000-8000-000000000001' } });
    }
    const found = this.findMount(request.namespace, path);
    if (!found || !this.policies.touchesMount(token.policies, found.name)) {
      return fail(403, `preflight capability check returned 403, please ensure client's policies grant access to path "${path.endsWith('/') ? path : `${path}/`}"`);
    }
    const options = found.mount.version === 2 ? { version: '2' } : null;
    return ok({ data: { accessor: `kv_${found.name.length.toString(16).padStart(8, '0')}`, config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 }, description: '', external_entropy_access: false, local: false, options, path: `${found.name}/`, seal_wrap: false, type: 'kv', uuid: '5f0c1d5e-0000-4000-8000-000000000000' } });
  }

  /** POST sys/mounts/<name>: enable a KV mount (`options.version` "2" for v2), or `type` database or pki. */
  #enable(request: VaultRequest, name: string): VaultReply {
    const mounts = this.mounts(request.namespace);
    if (mounts.has(name) || this.engines.find(request.namespace, `${name}/`)) return fail(400, `path is already in use at ${name}/`);
    const type = request.body?.['type'];
    if (type === 'database' || type === 'pki') {
      if (type === 'database') this.engines.database(request.namespace, name);
      else this.engines.pki(request.namespace, name);
      return noContent;
    }
    const options = request.body?.['options'];
    const version = typeof options === 'object' && options !== null && (options as Record<string, unknown>)['version'] === '2' ? 2 : 1;
    mounts.set(name, this.#newMount(version));
    return noContent;
  }
}
