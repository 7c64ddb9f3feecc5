// One held response to a `vault` helper call and its timeline (docs/vault.md "Lease timing"): when the credentials
// stop working, and the next thing to do about it — renew the lease, replace it, read the path again or issue the
// certificate again. Times are decided once, when the event that sets them happens, so the jitter is drawn once.
import type { Random } from '../util/clock.js';
import type { CallResponse } from './response.js';
import { reissueAt, renewAt, renewalExtends, replaceAt, rereadAt } from './timing.js';

export type Action = 'renew' | 'replace' | 'reread' | 'reissue';

export interface Held {
  readonly response: CallResponse;
  readonly obtainedAt: number;
  /** Seconds asked at every renewal: the lease's first duration. */
  readonly increment: number;
  /** Epoch ms the lease ends (moves with each renewal); undefined without a lease. */
  leaseEndsAt: number | undefined;
  /** True once a renewal could not extend the lease (max TTL): its end is fixed. */
  capped: boolean;
  /** When the token that made the lease ends, once that token was replaced: Vault revokes the lease with it. */
  tokenEndsAt: number | undefined;
  renewals: number;
  /** Planned epoch ms of each kind of action; the earliest one is next. */
  readonly plan: Partial<Record<Action, number>>;
}

/** A response just obtained at `now`, with its first plan. */
export function holdResponse(response: CallResponse, now: number, random: Random): Held {
  const held: Held = {
    response,
    obtainedAt: now,
    increment: response.leaseSeconds,
    leaseEndsAt: response.leaseId !== undefined && response.leaseSeconds > 0 ? now + response.leaseSeconds * 1000 : undefined,
    capped: false,
    tokenEndsAt: undefined,
    renewals: 0,
    plan: {},
  };
  if (response.certificateExpiresAt !== undefined) held.plan.reissue = reissueAt(now, response.certificateExpiresAt, random);
  if (held.leaseEndsAt !== undefined) {
    if (response.renewable) held.plan.renew = renewAt(now, response.leaseSeconds, random);
    else held.plan.replace = replaceAt(now, held.leaseEndsAt, random);
  } else if (response.leaseSeconds > 0 && response.certificateExpiresAt === undefined) {
    held.plan.reread = rereadAt(now, response.leaseSeconds, random);
  }
  return held;
}

/** A renewal at `now` granted `grantedSeconds`: renew again at 2/3, or — capped — plan the replacement. */
export function renewed(held: Held, now: number, grantedSeconds: number, renewable: boolean, random: Random): 'renewed' | 'max_ttl' {
  const granted = now + grantedSeconds * 1000;
  held.leaseEndsAt = Math.min(granted, held.tokenEndsAt ?? granted);
  held.renewals += 1;
  if (renewalExtends(held.increment, grantedSeconds, renewable) && held.leaseEndsAt === granted) {
    held.plan.renew = renewAt(now, grantedSeconds, random);
    return 'renewed';
  }
  delete held.plan.renew;
  held.capped = true;
  held.plan.replace = replaceAt(now, held.leaseEndsAt, random, marginOf(held));
  return 'max_ttl';
}

/**
 * Renewal is not possible any more: `gone` (Vault no longer knows the lease: revoked or expired behind our back), so
 * it has ended now; `refused` (not renewable, another namespace), replace now; `denied` (no policy to renew), replace
 * at 85-90 % of what is left.
 */
export function cannotRenew(held: Held, now: number, why: 'gone' | 'refused' | 'denied', random: Random): void {
  delete held.plan.renew;
  held.capped = true;
  // Why end it: a revoked lease's credentials no longer work, so they must not be served while no new lease comes.
  if (why === 'gone') held.leaseEndsAt = Math.min(now, held.leaseEndsAt ?? now);
  held.plan.replace = why !== 'denied' || held.leaseEndsAt === undefined ? now : replaceAt(now, held.leaseEndsAt, random, marginOf(held));
}

/** The least time a replacement leaves before the old lease ends: a tenth of the lease's first duration. */
function marginOf(held: Held): number {
  return held.increment * 100;
}

/**
 * The token that made the lease was replaced and ends at `tokenEndsAt`: the lease ends then at the latest. Renewals
 * go on while they are due before the replacement that this end requires; true when the plan changed.
 */
export function tokenEnds(held: Held, now: number, tokenEndsAt: number, random: Random): boolean {
  if (held.leaseEndsAt === undefined || tokenEndsAt >= held.leaseEndsAt) {
    held.tokenEndsAt = Math.min(tokenEndsAt, held.tokenEndsAt ?? tokenEndsAt);
    return false;
  }
  held.tokenEndsAt = tokenEndsAt;
  held.leaseEndsAt = tokenEndsAt;
  const replace = replaceAt(now, tokenEndsAt, random, marginOf(held));
  if (held.plan.renew !== undefined && held.plan.renew < replace) return false;
  delete held.plan.renew;
  held.capped = true;
  held.plan.replace = Math.min(replace, held.plan.replace ?? replace);
  return true;
}

/** Epoch ms the credentials stop working: the lease's end or the certificate's, whichever is first. */
export function endsAt(held: Held): number | undefined {
  const ends = [held.leaseEndsAt, held.response.certificateExpiresAt].filter((at): at is number => at !== undefined);
  return ends.length === 0 ? undefined : Math.min(...ends);
}

// Why the token: Vault revokes a token's leases when the token ends, so a token nothing renewed or replaced (a
// static token past its TTL) ends the leases it made, whatever their TTL. A lease Vault gave after that end shows the
// token lives on (renewed elsewhere), so the end is not applied to it (else every cycle would ask for another lease).
/** When the credentials stop working, `tokenEnd` being the end of the token requests carry now (if known). */
export function endsWithToken(held: Held, tokenEnd: number | undefined): number | undefined {
  const end = endsAt(held);
  // A lease of a replaced token has its end in tokenEndsAt already; the current token did not make it.
  if (tokenEnd === undefined || held.response.leaseId === undefined || held.tokenEndsAt !== undefined || held.obtainedAt >= tokenEnd) return end;
  return Math.min(tokenEnd, end ?? tokenEnd);
}

/** The next planned action and its time; undefined for a response without any lifetime (read again every cycle). */
export function nextAction(held: Held): { action: Action; at: number } | undefined {
  let next: { action: Action; at: number } | undefined;
  for (const [action, at] of Object.entries(held.plan) as [Action, number][]) if (next === undefined || at < next.at) next = { action, at };
  return next;
}

/** True when the response has a lifetime the keeper looks after (so a cycle serves it without asking Vault). */
export function isKept(held: Held): boolean {
  return Object.keys(held.plan).length > 0;
}
