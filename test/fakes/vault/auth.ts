// Login endpoints of the emulator (docs/vault.md): AppRole and Kubernetes auth mounts whose roles mint
// tokens with a chosen TTL and max TTL. Logins are unauthenticated: any X-Vault-Token sent is ignored.
import type { TokenSpec, TokenStore } from './tokens.js';
import type { VaultReply, VaultRequest } from './wire.js';
import { denied, envelope, fail } from './wire.js';

export interface AppRoleSpec {
  readonly mount?: string;
  readonly roleId: string;
  readonly secretId: string;
  readonly roleName?: string;
  readonly token?: TokenSpec;
}

export interface KubernetesRoleSpec {
  readonly mount?: string;
  readonly role: string;
  /** A service-account JWT this role accepts (no signature check); add the role again to accept another. */
  readonly jwt: string;
  readonly token?: TokenSpec;
}

type AuthMount =
  | { readonly type: 'approle'; readonly roles: AppRoleSpec[] }
  | { readonly type: 'kubernetes'; readonly roles: KubernetesRoleSpec[] };

export class AuthMounts {
  readonly #mounts = new Map<string, AuthMount>();
  readonly #tokens: TokenStore;

  constructor(tokens: TokenStore) {
    this.#tokens = tokens;
  }

  /** Enable AppRole at `mount` (default `approle`) if needed and add a role. */
  addAppRole(spec: AppRoleSpec): void {
    const mount = spec.mount ?? 'approle';
    const existing = this.#mounts.get(mount);
    if (existing?.type === 'approle') existing.roles.push(spec);
    else this.#mounts.set(mount, { type: 'approle', roles: [spec] });
  }

  /** Enable Kubernetes auth at `mount` (default `kubernetes`) if needed and add a role. */
  addKubernetesRole(spec: KubernetesRoleSpec): void {
    const mount = spec.mount ?? 'kubernetes';
    const existing = this.#mounts.get(mount);
    if (existing?.type === 'kubernetes') existing.roles.push(spec);
    else this.#mounts.set(mount, { type: 'kubernetes', roles: [spec] });
  }

  /** Serve `POST auth/<mount>/login`; undefined when no auth method is mounted there. */
  login(request: VaultRequest, mount: string): VaultReply | undefined {
    const auth = this.#mounts.get(mount);
    if (!auth) return undefined;
    if (request.method !== 'POST' && request.method !== 'PUT') return fail(405, 'unsupported operation');
    const body = request.body ?? {};
    const text = (key: string): string => (typeof body[key] === 'string' ? body[key] : '');
    if (auth.type === 'approle') {
      const role = auth.roles.find((r) => r.roleId === text('role_id'));
      if (!role || role.secretId !== text('secret_id')) return fail(400, 'invalid role or secret ID');
      return this.#grant(mount, role.token, { role_name: role.roleName ?? 'api-server' });
    }
    if (text('jwt') === '') return fail(400, 'missing jwt');
    const named = auth.roles.filter((r) => r.role === text('role'));
    if (named.length === 0) return fail(400, `invalid role name "${text('role')}"`);
    const role = named.find((r) => r.jwt === text('jwt'));
    if (!role) return denied();
    return this.#grant(mount, role.token, { role: role.role, service_account_name: 'api-server', service_account_namespace: 'dsta', service_account_secret_name: '', service_account_uid: '8e1c6c2c-0000-4000-8000-000000000000' });
  }

  /** Mint the login's token and answer with its auth block. */
  #grant(mount: string, spec: TokenSpec | undefined, meta: Record<string, string>): VaultReply {
    const entry = this.#tokens.create({ ttl: 2_764_800, ...spec, path: `auth/${mount}/login`, meta, displayName: mount });
    const ttl = this.#tokens.ttl(entry);
    return { status: 200, body: envelope({ auth: this.#tokens.authBlock(entry, ttl) }) };
  }
}
