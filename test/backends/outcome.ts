// Outcomes compared whole, minus `meta` (which secret was read, its version's creation time): the tests of
// meta assert it on its own (vault.test.ts, aws-reads.test.ts), the rest compare what a template receives.
import type { Outcome } from '../../agent/backends/backend.js';

export function withoutMeta(outcome: Outcome | undefined): unknown {
  if (outcome?.status !== 'found') return outcome;
  return Object.fromEntries(Object.entries(outcome).filter(([key]) => key !== 'meta'));
}
