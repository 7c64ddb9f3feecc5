// When to renew and when to retry, as pure functions of the TTL, the attempt and a Random, so the
// schedule is tested exactly and thousands of agents do not reach Vault in the same second (docs/docker.md).
import type { Random } from '../../../util/clock.js';

/** Login and renewal retries: 1 s doubling to 30 s, each delay jittered to 50-100% of its step. */
export const RETRY_MIN_MS = 1000;
export const RETRY_MAX_MS = 30_000;

// Why: jitter only ever moves renewal earlier, so a jittered renewal is never later than 2/3 of the TTL.
/** Milliseconds until renewal of a token with `ttlSeconds` left: in [0.6, 2/3) of the TTL. */
export function renewDelay(ttlSeconds: number, random: Random): number {
  // ttl × 2/3 × (0.9 + 0.1 × random), computed in an order that keeps whole milliseconds exact.
  return Math.floor((ttlSeconds * 1000 * 2 * (9 + random())) / 30);
}

/** Milliseconds before retry number `attempt` (0-based): equal jitter over an exponential step. */
export function retryDelay(attempt: number, random: Random): number {
  const step = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 30));
  return Math.floor(step / 2 + (step / 2) * random());
}
