// The lease keeper (docs/vault.md "Dynamic secrets"): one held response per `vault` helper call, shared by every
// template that makes it, and per-call timers independent of `schedule`: a lease is renewed at ~2/3 of its duration
// and replaced at 85-90 % of what is left once renewal stops extending it; a response with only a lease_duration is
// read again at ~2/3 of it; a certificate is issued again at ~2/3 of its validity. Failures are retried with the
// configured backoff; the last credentials are served until they really end, and after that the call fails with
// ERR_LEASE_EXPIRED so its templates keep their files and say why. A replacement asks the agent to render the
// templates that use the call (onChange). All time goes through the Clock, so the schedule is tested exactly.
import type { DynamicClient } from '../backends/vault/dynamic-client.js';
import type { SecretData } from '../backends/backend.js';
import { AgentError, isAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Resolution } from '../store/chain-walk.js';
import { backoffDelay } from '../util/backoff.js';
import type { BackoffPolicy } from '../util/backoff.js';
import { systemClock, systemRandom } from '../util/clock.js';
import type { Clock, Random, TimerHandle } from '../util/clock.js';
import { cannotRenew, endsWithToken, holdResponse, isKept, nextAction, renewed, tokenEnds } from './held.js';
import type { Action, Held } from './held.js';
import { parseCallIdentity } from './identity.js';
import type { VaultCall } from './identity.js';
import { expiredError, fail, found } from './obtained.js';
import type { Obtained } from './obtained.js';
import { endedOnArrival, parseCallResponse, parseRenewal } from './response.js';
import { Retired, revokeLeases } from './revoke.js';
import type { HeldLease } from './revoke.js';
import { callStatus, certificateExpiriesOf, leaseTtlsOf } from './status.js';
import type { CallStatus } from './status.js';

// Why: Node runs a timer longer than 2^31-1 ms (24.8 days) after 1 ms, so a 10-year CA certificate or a 90-day lease
// would be asked for again in a loop; a longer wait is a wake-up that only re-arms (#onTimer).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Where calls go: the Vault backend of the current store. */
export interface CallSource {
  readonly client: Pick<DynamicClient, 'call' | 'renew' | 'revoke'> & Partial<Pick<DynamicClient, 'onTokenReplaced' | 'sameToken' | 'tokenExpiresAt'>>;
  /** Start the backend (log in) once; the reason when it cannot now. */
  start(): Promise<string | undefined>;
}

/** `vault_lease_renewals_total{result}`: renewed, max_ttl (renewed but capped), refused, failed, replaced. */
export type RenewalResult = 'renewed' | 'max_ttl' | 'refused' | 'failed' | 'replaced';

export interface KeeperEvents {
  /** Held responses were replaced, or ended without a replacement: render the templates that use these calls. */
  onChange?(identities: readonly string[]): void;
  onRenewal?(result: RenewalResult): void;
}

export interface KeeperOptions {
  readonly clock?: Clock;
  readonly random?: Random;
  /** The configuration's `retry` backoff, for failed renewals and replacements. */
  readonly retry?: BackoffPolicy;
  /** false (`once`, `check --diff`): no timers; every resolve asks Vault. */
  readonly keep?: boolean;
  readonly log?: Logger | undefined;
  readonly events?: KeeperEvents;
}

interface Entry {
  readonly identity: string;
  readonly call: VaultCall;
  held: Held | undefined;
  pending: Promise<Resolution> | undefined;
  timer: TimerHandle | undefined;
  next: { action: Action; at: number } | undefined;
  /** Consecutive failures of the planned action. */
  attempt: number;
  lastError: string | undefined;
  /** True once the held credentials ended without a replacement (announced once). */
  expired: boolean;
}

