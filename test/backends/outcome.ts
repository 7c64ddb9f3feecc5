// Outcomes compared whole, minus `meta` (which secret was read, its version's creation time): the tests of
// meta assert it on its own (vault.test.ts, aws-reads.test.ts), the rest compare what a template receives.
import type { Outcome } from '../../agent/backends/backend.js';
import type { AgentError } from '../../agent/errors.js';

export function withoutMeta(outcome: Outcome | undefined): unknown {
  if (outcome?.status !== 'found') return outcome;
  return Object.fromEntries(Object.entries(outcome).filter(([key]) => key !== 'meta'));
}

/** The error of a fetch that must end in an `error` outcome (a body or value the agent cannot use); fails otherwise. */
export async function errorOf(outcome: Promise<Outcome>): Promise<AgentError> {
  const result = await outcome;
  if (result.status !== 'error') throw new Error(`expected an error outcome, got ${JSON.stringify(result)}`);
  return result.error;
}
