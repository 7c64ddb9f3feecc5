// The token lifecycle (docs/design.md "The chain"): look the token up at start, renew it at ~2/3 of its TTL (jittered),
// log in again when renewal cannot extend it or fails, when the token file changes, or once after a
// 403 on a read. All time goes through the Clock. A new token is swapped on the client object and
// nothing else happens: no secret is re-fetched because the token changed.
import { AgentError } from '../../../errors.js';
import type { Reply, VaultHttp } from '../http.js';
import type { Logger } from '../../../log/logger.js';
import type { Clock, Random, TimerHandle } from '../../../util/clock.js';
import type { Grant } from './grants.js';
import { parseAuth } from './grants.js';
import { Acquirer } from './acquire.js';
import type { Ensure } from './acquire.js';
import type { AuthMethod } from './methods.js';
import { renewDelay, retryDelay } from './timing.js';
import type { FileWatcher, Watch } from './token-file.js';

export type { Ensure } from './acquire.js';

/** How long a lookup-self that found the token valid answers for later 403s on the same token. */
const VERDICT_MS = 1000;

/** For `health` and the `vault_token_ttl_seconds` metric; ttlSeconds is undefined with no token or one that never expires. */
export interface TokenStatus {
  readonly ttlSeconds: number | undefined;
  readonly renewable: boolean;
  readonly expiresAt?: number;
  readonly lastError?: string;
}

interface Held {
  readonly token: string;
  expiresAt: number | undefined;
  renewable: boolean;
  readonly increment: number;
}

export interface TokenManagerOptions {
  method: AuthMethod;
  http: VaultHttp;
  log: Logger;
  clock: Clock;
  random: Random;
  /** Watches vault.auth.tokenFile; undefined: no watching (reloadTokenFile still works). */
  watcher?: FileWatcher | undefined;
  /**
   * A new token replaced the held one, which ends at `previousExpiresAt` (undefined: it never expires). Vault revokes
   * a token's leases with the token, so the dynamic-secret keeper plans their replacement by then.
   */
  onReplaced?: ((previousExpiresAt: number | undefined) => void) | undefined;
}

export class TokenManager {
  readonly #method: AuthMethod;
  readonly #http: VaultHttp;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #acquirer: Acquirer;
  readonly #watcher: FileWatcher | undefined;
  readonly #onReplaced: ((previousExpiresAt: number | undefined) => void) | undefined;
  readonly #busy = new Set<Promise<unknown>>();
  #held: Held | undefined;
  /** lookup-self calls in flight after a 403, by the token checked. */
  readonly #checks = new Map<string, Promise<Reply>>();
  /** The last token lookup-self found valid after a 403, and when that check started. */
  #valid: { readonly token: string; readonly at: number } | undefined;
  /** The last token Vault called dead after a 403 (lookup-self denied), and when another login may be tried for it. */
  #dead: { readonly token: string | undefined; attempt: number; notBefore: number; counted?: Promise<Ensure> } | undefined;
  #lastError: string | undefined;
  #timer: TimerHandle | undefined;
  #watch: Watch | undefined;
  #closed = false;

  constructor(options: TokenManagerOptions) {
    this.#method = options.method;
    this.#http = options.http;
    this.#log = options.log;
    this.#clock = options.clock;
    this.#random = options.random;
    this.#watcher = options.watcher;
    this.#onReplaced = options.onReplaced;
    this.#acquirer = new Acquirer({ method: options.method, http: options.http, current: () => this.token, adopt: (grant) => { this.#adopt(grant); }, fail: (reason) => { this.#lastError = reason; } });
  }

  /** The token requests carry now. */
  get token(): string | undefined {
    return this.#held?.token;
  }