export class LeaseKeeper {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #retry: BackoffPolicy;
  readonly #keep: boolean;
  readonly #log: Logger | undefined;
  readonly #events: KeeperEvents;
  readonly #entries = new Map<string, Entry>();
  readonly #busy = new Set<Promise<unknown>>();
  /** Leases no entry holds any more (replaced, or their templates removed) that may still live: for revokeAll. */
  readonly #retired = new Retired();
  #source: CallSource | undefined;
  /** The oldest backend replaced by a reload whose token's leases are not capped yet: its new backend never started. */
  #handingOver: { from: CallSource; at: number } | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(options: KeeperOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    this.#retry = options.retry ?? { min: 250, max: 60_000 };
    this.#keep = options.keep ?? true;
    this.#log = options.log;
    this.#events = options.events ?? {};
  }

  /** One resolution per call identity: the held response while it is good, else one request to Vault. */
  async resolve(identities: readonly string[], source: CallSource | undefined): Promise<Map<string, Resolution>> {
    const previous = this.#source;
    this.#source = source;
    if (source?.client !== previous?.client) {
      this.#unsubscribe?.();
      this.#unsubscribe = source?.client.onTokenReplaced?.((end) => { this.#tokenReplaced(end); });
      if (previous !== undefined) this.#handingOver ??= { from: previous, at: this.#clock.now() };
      // A timer may wait for the end of the token requests carried: the new backend's token has its own end.
      for (const entry of this.#entries.values()) if (entry.timer !== undefined && entry.attempt === 0) this.#schedule(entry);
    }
    if (this.#handingOver !== undefined && source !== undefined) await this.#handOver(this.#handingOver, source);
    const entries = await Promise.all(identities.map(async (identity) => [identity, await this.#resolveOne(identity)] as const));
    return new Map(entries);
  }

  /** Forget calls no template makes any more (their leases are left to expire, or revoked by revokeAll). */
  retain(identities: Iterable<string>): void {
    const keep = new Set(identities);
    for (const [identity, entry] of this.#entries) {
      if (keep.has(identity)) continue;
      entry.timer?.cancel();
      this.#entries.delete(identity);
      this.#retired.add(this.#leaseOf(entry), this.#clock.now());
    }
  }

  /** Every call's lease or certificate, for /v1/status; never a value or a lease id. */
  status(): CallStatus[] {
    const now = this.#clock.now();
    return this.#views().map((entry) => callStatus(entry, now));
  }

  /** Remaining lease seconds per call path (the shortest when several calls share a path), for vault_lease_ttl_seconds. */
  leaseTtls(): Map<string, number> {
    return leaseTtlsOf(this.#views(), this.#clock.now());
  }

  /** Certificate end (Unix seconds) per call path, for certificate_expiry_timestamp_seconds. */
  certificateExpiries(): Map<string, number> {
    return certificateExpiriesOf(this.#entries.values());
  }

  /** Resolves when no request of the keeper is in flight (tests step a fake clock with it). */
  async settled(): Promise<void> {
    while (this.#busy.size > 0) await Promise.allSettled([...this.#busy]);
  }

  /** SIGTERM with vault.revokeOnShutdown: revoke every lease the agent made that still lives; how many Vault revoked. */
  async revokeAll(): Promise<number> {
    await this.settled();
    const held = [...this.#entries.values()].map((entry) => this.#leaseOf(entry)).filter((lease): lease is HeldLease => lease !== undefined);
    const now = this.#clock.now(); // the ended ones are gone from Vault already: a request each is only load
    const live = [...this.#retired.live(now), ...held].filter((lease) => lease.end === undefined || now < lease.end);
    return revokeLeases(this.#source?.client, live, this.#log);
  }

  /** Stop every timer; held responses are dropped with the keeper. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    for (const entry of this.#entries.values()) entry.timer?.cancel();
  }

  // Why: Vault revokes the leases a token made when that token ends. After a new login the old token lives on
  // until its own end, and so do the leases it made — not longer, whatever their TTL says.
  #tokenReplaced(end: number | undefined, madeBefore?: number): void {
    if (end === undefined || this.#closed) return;
    const now = this.#clock.now();
    for (const entry of this.#entries.values()) {
      const held = entry.held;
      if (held === undefined || held.obtainedAt > (madeBefore ?? now) || !tokenEnds(held, now, end, this.#random)) continue;
      this.#log?.info({ call: entry.identity, tokenEndsAt: new Date(end).toISOString() }, `the token that made the lease of ${entry.identity} was replaced and ends at ${new Date(end).toISOString()}; a new lease is requested before then`);
      if (!entry.pending) this.#schedule(entry);
    }
  }

  // Why: a reload (SIGHUP) builds a new Vault backend, which may log in with a new token; the old one is no longer
  // renewed, so the leases it made end when it does, like after a new login. Whether the token is another one is
  // known once the new backend has started: a reload during an outage is checked at a later cycle, not skipped.
  async #handOver(pending: { from: CallSource; at: number }, next: CallSource): Promise<void> {
    if ((await next.start()) !== undefined || this.#handingOver !== pending) return;
    this.#handingOver = undefined;
    if (pending.from.client.sameToken?.(next.client) !== false) return;
    this.#tokenReplaced(pending.from.client.tokenExpiresAt?.(), pending.at);
  }

  async #resolveOne(identity: string): Promise<Resolution> {
    let entry = this.#entries.get(identity);
    if (!entry) {
      const call = parseCallIdentity(identity);
      if (!call) return { status: 'failed', error: new AgentError('ERR_TEMPLATE_RENDER', `"${identity}" is not a vault helper call`) };
      entry = { identity, call, held: undefined, pending: undefined, timer: undefined, next: undefined, attempt: 0, lastError: undefined, expired: false };
      this.#entries.set(identity, entry);
    }
    if (entry.pending) return entry.pending;
    const held = entry.held;
    if (this.#keep && held !== undefined && isKept(held) && !this.#ended(held)) {
      // While a renewal or replacement keeps failing, what is served is stale, and says why.
      return entry.lastError === undefined ? found(held) : { ...found(held), stale: { reason: entry.lastError } };
    }
    return this.#obtain(entry, 'cycle');
  }

  #ended(held: Held): boolean {
    const end = this.#endOf(held);
    return end !== undefined && this.#clock.now() >= end;
  }

  #endOf(held: Held): number | undefined {
    return endsWithToken(held, this.#source?.client.tokenExpiresAt?.());
  }

  /** The entries with the end their credentials have as far as the keeper knows (the token's included). */
  #views(): (Entry & { end: number | undefined })[] {
    return [...this.#entries.values()].map((entry) => ({ ...entry, end: entry.held === undefined ? undefined : this.#endOf(entry.held) }));
  }

  #leaseOf(entry: Entry): HeldLease | undefined {
    const leaseId = entry.held?.response.leaseId;
    return entry.held === undefined || leaseId === undefined ? undefined : { call: entry.identity, leaseId, end: this.#endOf(entry.held) };
  }

  /** Ask Vault for the call (shared while in flight); from a cycle, or from a timer (a replacement). */
  #obtain(entry: Entry, why: 'cycle' | 'timer'): Promise<Resolution> {
    const run = this.#request(entry).then((obtained) => this.#settle(entry, obtained, why));
    entry.pending = run;
    return this.#track(run.finally(() => { entry.pending = undefined; }));
  }

  async #request(entry: Entry): Promise<Obtained> {
    const source = this.#source;
    const { identity, call } = entry;
    if (source === undefined) return fail('ERR_BACKEND_UNAVAILABLE', `the vault helper needs Vault, and vault.address (VAULT_ADDR) is not set: cannot make the call ${identity}`, call);
    const cannot = await source.start();
    if (cannot !== undefined) return fail('ERR_BACKEND_UNAVAILABLE', `${cannot} (for ${identity})`, call);
    try {
      const sentAt = this.#clock.now();
      const reply = await source.client.call(call.method, call.path, call.params);
      switch (reply.kind) {
        case 'ok': {
          const response = parseCallResponse(reply.body, `vault: ${identity}`);
          const ended = endedOnArrival(response, this.#clock.now(), `vault: ${identity}`, call.path);
          if (ended !== undefined) return { ok: false, kind: 'failed', error: ended };
          const changed = this.#hold(entry, response, sentAt);
          return { ok: true, data: response.data as unknown as SecretData, changed };
        }
        case 'not_found': return { ok: false, kind: 'not_found', error: new AgentError('ERR_SECRET_NOT_FOUND', `vault: ${identity}: ${reply.reason}`, { details: { backend: 'vault', path: call.path } }) };
        case 'denied': return fail('ERR_SECRET_DENIED', `vault: permission denied for ${identity}: ${reply.reason}`, call);
        case 'refused': return fail('ERR_BACKEND_RESPONSE', `vault refused ${identity}: ${reply.reason}`, call);
        case 'unavailable': return fail('ERR_BACKEND_UNAVAILABLE', `vault unavailable for ${identity}: ${reply.reason}`, call);
      }
    } catch (error) {
      if (isAgentError(error)) return { ok: false, kind: 'failed', error };
      return fail('ERR_BACKEND_UNAVAILABLE', `vault call ${identity} failed: ${(error as Error).message}`, call);
    }
  }

  /** A new response replaces the held one and its timers; true when its data differs from the held one's. */
  #hold(entry: Entry, response: ReturnType<typeof parseCallResponse>, sentAt: number): boolean {
    // Why the send time: Vault starts a lease when it handles the request, never before we sent it, so a lease
    // counted from the send ends no later than Vault's (and its timers are planned from the send too).
    const wasExpired = entry.expired;
    this.#retired.add(this.#leaseOf(entry), this.#clock.now());
    const previous = entry.held;
    entry.held = holdResponse(response, sentAt, this.#random);
    // A call retain() dropped while this request was in flight: nothing will renew this lease, but it is the agent's.
    if (this.#entries.get(entry.identity) !== entry) this.#retired.add(this.#leaseOf(entry), this.#clock.now());
    entry.attempt = 0;
    entry.lastError = undefined;
    entry.expired = false;
    const lease = response.leaseId === undefined ? {} : { leaseSeconds: response.leaseSeconds, renewable: response.renewable };
    const certificate = response.certificateExpiresAt === undefined ? {} : { certificateExpiresAt: new Date(response.certificateExpiresAt).toISOString() };
    if (previous !== undefined) this.#events.onRenewal?.('replaced');
    this.#log?.info({ call: entry.identity, ...lease, ...certificate }, `${previous === undefined ? 'obtained' : 'replaced'} ${entry.identity}`);
    // Vault's own words, such as a ttl= capped at the role's max_ttl: the operator asked for something else.
    if (response.warnings.length > 0) this.#log?.warn({ call: entry.identity, warnings: response.warnings.length }, `vault warned about ${entry.identity}: ${response.warnings.join('; ').slice(0, 300)}`);
    this.#schedule(entry);
    // Why compare: a re-read (a bare lease_duration) usually returns the same data, which needs no render.
    return wasExpired || previous === undefined || JSON.stringify(previous.response.data) !== JSON.stringify(response.data);
  }

  /** What a request means for the cycle or timer that made it. */
  #settle(entry: Entry, obtained: Obtained, why: 'cycle' | 'timer'): Resolution {
    if (obtained.ok) {
      if (why === 'timer' && obtained.changed) this.#events.onChange?.([entry.identity]);
      return { status: 'found', data: obtained.data, backend: 'vault' };
    }
    entry.lastError = obtained.error.message;
    if (why === 'timer') this.#failed(entry, obtained.error.message);
    const held = entry.held;
    // The last credentials serve until they really end (a response without a lifetime: until Vault answers again).
    if (held !== undefined && !this.#ended(held)) return { ...found(held), stale: { reason: obtained.error.message } };
    if (held !== undefined) return { status: 'failed', error: expiredError(entry.identity, entry.call.path, held, this.#endOf(held) ?? this.#clock.now(), obtained.error.message) };
    if (obtained.kind === 'not_found') return { status: 'not_found', tried: ['vault'] };
    return { status: 'failed', error: obtained.error };
  }

  /** Arm the entry's one timer for its next planned action, or the end of the token that made its lease if sooner. */
  #schedule(entry: Entry): void {
    entry.timer?.cancel();
    const held = entry.held;
    entry.next = held === undefined ? undefined : nextAction(held);
    entry.timer = undefined;
    if (!this.#keep || this.#closed || held === undefined || entry.next === undefined) return;
    const at = Math.min(entry.next.at, this.#endOf(held) ?? Number.POSITIVE_INFINITY);
    entry.timer = this.#clock.setTimeout(() => { this.#onTimer(entry); }, Math.min(MAX_TIMER_MS, Math.max(0, at - this.#clock.now())));
  }

  #onTimer(entry: Entry): void {
    entry.timer = undefined;
    if (this.#closed || this.#entries.get(entry.identity) !== entry) return;
    if (entry.pending) {
      // A cycle is asking already: its answer plans the next timer; a failed answer leaves the plan to re-arm.
      void entry.pending.finally(() => { if (entry.timer === undefined) this.#schedule(entry); });
      return;
    }
    const held = entry.held;
    if (held === undefined) return;
    // Woken at the end of the token that made the lease, and the token was renewed since: wait for the plan.
    if (entry.next !== undefined && this.#clock.now() < entry.next.at && !this.#ended(held)) {
      this.#schedule(entry);
      return;
    }
    if (entry.next?.action === 'renew' && held.response.leaseId !== undefined && !this.#ended(held)) void this.#track(this.#renew(entry, held, held.response.leaseId));
    else void this.#obtain(entry, 'timer');
  }

  async #renew(entry: Entry, held: Held, leaseId: string): Promise<void> {
    const source = this.#source;
    const sentAt = this.#clock.now();
    let reply;
    try {
      if (source === undefined) throw new Error('Vault is no longer configured');
      reply = await source.client.renew(leaseId, held.increment);
    } catch (error) {
      reply = { kind: 'unavailable' as const, reason: (error as Error).message };
    }
    if (entry.held !== held || this.#closed) return;
    const now = this.#clock.now();
    if (reply.kind === 'ok') {
      let renewal;
      try {
        renewal = parseRenewal(reply.body, `vault: renewal of ${entry.identity}`);
      } catch (error) {
        reply = { kind: 'unavailable' as const, reason: (error as Error).message };
      }
      if (renewal !== undefined) {
        const result = renewed(held, sentAt, renewal.leaseSeconds, renewal.renewable, this.#random);
        entry.attempt = 0;
        entry.lastError = undefined;
        this.#events.onRenewal?.(result);
        if (result === 'max_ttl') this.#log?.info({ call: entry.identity, ttlSeconds: renewal.leaseSeconds, requestedSeconds: held.increment }, `the lease of ${entry.identity} can no longer be extended (max TTL); a new one is requested before it ends`);
        this.#schedule(entry);
        return;
      }
    }
    if (reply.kind === 'refused' || reply.kind === 'not_found' || reply.kind === 'denied') {
      // Refused or gone (400 "lease not found", 404): only a new lease helps; a 403 on renew only: replace in time.
      this.#events.onRenewal?.('refused');
      entry.lastError = `renewal refused: ${reply.reason}`;
      this.#log?.warn({ call: entry.identity, reason: reply.reason }, `vault refused to renew the lease of ${entry.identity}; requesting a new one`);
      const gone = reply.kind === 'not_found' || (reply.kind === 'refused' && /lease not found|invalid lease/i.test(reply.reason));
      cannotRenew(held, now, reply.kind === 'denied' ? 'denied' : gone ? 'gone' : 'refused', this.#random);
      this.#schedule(entry);
      return;
    }
    this.#failed(entry, `renewal failed: ${reply.kind === 'ok' ? 'malformed answer' : reply.reason}`);
  }

  /** A planned action failed: retry with the backoff, never later than the moment the credentials end. */
  #failed(entry: Entry, reason: string): void {
    this.#events.onRenewal?.('failed');
    entry.lastError = reason;
    const now = this.#clock.now();
    const held = entry.held;
    const end = held === undefined ? undefined : this.#endOf(held);
    if (held !== undefined && end !== undefined && now >= end && !entry.expired) {
      entry.expired = true;
      this.#log?.warn({ call: entry.identity, endedAt: new Date(end).toISOString(), reason }, `the credentials of ${entry.identity} have ended and no new ones could be obtained: ${reason}; its templates keep their files and report the error`);
      this.#events.onChange?.([entry.identity]);
    } else {
      const what = end !== undefined && now >= end ? 'replacement' : entry.next?.action ?? 'request';
      this.#log?.warn({ call: entry.identity, attempt: entry.attempt + 1, reason }, `${what} of ${entry.identity} failed; retrying: ${reason}`);
    }
    let delay = backoffDelay(this.#retry, entry.attempt++, this.#random);
    if (end !== undefined && now < end) delay = Math.min(delay, end - now);
    entry.timer?.cancel();
    if (this.#keep && !this.#closed) entry.timer = this.#clock.setTimeout(() => { this.#onTimer(entry); }, delay);
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#busy.add(promise);
    const done = (): void => { this.#busy.delete(promise); };
    promise.then(done, done);
    return promise;
  }
}
