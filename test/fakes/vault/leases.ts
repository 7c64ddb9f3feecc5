// The emulator's lease table (Vault's expiration manager, vault/expiration.go), on the emulator's clock:
// leases are registered by the secret engines, renewed with framework.CalculateTTL's arithmetic (capped at
// max TTL from issue, with Vault's warning), and gone the instant they expire — Vault revokes them with a
// timer; here expiry is computed from the clock, so a FakeClock expires them without any timer. It also keeps
// every lease's history, so a test can ask whether a credential was valid at any moment.
import { randomInt } from 'node:crypto';
import type { Clock } from '../../../agent/util/clock.js';
import { goDuration, goTime, parseSeconds } from './durations.js';
import type { Capability } from './policy.js';
import type { VaultReply, VaultRequest } from './wire.js';
import { fail, noContent, ok } from './wire.js';

/** One lease, live or not; times are epoch milliseconds on the emulator's clock. */
export interface Lease {
  readonly id: string;
  /** The request path that created it: `database/creds/api`. */
  readonly path: string;
  readonly namespace: string;
  /** The token that created it; revoking that token revokes the lease, as in Vault. */
  readonly token: string | undefined;
  readonly mountType: string;
  readonly issuedAt: number;
  expiresAt: number;
  /** The end no renewal can pass: issue time + effective max TTL. */
  readonly maxExpiresAt: number;
  /** The engine's TTL for a renewal without an increment (the role's default_ttl). */
  readonly renewTtlMs: number;
  readonly renewable: boolean;
  lastRenewal: number | undefined;
  revokedAt: number | undefined;
  renewals: number;
  /** What the lease covers: the database username, or the certificate serial. */
  readonly username?: string;
  readonly serial?: string;
}

export type LeaseOperation = 'issue' | 'renew' | 'revoke' | 'lookup';

/** One operation on the table, successful or refused. */
export interface LeaseEvent {
  readonly at: number;
  readonly op: LeaseOperation;
  readonly leaseId: string;
  readonly ok: boolean;
  /** lease_duration answered (issue, renew) or the error text. */
  readonly ttl?: number;
  readonly error?: string;
}

export interface LeaseRegistration {
  readonly path: string;
  readonly namespace: string;
  readonly token: string | undefined;
  readonly mountType: string;
  readonly ttlMs: number;
  readonly maxTtlMs: number;
  readonly renewTtlMs: number;
  readonly renewable: boolean;
  readonly username?: string;
  readonly serial?: string;
}

