// Which backend a rotation may write to: the one the chain serves the path from - and only when every backend above
// it said it does not hold the path. The chain moves past a backend that cannot answer (Vault sealed, unreachable);
// a value found lower (an old copy left by a migration) is then served, but a new version written there would not
// be: once the higher backend answers again it serves its old value, while the operator (or the audit record) says
// the secret was rotated and the old credential gets revoked.
import type { Backend, BackendName, SecretRef } from '../backends/backend.js';
import { AgentError } from '../errors.js';
import type { Resolution } from '../store/store.js';

/** Ask one backend alone for `ref` (a pinned request). */
export type PinnedResolve = (ref: SecretRef, backend: BackendName) => Promise<Resolution>;

/** ERR_BACKEND_UNAVAILABLE unless every backend above `served` in `chain` answers that it does not hold `ref`. */
export async function assertServedBy(chain: readonly Backend[], served: BackendName, ref: SecretRef, resolve: PinnedResolve): Promise<void> {
  const index = chain.findIndex((backend) => backend.name === served);
  for (const higher of chain.slice(0, Math.max(0, index))) {
    const answer = await resolve(ref, higher.name);
    if (answer.status === 'not_found') continue;
    const why = answer.status === 'found' ? 'now holds it too' : `could not answer (${answer.error.code})`;
    throw new AgentError('ERR_BACKEND_UNAVAILABLE', `cannot tell which backend serves "${ref.path}": ${higher.name}, above ${served} in the chain, ${why}; a new version written to ${served} would not be the value served once ${higher.name} answers, so nothing was written - try again when ${higher.name} is back (or name the backend to write to)`, { details: { path: ref.path, backend: higher.name, served } });
  }
}
