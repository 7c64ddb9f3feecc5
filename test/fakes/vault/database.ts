// The database secrets engine (Vault's builtin/logical/database, path_creds_create.go): every read of
// `<mount>/creds/<role>` makes a fresh username and password under a lease of the role's default_ttl, capped at
// its max_ttl, as Vault's core caps it (request_handling.go). No database behind it: the lease table is the truth
// a test checks the credential against.
import { randomInt } from 'node:crypto';
import type { TokenEntry } from './tokens.js';
import type { LeaseTable } from './leases.js';
import { base62 } from './leases.js';
import type { VaultReply, VaultRequest } from './wire.js';
import { fail, ok } from './wire.js';

/** Vault's system default and maximum lease TTL (768h), used where a role leaves a TTL at 0. */
export const SYSTEM_TTL_MS = 2_764_800_000;

export interface DatabaseRoleSpec {
  /** Seconds; 0 or absent = the mount's default (768h). */
  readonly defaultTtl?: number;
  /** Seconds; 0 or absent = the mount's maximum (768h). */
  readonly maxTtl?: number;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const pick = (chars: string): string => chars[randomInt(chars.length)] ?? 'a';

// Why: Vault's default password policy — 20 characters of [a-zA-Z0-9-], at least one lowercase, uppercase,
// digit and dash.
/** A password shaped like Vault's default password policy makes. */
function password(): string {
  const all = `${LOWER}${UPPER}${DIGITS}-`;
  const chars = [pick(LOWER), pick(UPPER), pick(DIGITS), '-', ...Array.from({ length: 16 }, () => pick(all))];
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] ?? '', chars[i] ?? ''];
  }
  return chars.join('');
}

// Why: the PostgreSQL plugin's default username_template:
// {{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}
/** A username shaped like the PostgreSQL plugin's default template makes. */
function username(displayName: string, role: string, nowMs: number): string {
  return `v-${displayName.slice(0, 8)}-${role.slice(0, 8)}-${base62(20)}-${Math.floor(nowMs / 1000)}`.slice(0, 63);
}

export class DatabaseEngine {
  readonly type = 'database';
  readonly #roles = new Map<string, Required<DatabaseRoleSpec>>();
  readonly #leases: LeaseTable;
  readonly #now: () => number;

  constructor(leases: LeaseTable, now: () => number) {
    this.#leases = leases;
    this.#now = now;
  }

  /** Create or replace a role. */
  setRole(name: string, spec: DatabaseRoleSpec = {}): void {
    this.#roles.set(name, { defaultTtl: spec.defaultTtl ?? 0, maxTtl: spec.maxTtl ?? 0 });
  }

  /** Serve a request whose path is relative to the mount (`creds/api`); `mount` is the mount's path. */
  handle(request: VaultRequest, rest: string, mount: string, token: TokenEntry): VaultReply {
    const creds = /^creds\/([^/]+)$/.exec(rest);
    if (!creds) return fail(404, `no handler for route "${request.path}". route entry not found.`);
    if (request.method !== 'GET') return fail(405, 'unsupported operation');
    const name = creds[1] ?? '';
    const role = this.#roles.get(name);
    if (!role) return fail(400, `unknown role: ${name}`);
    const maxTtlMs = Math.min(role.maxTtl > 0 ? role.maxTtl * 1000 : SYSTEM_TTL_MS, SYSTEM_TTL_MS);
    const ttlMs = Math.min(role.defaultTtl > 0 ? role.defaultTtl * 1000 : SYSTEM_TTL_MS, maxTtlMs);
    const user = username(token.displayName, name, this.#now());
    const lease = this.#leases.register({
      path: `${mount}/creds/${name}`, namespace: request.namespace, token: token.id, mountType: this.type,
      ttlMs, maxTtlMs, renewTtlMs: role.defaultTtl > 0 ? role.defaultTtl * 1000 : SYSTEM_TTL_MS, renewable: true, username: user,
    });
    return ok({ lease_id: lease.id, renewable: true, lease_duration: Math.trunc(ttlMs / 1000), data: { password: password(), username: user }, mount_type: this.type });
  }
}
