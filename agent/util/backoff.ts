// Exponential backoff with full jitter (docs/configuration.md `retry`): attempt n waits a uniform random time up to
// min(max, min·2ⁿ), never less than `min`, so a fleet that failed together does not retry together.
import type { Random } from './clock.js';

export interface BackoffPolicy {
  readonly min: number;
  readonly max: number;
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: Random): number {
  const cap = Math.min(policy.max, policy.min * 2 ** Math.min(attempt, 52));
  return Math.max(policy.min, Math.floor(random() * cap));
}
