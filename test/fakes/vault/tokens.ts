// The emulator's token store (docs/vault.md): TTL and max TTL measured on an injectable clock, so a
// test can expire, renew and cap tokens by advancing a FakeClock instead of waiting.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../../agent/util/clock.js';
import { rfc3339, sortKeys } from './wire.js';

/** How to mint a token; durations in seconds, `ttl: 0` never expires (like a root token). */
export interface TokenSpec {
  ttl?: number;
  /** Explicit max TTL; without it the system max (32 days) caps renewals. */
  maxTtl?: number;
  renewable?: boolean;
  policies?: readonly string[];
  path?: string;
  displayName?: string;
  meta?: Record<string, string> | null;
  /** Use this id instead of a random `hvs.` one. */
  id?: string;
}

export interface TokenEntry {
  readonly id: string;
  readonly accessor: string;
  readonly policies: readonly string[];
  readonly creationTtl: number;
  readonly explicitMaxTtl: number;
  readonly issuedAt: number;
  /** Epoch ms; undefined for a token that never expires. */
  expiresAt: number | undefined;
  readonly maxExpiresAt: number | undefined;
  readonly renewable: boolean;
  readonly path: string;
  readonly displayName: string;
  readonly meta: Record<string, string> | null;
  revoked: boolean;
}

export type RenewResult =
  | { readonly kind: 'renewed'; readonly entry: TokenEntry; readonly ttl: number; readonly warnings: string[] | null }
  | { readonly kind: 'not_renewable' }
  | { readonly kind: 'invalid' };

const SYSTEM_MAX_TTL = 32 * 24 * 3600;

export class TokenStore {
  readonly #clock: Clock;
  readonly #tokens = new Map<string, TokenEntry>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Mint a token and remember it. */
  create(spec: TokenSpec): TokenEntry {
    const now = this.#clock.now();
    const ttl = spec.ttl ?? 3600;
    const explicitMaxTtl = spec.maxTtl ?? 0;
    const entry: TokenEntry = {
      id: spec.id ?? `hvs.${randomBytes(18).toString('base64url')}`,
      accessor: randomUUID(),
      policies: [...(spec.policies ?? ['default'])].sort(),
      creationTtl: ttl,
      explicitMaxTtl,
      issuedAt: now,
      expiresAt: ttl === 0 ? undefined : now + ttl * 1000,
      maxExpiresAt: ttl === 0 ? undefined : now + (explicitMaxTtl || SYSTEM_MAX_TTL) * 1000,
      renewable: spec.renewable ?? ttl !== 0,
      path: spec.path ?? 'auth/token/create',
      displayName: spec.displayName ?? 'token',
      meta: spec.meta ?? null,
      revoked: false,
    };
    this.#tokens.set(entry.id, entry);
    return entry;
  }

  /** The live token with this id: unknown, revoked and expired tokens are all "invalid" (403). */
  lookup(id: string | undefined): TokenEntry | undefined {
    const entry = id === undefined ? undefined : this.#tokens.get(id);
    if (!entry || entry.revoked) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now()) return undefined;
    return entry;
  }

  /** Whole seconds left, 0 for a token that never expires. */
  ttl(entry: TokenEntry): number {
    return entry.expiresAt === undefined ? 0 : Math.max(0, Math.floor((entry.expiresAt - this.#clock.now()) / 1000));
  }

  /** renew-self: extend by `increment` (default the creation TTL), capped by the max TTL with Vault's warning. */
  renew(id: string | undefined, increment: number | undefined): RenewResult {
    const entry = this.lookup(id);
    if (!entry) return { kind: 'invalid' };
    if (!entry.renewable || entry.expiresAt === undefined || entry.maxExpiresAt === undefined) return { kind: 'not_renewable' };
    const wanted = increment ?? entry.creationTtl;
    const room = Math.floor((entry.maxExpiresAt - this.#clock.now()) / 1000);
    if (room <= 0) return { kind: 'invalid' };
    const ttl = Math.min(wanted, room);
    entry.expiresAt = this.#clock.now() + ttl * 1000;
    const warnings = ttl < wanted ? [`TTL of "${wanted}s" exceeded the effective max_ttl of "${ttl}s"; TTL value is capped accordingly`] : null;
    return { kind: 'renewed', entry, ttl, warnings };
  }

  /** Revoke a token; later requests with it get 403. */
  revoke(id: string): void {
    const entry = this.#tokens.get(id);
    if (entry) entry.revoked = true;
  }

  /** The `data` of lookup-self; keys are sorted by the envelope. */
  lookupData(entry: TokenEntry): Record<string, unknown> {
    return {
      accessor: entry.accessor,
      creation_time: Math.floor(entry.issuedAt / 1000),
      creation_ttl: entry.creationTtl,
      display_name: entry.displayName,
      entity_id: '',
      expire_time: entry.expiresAt === undefined ? null : rfc3339(entry.expiresAt),
      explicit_max_ttl: entry.explicitMaxTtl,
      id: entry.id,
      issue_time: rfc3339(entry.issuedAt),
      meta: entry.meta,
      num_uses: 0,
      orphan: true,
      path: entry.path,
      policies: entry.policies,
      renewable: entry.renewable,
      ttl: this.ttl(entry),
      type: 'service',
    };
  }

  /** The `auth` block of a login or renew response (HTTPAuth, fields in struct order). */
  authBlock(entry: TokenEntry, leaseDuration: number): Record<string, unknown> {
    return {
      client_token: entry.id,
      accessor: entry.accessor,
      policies: entry.policies,
      token_policies: entry.policies,
      metadata: sortKeys(entry.meta),
      lease_duration: leaseDuration,
      renewable: entry.renewable,
      entity_id: '',
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    };
  }
}