  /** Get the first token (login or read, then lookup-self) and start renewing; throws ERR_AUTH or ERR_BACKEND_UNAVAILABLE. */
  async start(): Promise<void> {
    if (this.#watcher && this.#method.tokenFile !== undefined && !this.#watch) {
      this.#watch = this.#watcher(this.#method.tokenFile, () => { void this.reloadTokenFile(); });
    }
    const result = await this.ensure();
    if (!result.ok) throw new AgentError(result.kind === 'refused' ? 'ERR_AUTH' : 'ERR_BACKEND_UNAVAILABLE', result.reason, { details: { backend: 'vault', method: this.#method.name } });
  }

  /** A token to read with: the held one, or one attempt to get one (shared by concurrent callers). */
  async ensure(): Promise<Ensure> {
    if (this.#held) return { ok: true };
    return this.#track(this.#acquirer.acquire());
  }

  /** After a 403 with `used`: true when a different token is now held and the read should be retried once. */
  async recoverFromDenied(used: string | undefined): Promise<boolean> {
    if (this.#closed) return false;
    if (this.token !== used) return true;
    if (used !== undefined && this.#dead?.token !== used) {
      // Why: a cycle's denied reads arrive over a moment, not at once; one check covers those of the next second, so
      // a policy that denies many paths costs one lookup per cycle, not one per read. A token revoked inside that
      // second is found at the next cycle's first 403.
      if (this.#valid?.token === used && this.#clock.now() - this.#valid.at < VERDICT_MS) return false;
      const at = this.#clock.now();
      const check = await this.#check(used);
      // Why: a token that still looks itself up is valid; the 403 is the policy's, and a new token would not help.
      if (check.kind !== 'denied') {
        if (check.kind === 'ok') this.#valid = { token: used, at };
        return this.token !== used;
      }
    }
    if (this.token !== used) return true;
    if (!this.#method.canLogin && this.#method.tokenFile === undefined) {
      this.#lastError = 'the vault token was rejected (expired or revoked) and vault.auth.token cannot be replaced without a restart';
      return false;
    }
    // Why: Vault called this token dead, and that does not change; while logging in keeps failing, the 403s of a
    // cycle's many reads (and of every later cycle) wait for the login backoff instead of each asking again.
    let dead = this.#dead;
    if (dead === undefined || dead.token !== used) dead = this.#dead = { token: used, attempt: 0, notBefore: 0 };
    if (this.#clock.now() < dead.notBefore) return false;
    const attempt = this.#track(this.#acquirer.acquire());
    const result = await attempt;
    if (result.ok && this.token !== used) return true;
    if (dead.counted !== attempt) {
      dead.counted = attempt;
      dead.notBefore = this.#clock.now() + retryDelay(dead.attempt++, this.#random);
    }
    return false;
  }

  /** lookup-self with `token`, one in flight per token: a burst of 403s checks the token once. */
  #check(token: string): Promise<Reply> {
    let check = this.#checks.get(token);
    if (!check) {
      check = this.#http.get('auth/token/lookup-self', token).finally(() => { this.#checks.delete(token); });
      this.#checks.set(token, check);
    }
    return check;
  }

  /** Re-read vault.auth.tokenFile; a different, valid token replaces the held one. True when it did. */
  async reloadTokenFile(): Promise<boolean> {
    if (this.#closed || this.#method.tokenFile === undefined) return false;
    return this.#track(this.#acquirer.reload());
  }

  /** The token's state for health and metrics. */
  status(): TokenStatus {
    const held = this.#held;
    const expiresAt = held?.expiresAt;
    return {
      ttlSeconds: expiresAt === undefined ? undefined : Math.max(0, Math.floor((expiresAt - this.#clock.now()) / 1000)),
      renewable: held?.renewable ?? false,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  /** Resolves when no renewal, login or reload is in flight (tests step a fake clock with it). */
  async settled(): Promise<void> {
    while (this.#busy.size > 0) await Promise.allSettled([...this.#busy]);
  }

  /** Stop timers and the file watch. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#watch?.close();
  }

  /** Hold a new token: set it on the client object (never in headers), forget the last error, schedule renewal. */
  #adopt(grant: Grant): void {
    const previous = this.#held;
    const replaced = previous !== undefined;
    this.#held = { token: grant.token, expiresAt: grant.ttl > 0 ? this.#clock.now() + grant.ttl * 1000 : undefined, renewable: grant.renewable, increment: grant.increment };
    this.#http.client.token = grant.token;
    this.#lastError = undefined;
    this.#log.info({ method: this.#method.name, ttlSeconds: grant.ttl, renewable: grant.renewable }, replaced ? 'vault token replaced' : 'vault token acquired');
    this.#scheduleRenewal();
    if (previous !== undefined && previous.token !== grant.token) this.#onReplaced?.(previous.expiresAt);
  }

  /** Arm the renewal timer at renewDelay of the remaining TTL; a token that never expires needs none. */
  #scheduleRenewal(): void {
    const expiresAt = this.#held?.expiresAt;
    if (expiresAt === undefined) {
      this.#timer?.cancel();
      return;
    }
    this.#setTimer(renewDelay((expiresAt - this.#clock.now()) / 1000, this.#random), () => { this.#onRenewTime(); });
  }

  /** The renewal timer fired: renew a renewable token, else log in again or warn. */
  #onRenewTime(): void {
    if (this.#held?.renewable === true) void this.#track(this.#renew(this.#held, 0));
    else this.#cannotExtend('it is not renewable');
  }

  /** The token cannot live longer: log in again, or (token method) warn before it expires. */
  #cannotExtend(why: string): void {
    if (this.#method.canLogin) this.#relogin(0);
    else this.#warnExpiry(why);
  }

  // Why: a renewal that returns less than asked has hit the max TTL; only a new login extends the lifetime.
  async #renew(held: Held, attempt: number): Promise<void> {
    const reply = await this.#http.post('auth/token/renew-self', { increment: held.increment }, held.token);
    if (this.#held !== held || this.#closed) return;
    let grant: Grant | undefined;
    try {
      grant = reply.kind === 'ok' ? parseAuth(reply.body, this.#http.where('POST', 'auth/token/renew-self')) : undefined;
    } catch (error) {
      this.#lastError = (error as Error).message;
    }
    if (grant) {
      held.expiresAt = grant.ttl > 0 ? this.#clock.now() + grant.ttl * 1000 : held.expiresAt;
      held.renewable = grant.renewable;
      if (grant.ttl >= held.increment && grant.renewable) {
        this.#scheduleRenewal();
        return;
      }
      this.#log.info({ ttlSeconds: grant.ttl, requestedSeconds: held.increment }, 'vault token renewal can no longer extend the token (max TTL)');
      this.#cannotExtend('renewal can no longer extend it (max TTL)');
      return;
    }
    const reason = reply.kind === 'unavailable' ? reply.reason : reply.kind === 'ok' ? this.#lastError ?? 'malformed renewal' : reply.kind === 'not_found' ? 'HTTP 404' : reply.message;
    this.#lastError = `vault token renewal failed: ${reason}`;
    this.#log.warn({ attempt, reason }, 'vault token renewal failed');
    const delay = retryDelay(attempt, this.#random);
    if (this.#method.canLogin) this.#relogin(0);
    else if (reply.kind === 'denied') void this.reloadTokenFile();
    else if (held.expiresAt !== undefined && this.#clock.now() + delay >= held.expiresAt) this.#warnExpiry('renewal keeps failing');
    else this.#setTimer(delay, () => { void this.#track(this.#renew(held, attempt + 1)); });
  }

  /** Log in again in the background; on failure retry after retryDelay(attempt) while the old token serves. */
  #relogin(attempt: number): void {
    if (this.#closed) return;
    void this.#track(this.#acquirer.acquire().then((result) => {
      if (result.ok || this.#closed) return;
      this.#log.warn({ attempt, method: this.#method.name, reason: result.reason }, 'vault login failed; retrying');
      this.#setTimer(retryDelay(attempt, this.#random), () => { this.#relogin(attempt + 1); });
    }));
  }

  /** For a token nothing can extend: warn now, report it in tokenStatus, and log an error when it expires. */
  #warnExpiry(why: string): void {
    const expiresAt = this.#held?.expiresAt;
    if (expiresAt === undefined) return;
    const at = new Date(expiresAt).toISOString();
    this.#lastError = `vault token expires at ${at} and ${why}; vault.auth.method "token" cannot log in again: write a new token to vault.auth.tokenFile`;
    this.#log.warn({ expiresAt: at, ttlSeconds: this.status().ttlSeconds }, this.#lastError);
    this.#setTimer(expiresAt - this.#clock.now(), () => {
      this.#lastError = `vault token expired at ${at}`;
      this.#log.error({ expiresAt: at }, 'vault token expired; reads are denied until a new token is supplied');
    });
  }

  /** The one timer slot (renewal, retry or expiry notice) on the Clock; a new timer replaces the old one. */
  #setTimer(ms: number, fn: () => void): void {
    this.#timer?.cancel();
    if (!this.#closed) this.#timer = this.#clock.setTimeout(fn, Math.max(0, ms));
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#busy.add(promise);
    const done = () => { this.#busy.delete(promise); };
    promise.then(done, done);
    return promise;
  }
}
