// When each dynamic secret is renewed, replaced, read again or re-issued (docs/vault.md "Lease timing"), as pure
// functions of the clock's `now`, the lifetimes Vault gave and a Random, so the schedule is unit-tested exactly and
// a fleet of agents holding the same lease TTL does not reach Vault in the same second.
import { renewDelay } from '../backends/vault/auth/timing.js';
import type { Random } from '../util/clock.js';

/** Epoch ms of the renewal of a lease that has `leaseSeconds` left at `now`: in [0.6, 2/3) of it (the token's rule). */
export function renewAt(now: number, leaseSeconds: number, random: Random): number {
  return now + renewDelay(leaseSeconds, random);
}

// Why 85-90 %: the lease cannot be extended, so the new one is asked for as late as still leaves a tenth of the
// remaining life to fetch, render, write and notify before the old credentials stop working. Why `marginMs`: the
// last renewal before the max TTL may leave a sliver (Vault grants whatever is left, down to 1 s), and a tenth of a
// sliver is no time to reload an application; the keeper passes a tenth of the lease's own duration.
/** Epoch ms at which to ask for a new lease that ends at `expiresAt` whatever we do; at least `marginMs` before it. */
export function replaceAt(now: number, expiresAt: number, random: Random, marginMs = 0): number {
  const remaining = Math.max(0, expiresAt - now);
  const late = now + Math.floor((remaining * (85 + 5 * random())) / 100);
  return Math.max(now, Math.min(late, expiresAt - marginMs));
}

/** Epoch ms of the re-read of a response without a lease but with `seconds` of `lease_duration` (advisory TTL). */
export function rereadAt(now: number, seconds: number, random: Random): number {
  return now + renewDelay(seconds, random);
}

/** Epoch ms at which a certificate issued at `issuedAt` and valid until `expiresAt` is issued again: ~2/3 of its validity. */
export function reissueAt(issuedAt: number, expiresAt: number, random: Random): number {
  return issuedAt + renewDelay(Math.max(0, expiresAt - issuedAt) / 1000, random);
}

/**
 * Whether a renewal that was asked `askedSeconds` and granted `grantedSeconds` still extends the lease: Vault caps
 * a renewal at the lease's max TTL, so less than asked means the end is now fixed and only a new lease helps.
 */
export function renewalExtends(askedSeconds: number, grantedSeconds: number, renewable: boolean): boolean {
  return renewable && grantedSeconds > 0 && grantedSeconds >= askedSeconds;
}
