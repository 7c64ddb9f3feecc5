// What the agent needs from a Vault response to a `vault` helper call (docs/vault.md "Dynamic secrets"): the `data`
// templates read, and its lifetime: a lease (`lease_id`, `lease_duration`, `renewable`), a bare `lease_duration`, or a
// certificate's end (PKI's `expiration`, else the certificate's NotAfter). Never a value in an error.
import { X509Certificate } from 'node:crypto';
import { AgentError } from '../errors.js';

export interface CallResponse {
  /** The response's `data` ({} when Vault answered 204 or `data: null`). */
  readonly data: Readonly<Record<string, unknown>>;
  /** Set when Vault made a lease for this response. */
  readonly leaseId: string | undefined;
  /** `lease_duration` in seconds (0: none). */
  readonly leaseSeconds: number;
  readonly renewable: boolean;
  /** Epoch ms at which the certificate in `data` stops being valid, when there is one. */
  readonly certificateExpiresAt: number | undefined;
  /** Vault's `warnings` (a TTL capped at the role's max, a deprecated parameter): worth a log line. */
  readonly warnings: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parse a response body; `where` (`vault <address>: PUT pki/issue/x`) names it in errors. */
export function parseCallResponse(body: unknown, where: string): CallResponse {
  // Why: Vault answers a write that returns nothing with 204, which node-vault resolves as "".
  if (body === '' || body === undefined) return { data: {}, leaseId: undefined, leaseSeconds: 0, renewable: false, certificateExpiresAt: undefined, warnings: [] };
  if (!isRecord(body)) throw new AgentError('ERR_BACKEND_RESPONSE', `${where}: the response is not a JSON object`, { details: { backend: 'vault' } });
  const data = body['data'] ?? {};
  if (!isRecord(data)) throw new AgentError('ERR_BACKEND_RESPONSE', `${where}: the response's "data" is not an object`, { details: { backend: 'vault' } });
  const leaseId = typeof body['lease_id'] === 'string' && body['lease_id'] !== '' ? body['lease_id'] : undefined;
  const leaseSeconds = typeof body['lease_duration'] === 'number' && body['lease_duration'] > 0 ? body['lease_duration'] : 0;
  const warnings = Array.isArray(body['warnings']) ? body['warnings'].filter((warning): warning is string => typeof warning === 'string') : [];
  return { data, leaseId, leaseSeconds, renewable: body['renewable'] === true, certificateExpiresAt: certificateExpiry(data), warnings };
}

/** PKI's `expiration` (Unix seconds), else the NotAfter of a PEM `certificate`; undefined when there is neither. */
export function certificateExpiry(data: Readonly<Record<string, unknown>>): number | undefined {
  const expiration = data['expiration'];
  if (typeof expiration === 'number' && expiration > 0) return expiration * 1000;
  const pem = data['certificate'];
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) return undefined;
  try {
    const at = Date.parse(new X509Certificate(pem).validTo);
    return Number.isNaN(at) ? undefined : at;
  } catch {
    return undefined;
  }
}

// Why: a certificate that ended before it came (this machine's clock ahead of Vault's) must not be written, and
// holding it would plan its re-issue at once, again and again, with no backoff.
/** ERR_BACKEND_RESPONSE when the response's certificate had already ended at `now`, when it arrived. */
export function endedOnArrival(response: CallResponse, now: number, where: string, path: string): AgentError | undefined {
  const end = response.certificateExpiresAt;
  if (end === undefined || end > now) return undefined;
  return new AgentError('ERR_BACKEND_RESPONSE', `${where}: the certificate Vault returned had already ended at ${new Date(end).toISOString()} (is this machine's clock ahead of Vault's?)`, { details: { backend: 'vault', path } });
}

/** The renewal's answer: the new `lease_duration` (top level, as sys/leases/renew returns it) and `renewable`. */
export function parseRenewal(body: unknown, where: string): { leaseSeconds: number; renewable: boolean } {
  if (!isRecord(body) || typeof body['lease_duration'] !== 'number') throw new AgentError('ERR_BACKEND_RESPONSE', `${where}: the renewal has no lease_duration`, { details: { backend: 'vault' } });
  return { leaseSeconds: Math.max(0, body['lease_duration']), renewable: body['renewable'] === true };
}

/** Every string inside `value` (nested objects and arrays included): what the scrubber must know. */
export function stringLeaves(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) stringLeaves(item, into);
  else if (isRecord(value)) for (const item of Object.values(value)) stringLeaves(item, into);
  return into;
}
