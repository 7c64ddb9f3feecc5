// What one request for a `vault` helper call came to, before the keeper decides what it means for the cycle or
// timer that made it; and the resolution a held response serves. Never a value in an error.
import type { SecretData } from '../backends/backend.js';
import { AgentError } from '../errors.js';
import type { Resolution } from '../store/chain-walk.js';
import type { Held } from './held.js';
import type { VaultCall } from './identity.js';

export type Obtained = { ok: true; data: SecretData; changed: boolean } | { ok: false; error: AgentError; kind: 'not_found' | 'failed' };

export function found(held: Held): Extract<Resolution, { status: 'found' }> {
  return { status: 'found', data: held.response.data as unknown as SecretData, backend: 'vault' };
}

export function fail(code: 'ERR_BACKEND_UNAVAILABLE' | 'ERR_SECRET_DENIED' | 'ERR_BACKEND_RESPONSE', message: string, call: VaultCall): Obtained {
  return { ok: false, kind: 'failed', error: new AgentError(code, message, { details: { backend: 'vault', path: call.path } }) };
}

/** ERR_LEASE_EXPIRED: the held credentials of `identity` ended at `end` and no new ones could be had. */
export function expiredError(identity: string, path: string, held: Held, end: number, reason: string): AgentError {
  const what = held.response.leaseId === undefined ? 'certificate' : 'lease';
  return new AgentError('ERR_LEASE_EXPIRED', `vault: the ${what} of ${identity} ended at ${new Date(end).toISOString()} and no new one could be obtained (${reason}); the file keeps its last content`, { details: { backend: 'vault', path } });
}
