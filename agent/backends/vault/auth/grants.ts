// What Vault says about a token: the `auth` block of a login or renew-self (docs/vault.md) and the
// `data` of lookup-self. Parsed strictly; the token itself is never part of an error message.
import { malformed } from '../kv.js';

/** A token and what is known about its lifetime. */
export interface Grant {
  readonly token: string;
  /** Seconds left; 0 for a token that never expires. */
  readonly ttl: number;
  readonly renewable: boolean;
  /** The increment to ask for on renewal: the TTL the token was created with. */
  readonly increment: number;
}

/** A JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `auth` block of a login or renew-self response. */
export function parseAuth(body: unknown, where: string): Grant {
  const auth = isRecord(body) ? body['auth'] : undefined;
  if (!isRecord(auth)) throw malformed(where, '"auth" is not an object');
  const { client_token: token, lease_duration: ttl, renewable } = auth;
  if (typeof token !== 'string' || token === '' || typeof ttl !== 'number') throw malformed(where, '"auth" lacks client_token or lease_duration');
  return { token, ttl, renewable: renewable === true, increment: ttl };
}

/** The lifetime of `token` from its lookup-self `data`. */
export function parseLookup(body: unknown, token: string, where: string): Grant {
  const data = isRecord(body) ? body['data'] : undefined;
  if (!isRecord(data)) throw malformed(where, '"data" is not an object');
  const { ttl, renewable, creation_ttl: creationTtl, period } = data;
  if (typeof ttl !== 'number') throw malformed(where, '"data.ttl" is not a number');
  const increment = typeof period === 'number' && period > 0 ? period : typeof creationTtl === 'number' && creationTtl > 0 ? creationTtl : ttl;
  return { token, ttl, renewable: renewable === true, increment };
}