const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** `n` random base62 characters (Vault's base62.Random). */
export const base62 = (n: number): string => Array.from({ length: n }, () => BASE62[randomInt(62)]).join('');

export class LeaseTable {
  readonly counters = { issued: 0, renewed: 0, revoked: 0, refused: 0 };
  readonly events: LeaseEvent[] = [];
  readonly #clock: Clock;
  readonly #leases = new Map<string, Lease>();
  readonly #namespaceIds = new Map<string, string>([['', '']]);

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  // Why: Vault appends ".<namespace id>" to the id of a lease made inside a namespace (expiration.go Register).
  /** The id suffix of a namespace: "" at the root, `.<5 base62>` elsewhere, stable per namespace. */
  namespaceSuffix(namespace: string): string {
    let id = this.#namespaceIds.get(namespace);
    if (id === undefined) {
      id = base62(5);
      this.#namespaceIds.set(namespace, id);
    }
    return id === '' ? '' : `.${id}`;
  }

  /** Register a lease for a secret an engine just made; returns it with its id. */
  register(spec: LeaseRegistration): Lease {
    const now = this.#clock.now();
    const id = `${spec.path}/${base62(24)}${this.namespaceSuffix(spec.namespace)}`;
    const lease: Lease = {
      id, path: spec.path, namespace: spec.namespace, token: spec.token, mountType: spec.mountType, issuedAt: now,
      expiresAt: now + spec.ttlMs, maxExpiresAt: now + spec.maxTtlMs, renewTtlMs: spec.renewTtlMs, renewable: spec.renewable,
      lastRenewal: undefined, revokedAt: undefined, renewals: 0,
      ...(spec.username === undefined ? {} : { username: spec.username }),
      ...(spec.serial === undefined ? {} : { serial: spec.serial }),
    };
    this.#leases.set(id, lease);
    this.counters.issued += 1;
    this.#log('issue', id, true, { ttl: Math.trunc(spec.ttlMs / 1000) });
    return lease;
  }

  /** The lease while it is live (not revoked, not expired); expired and revoked leases are "not found". */
  live(id: string): Lease | undefined {
    const lease = this.#leases.get(id);
    return lease && lease.revokedAt === undefined && this.#clock.now() < lease.expiresAt ? lease : undefined;
  }

  /** Every lease ever issued, live or not, oldest first. */
  all(): Lease[] {
    return [...this.#leases.values()];
  }

  /** The lease, live or not. */
  get(id: string): Lease | undefined {
    return this.#leases.get(id);
  }

  /** The lease of a database username (or a certificate serial). */
  of(usernameOrSerial: string): Lease | undefined {
    return this.all().find((l) => l.username === usernameOrSerial || l.serial === usernameOrSerial);
  }

  // Why: a lease is live from issue until it is revoked or expires, and a live lease only ever had later
  // expiry times, so [issuedAt, revokedAt ?? expiresAt) is exactly when the credential was valid.
  /** Whether the credential (username or serial) was valid at `at` (epoch ms); unknown credentials never were. */
  validAt(usernameOrSerial: string, at: number): boolean {
    const lease = this.of(usernameOrSerial);
    if (!lease) return false;
    const end = Math.min(lease.revokedAt ?? Number.POSITIVE_INFINITY, lease.expiresAt);
    return lease.issuedAt <= at && at < end;
  }

  /** Whether the credential is valid now, on the emulator's clock. */
  isValid(usernameOrSerial: string): boolean {
    return this.validAt(usernameOrSerial, this.#clock.now());
  }

  /** Revoke every live lease a token created (Vault revokes a token's leases with the token). */
  revokeByToken(token: string): void {
    for (const lease of this.#leases.values()) if (lease.token === token && this.live(lease.id)) this.#revoke(lease);
  }

  /** Serve sys/leases/{renew,revoke,revoke-prefix,lookup} and the older sys/{renew,revoke,revoke-prefix}. */
  handle(request: VaultRequest, allowed: (path: string, capability: Capability) => boolean): VaultReply | undefined {
    const match = /^sys\/(?:leases\/)?(renew|revoke|revoke-prefix|lookup)(?:\/(.*))?$/.exec(request.path);
    if (!match || (match[1] === 'lookup' && !request.path.startsWith('sys/leases/'))) return undefined;
    if (request.method !== 'PUT' && request.method !== 'POST') return fail(405, 'unsupported operation');
    const operation = match[1] ?? '';
    const fromBody = request.body?.['lease_id'];
    const leaseId = typeof fromBody === 'string' && fromBody !== '' ? fromBody : (match[2] ?? '');
    // Why: `sync` defaults to true (204); false answers 202 Accepted with no body (RespondWithStatusCode(nil, nil, 202)).
    const done = request.body?.['sync'] === false || request.body?.['sync'] === 'false' ? { status: 202 } : noContent;
    if (operation === 'revoke-prefix') {
      if (!allowed(request.path, 'sudo')) return fail(403, 'permission denied');
      // Why: RevokePrefix takes a full lease id as itself, anything else as a path ending in "/".
      const exact = this.live(leaseId);
      const prefix = leaseId === '' || leaseId.endsWith('/') ? leaseId : `${leaseId}/`;
      for (const lease of this.#leases.values()) if ((lease === exact || lease.id.startsWith(prefix)) && this.live(lease.id)) this.#revoke(lease);
      return done;
    }
    if (leaseId === '') return fail(400, 'lease_id must be specified');
    if (operation === 'lookup') return this.#lookup(leaseId);
    if (operation === 'revoke') {
      const lease = this.live(leaseId);
      if (lease) this.#revoke(lease);
      else this.#log('revoke', leaseId, true, {});
      return done;
    }
    const increment = request.body?.['increment'];
    const seconds = increment === undefined ? 0 : parseSeconds(increment);
    if (seconds === undefined) return fail(400, `error converting input ${String(increment)} for field "increment"`);
    return this.#renew(leaseId, seconds * 1000, request.namespace);
  }

  // Why: framework.CalculateTTL — the increment (else the engine's TTL) from now, capped at issue + max TTL
  // with Vault's warning; lease_duration is the capped TTL truncated to whole seconds (int(ttl.Seconds())).
  #renew(id: string, incrementMs: number, namespace: string): VaultReply {
    const lease = this.live(id);
    if (!lease) return this.#refuse('renew', id, 'lease not found');
    if (!lease.renewable) return this.#refuse('renew', id, 'lease is not renewable');
    if (lease.namespace !== namespace) return this.#refuse('renew', id, 'cannot renew a lease across namespaces');
    const now = this.#clock.now();
    const wanted = incrementMs > 0 ? incrementMs : lease.renewTtlMs;
    const room = lease.maxExpiresAt - now;
    if (room <= 0) return this.#refuse('renew', id, 'past the max TTL, cannot renew');
    const ttl = Math.min(wanted, room);
    const warnings = ttl < wanted ? [`TTL of "${goDuration(wanted)}" exceeded the effective max_ttl of "${goDuration(room)}"; TTL value is capped accordingly`] : null;
    lease.expiresAt = now + ttl;
    lease.lastRenewal = now;
    lease.renewals += 1;
    this.counters.renewed += 1;
    const seconds = Math.trunc(ttl / 1000);
    this.#log('renew', id, true, { ttl: seconds });
    return ok({ lease_id: id, renewable: true, lease_duration: seconds, warnings, mount_type: 'system' });
  }

  // Why: handleLeaseLookup — ttl is int64(expire - now.Round(time.Second)) in seconds; an unknown lease is
  // logical.ErrorResponse("invalid lease") (400), unlike renew's "lease not found".
  #lookup(id: string): VaultReply {
    const lease = this.live(id);
    if (!lease) return this.#refuse('lookup', id, 'invalid lease');
    const roundedNow = Math.round(this.#clock.now() / 1000) * 1000;
    this.#log('lookup', id, true, {});
    return ok({
      data: {
        expire_time: goTime(lease.expiresAt),
        id,
        issue_time: goTime(lease.issuedAt),
        last_renewal: lease.lastRenewal === undefined ? null : goTime(lease.lastRenewal),
        renewable: lease.renewable,
        ttl: Math.trunc((lease.expiresAt - roundedNow) / 1000),
      },
      mount_type: 'system',
    });
  }

  #revoke(lease: Lease): void {
    lease.revokedAt = this.#clock.now();
    this.counters.revoked += 1;
    this.#log('revoke', lease.id, true, {});
  }

  #refuse(op: LeaseOperation, id: string, error: string): VaultReply {
    this.counters.refused += 1;
    this.#log(op, id, false, { error });
    return fail(400, error);
  }

  #log(op: LeaseOperation, leaseId: string, success: boolean, extra: { ttl?: number; error?: string }): void {
    this.events.push({ at: this.#clock.now(), op, leaseId, ok: success, ...extra });
  }
}
