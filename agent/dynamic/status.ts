// What /v1/status and the lease metrics say about each `vault` helper call (docs/vault.md "Shutdown, metrics and
// status"): when its lease or certificate ends, what the keeper does next and when, the last problem — never a value,
// never a lease id.
import type { Action, Held } from './held.js';
import type { VaultCall } from './identity.js';

export interface CallStatus {
  /** The call's identity: method, path and the template's parameter literals. */
  call: string;
  path: string;
  lease?: { expiresAt: string; ttlSeconds: number; renewable: boolean; renewals: number; capped: boolean };
  certificate?: { expiresAt: string };
  next?: { action: Action; at: string };
  /** True when the credentials ended and no new ones could be obtained: the templates report ERR_LEASE_EXPIRED. */
  expired: boolean;
  lastError?: string;
}

interface EntryView {
  readonly identity: string;
  readonly call: VaultCall;
  readonly held: Held | undefined;
  readonly next: { action: Action; at: number } | undefined;
  readonly expired: boolean;
  readonly lastError: string | undefined;
  /** When the credentials stop working as the keeper knows it: their own end, or the end of the token that made the lease. */
  readonly end: number | undefined;
}

/** The lease's end, no later than the credentials' (a token that ended took the lease with it). */
function leaseEnd(entry: EntryView): number | undefined {
  const end = entry.held?.leaseEndsAt;
  return end === undefined ? undefined : Math.min(end, entry.end ?? end);
}

export function callStatus(entry: EntryView, now: number): CallStatus {
  const { held } = entry;
  const status: CallStatus = { call: entry.identity, path: entry.call.path, expired: entry.expired || (held !== undefined && (entry.end ?? Number.POSITIVE_INFINITY) <= now) };
  const end = leaseEnd(entry);
  if (held !== undefined && end !== undefined) {
    status.lease = { expiresAt: new Date(end).toISOString(), ttlSeconds: Math.max(0, Math.floor((end - now) / 1000)), renewable: held.response.renewable && !held.capped, renewals: held.renewals, capped: held.capped };
  }
  if (held?.response.certificateExpiresAt !== undefined) status.certificate = { expiresAt: new Date(held.response.certificateExpiresAt).toISOString() };
  if (entry.next !== undefined && held !== undefined) status.next = { action: entry.next.action, at: new Date(entry.next.at).toISOString() };
  if (entry.lastError !== undefined) status.lastError = entry.lastError;
  return status;
}

/** Remaining lease seconds per call path at `now` (the shortest when several calls share a path). */
export function leaseTtlsOf(entries: Iterable<EntryView>, now: number): Map<string, number> {
  const ttls = new Map<string, number>();
  for (const entry of entries) {
    const end = leaseEnd(entry);
    if (end === undefined) continue;
    const seconds = Math.max(0, Math.floor((end - now) / 1000));
    ttls.set(entry.call.path, Math.min(seconds, ttls.get(entry.call.path) ?? Number.POSITIVE_INFINITY));
  }
  return ttls;
}

/** Certificate end (Unix seconds) per call path, the earliest when several calls share a path. */
export function certificateExpiriesOf(entries: Iterable<Pick<EntryView, 'call' | 'held'>>): Map<string, number> {
  const ends = new Map<string, number>();
  for (const entry of entries) {
    const end = entry.held?.response.certificateExpiresAt;
    if (end !== undefined) ends.set(entry.call.path, Math.min(end / 1000, ends.get(entry.call.path) ?? Number.POSITIVE_INFINITY));
  }
  return ends;
}
