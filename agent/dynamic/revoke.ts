// vault.revokeOnShutdown (docs/vault.md "Shutdown, metrics and status"): every lease the agent made that may still
// live is revoked — the held ones, and the ones it let go without revoking (replaced ones, which processes may still
// use until they end, and those of templates removed by a reload). Never a lease id in a log line.
import type { DynamicClient } from '../backends/vault/dynamic-client.js';
import type { Logger } from '../log/logger.js';

export interface HeldLease {
  /** The call that made it, for log lines (the lease id is not logged). */
  readonly call: string;
  readonly leaseId: string;
  /** Epoch ms it ends at the latest; undefined when unknown. */
  readonly end: number | undefined;
}

// Why a bound: a lease without a known end (lease_duration 0) never drops out, and such a response is asked for
// again at every cycle; the newest leases are the ones most likely still in use.
const MAX_RETIRED = 1000;

/** Leases let go while they may still live; the ended ones are dropped as new ones come, so the list stays small. */
export class Retired {
  #leases: HeldLease[] = [];

  /** Keep `lease` (of an entry let go: no timer looks after it any more) for revokeAll. */
  add(lease: HeldLease | undefined, now: number): void {
    if (lease !== undefined) this.#leases = [...this.live(now).filter((kept) => kept.leaseId !== lease.leaseId), lease].slice(-MAX_RETIRED);
  }

  live(now: number): HeldLease[] {
    return this.#leases.filter((lease) => lease.end === undefined || now < lease.end);
  }
}

/** Revoke `leases` one after the other; how many Vault revoked. */
export async function revokeLeases(client: Pick<DynamicClient, 'revoke'> | undefined, leases: readonly HeldLease[], log: Logger | undefined): Promise<number> {
  let revoked = 0;
  for (const lease of leases) {
    if (client === undefined) break;
    try {
      const reply = await client.revoke(lease.leaseId);
      if (reply.kind === 'ok') revoked += 1;
      else log?.warn({ call: lease.call, reason: reply.reason }, `could not revoke a lease of ${lease.call}: ${reply.reason}`);
    } catch (error) {
      log?.warn({ call: lease.call }, `could not revoke a lease of ${lease.call}: ${(error as Error).message}`);
    }
  }
  log?.info({ revoked }, `revoked ${revoked} lease(s) (vault.revokeOnShutdown)`);
  return revoked;
}
