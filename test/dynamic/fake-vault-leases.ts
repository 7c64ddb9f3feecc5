// A fake of the keeper's CallSource (agent/dynamic/keeper.ts) with Vault's lease arithmetic on a FakeClock: leases
// of `ttl` seconds renewable up to `maxTtl`, renewals answering whole seconds capped at the max, expired or revoked
// leases "lease not found" (400), and a switch that makes every call unavailable. Only for the timing unit tests;
// the integration tests use the real emulator through node-vault.
import type { CallReply } from '../../agent/backends/vault/dynamic-client.js';
import type { CallSource } from '../../agent/dynamic/keeper.js';
import type { FakeClock } from '../helpers/fake-clock.js';

export interface FakeLease {
  readonly id: string;
  readonly issuedAt: number;
  expiresAt: number;
  revoked: boolean;
}

export type Issue = (now: number, n: number) => { body: Record<string, unknown> };

export class FakeLeases implements CallSource {
  readonly leases: FakeLease[] = [];
  /** Every request: `call GET database/creds/x`, `renew <id> 3`, `revoke <id>`. */
  readonly log: string[] = [];
  down = false;
  refuseRenewals = false;
  #issued = 0;
  readonly #tokenListeners = new Set<(end: number | undefined) => void>();

  /** The agent logged in again; the old token ends at `end` (what the token manager reports). */
  replaceToken(end: number | undefined): void {
    for (const listener of this.#tokenListeners) listener(end);
  }

  constructor(private readonly clock: FakeClock, private readonly options: { ttl: number; maxTtl: number; renewable?: boolean; issue?: Issue; token?: string; tokenEnd?: number }) {}

  readonly client: CallSource['client'] = {
    call: (method, path) => {
      this.log.push(`call ${method} ${path}`);
      if (this.down) return Promise.resolve(unavailable);
      const now = this.clock.now();
      const n = ++this.#issued;
      if (this.options.issue) return Promise.resolve({ kind: 'ok', body: this.options.issue(now, n).body });
      const lease: FakeLease = { id: `${path}/lease${n}`, issuedAt: now, expiresAt: now + this.options.ttl * 1000, revoked: false };
      this.leases.push(lease);
      return Promise.resolve({ kind: 'ok', body: { lease_id: lease.id, lease_duration: this.options.ttl, renewable: this.options.renewable ?? true, data: { username: `user${n}`, password: `password-${n}-secret` } } });
    },
    renew: (leaseId, increment) => {
      this.log.push(`renew ${leaseId} ${increment}`);
      if (this.down) return Promise.resolve(unavailable);
      const now = this.clock.now();
      const lease = this.live(leaseId, now);
      if (lease === undefined || this.refuseRenewals) return Promise.resolve({ kind: 'refused', status: 400, reason: 'lease not found' } satisfies CallReply);
      lease.expiresAt = Math.min(now + increment * 1000, lease.issuedAt + this.options.maxTtl * 1000);
      return Promise.resolve({ kind: 'ok', body: { lease_id: leaseId, renewable: true, lease_duration: Math.floor((lease.expiresAt - now) / 1000) } });
    },
    sameToken: (other) => this.options.token !== undefined && tokens.get(other as object) === this.options.token,
    tokenExpiresAt: () => this.options.tokenEnd,
    onTokenReplaced: (listener) => {
      this.#tokenListeners.add(listener);
      return () => { this.#tokenListeners.delete(listener); };
    },
    revoke: (leaseId) => {
      this.log.push(`revoke ${leaseId}`);
      const lease = this.leases.find((l) => l.id === leaseId);
      if (lease) lease.revoked = true;
      return Promise.resolve({ kind: 'ok', body: '' });
    },
  };

  /** Register the client's token for sameToken (a reload builds another FakeLeases). */
  registered(): this {
    tokens.set(this.client, this.options.token);
    return this;
  }

  start(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  /** The lease if it exists, is not revoked and has not expired at `now`. */
  live(leaseId: string, now: number): FakeLease | undefined {
    return this.leases.find((l) => l.id === leaseId && !l.revoked && now < l.expiresAt);
  }
}

const tokens = new WeakMap<object, string | undefined>();

const unavailable: CallReply = { kind: 'unavailable', reason: 'vault http://127.0.0.1:1: connection refused (ECONNREFUSED)' };
