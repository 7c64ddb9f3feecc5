// Getting a token, one attempt at a time: log in (or read the token), look it up, hand it over. Concurrent
// callers share the attempt in flight, so a burst of 403s or file events costs one login, not many.
import type { VaultHttp } from '../http.js';
import type { Grant } from './grants.js';
import { parseLookup } from './grants.js';
import type { AuthMethod, LoginResult } from './methods.js';

export type Ensure = { readonly ok: true } | { readonly ok: false; readonly kind: 'refused' | 'unavailable'; readonly reason: string };

type Lookup = { readonly ok: true; readonly grant: Grant } | Extract<Ensure, { ok: false }>;

export interface AcquirerOptions {
  method: AuthMethod;
  http: VaultHttp;
  /** The token held now, to tell a changed token file from an unchanged one. */
  current: () => string | undefined;
  adopt: (grant: Grant) => void;
  fail: (reason: string) => void;
}

export class Acquirer {
  readonly #options: AcquirerOptions;
  #inflight: Promise<Ensure> | undefined;
  #reloading: Promise<boolean> | undefined;
  #rerun: Promise<boolean> | undefined;

  constructor(options: AcquirerOptions) {
    this.#options = options;
  }

  /** One login (or token read) plus lookup-self, shared while in flight. */
  acquire(): Promise<Ensure> {
    this.#inflight ??= this.#once().finally(() => { this.#inflight = undefined; });
    return this.#inflight;
  }

  // Why: a change during a reload may come after that reload read the file, so it earns one more read.
  /** Re-read the token file; adopt its token when it differs from the held one and Vault accepts it. */
  reload(): Promise<boolean> {
    if (this.#reloading) {
      this.#rerun ??= this.#reloading.then(() => {
        this.#rerun = undefined;
        return this.reload();
      });
      return this.#rerun;
    }
    this.#reloading = this.#reloadOnce().finally(() => { this.#reloading = undefined; });
    return this.#reloading;
  }

  /** lookup-self with `token` (sent per call, so the held token keeps serving reads meanwhile). */
  async lookup(token: string): Promise<Lookup> {
    const { http } = this.#options;
    const where = http.where('GET', 'auth/token/lookup-self');
    const reply = await http.get('auth/token/lookup-self', token);
    switch (reply.kind) {
      case 'ok':
        try {
          return { ok: true, grant: parseLookup(reply.body, token, where) };
        } catch (error) {
          return { ok: false, kind: 'refused', reason: (error as Error).message };
        }
      case 'denied':
        return { ok: false, kind: 'refused', reason: `${where}: permission denied: the token is expired, revoked or unknown, or its policies lack the default policy's read on auth/token/lookup-self` };
      case 'unavailable':
        return { ok: false, kind: 'unavailable', reason: reply.reason };
      case 'not_found':
        return { ok: false, kind: 'refused', reason: `${where}: HTTP 404` };
      case 'rejected':
        return { ok: false, kind: 'refused', reason: reply.message };
    }
  }

  // Why: after a login, lookup-self only refines what the login said; a token value has nothing else.
  async #once(): Promise<Ensure> {
    const login = await this.#login();
    if (!login.ok) return this.#failed(login);
    const looked = await this.lookup(login.token);
    const grant = looked.ok ? looked.grant : login.grant;
    if (!grant) return this.#failed(looked as Extract<Ensure, { ok: false }>);
    this.#options.adopt(grant);
    return { ok: true };
  }

  /** Read the token file after any login in flight; adopt a different token once lookup-self accepts it. */
  async #reloadOnce(): Promise<boolean> {
    if (this.#inflight) await this.#inflight;
    const read = await this.#login();
    // Why: an empty or half-written file is a transient state of a writer; the next event reads it whole.
    if (!read.ok || read.token === this.#options.current()) return false;
    const looked = await this.lookup(read.token);
    if (!looked.ok) {
      this.#options.fail(`the new token in vault.auth.tokenFile was not accepted: ${looked.reason}`);
      return false;
    }
    this.#options.adopt(looked.grant);
    return true;
  }

  /** The method's login; a throw (a malformed login body) becomes a refusal with its message. */
  async #login(): Promise<LoginResult> {
    try {
      return await this.#options.method.login();
    } catch (error) {
      return { ok: false, kind: 'refused', reason: (error as Error).message };
    }
  }

  /** Record a failed attempt for tokenStatus and return it. */
  #failed(result: Extract<Ensure, { ok: false }>): Ensure {
    this.#options.fail(result.reason);
    return { ok: false, kind: result.kind, reason: result.reason };
  }
}
