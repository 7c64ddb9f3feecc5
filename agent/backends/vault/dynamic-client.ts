// Any Vault read or write, and the lease calls, for the `vault` template helper (docs/vault.md "Dynamic secrets"):
// through the same node-vault clients, token lifecycle (a token first, one retry after a 403 when the session could
// get another), namespace, TLS and reply classification as the KV reads. Replies are returned raw; parsing
// them is agent/dynamic/response.ts's work.
import type { Reply, VaultHttp } from './http.js';
import type { Session } from './kv-client.js';
import { withToken } from './kv-client.js';
import { encodePath } from './kv.js';

/** How one dynamic call ended: Vault's body, or why not, as the chain would class it. */
export type CallReply =
  | { readonly kind: 'ok'; readonly body: unknown }
  | { readonly kind: 'not_found'; readonly reason: string }
  | { readonly kind: 'denied'; readonly reason: string }
  /** Vault answered and refused (400 "lease not found", "unknown role", ...): asking again the same way will not help. */
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

export class DynamicClient {
  readonly #http: VaultHttp;
  readonly #session: Session;
  readonly #tokenListeners = new Set<(previousExpiresAt: number | undefined) => void>();
  readonly #tokenExpiresAt: () => number | undefined;

  constructor(options: { http: VaultHttp; session: Session; tokenExpiresAt?: () => number | undefined }) {
    this.#http = options.http;
    this.#session = options.session;
    this.#tokenExpiresAt = options.tokenExpiresAt ?? (() => undefined);
  }

  /** When the token calls carry now ends, as far as the agent knows (undefined: never, or no token). */
  tokenExpiresAt(): number | undefined {
    return this.#tokenExpiresAt();
  }

  /** True when `other` (the client of a reloaded configuration) carries the same token as this one. */
  sameToken(other: unknown): boolean {
    return other instanceof DynamicClient && this.#session.token !== undefined && this.#session.token === other.#session.token;
  }

  /** GET `path` (no parameters) or PUT `params` to it; throws ERR_AUTH when no token can be had at all. */
  call(method: 'GET' | 'PUT', path: string, params: Readonly<Record<string, unknown>>): Promise<CallReply> {
    const api = encodePath(path);
    return this.#authed(method, api, () => (method === 'GET' ? this.#http.get(api) : this.#http.put(api, params)));
  }

  /** PUT sys/leases/renew {lease_id, increment}: the body carries the new `lease_duration`. */
  renew(leaseId: string, incrementSeconds: number): Promise<CallReply> {
    return this.#authed('PUT', 'sys/leases/renew', () => this.#http.put('sys/leases/renew', { lease_id: leaseId, increment: incrementSeconds }));
  }

  /** Call `listener` whenever the token is replaced, with the end of the one replaced; returns the unsubscribe. */
  onTokenReplaced(listener: (previousExpiresAt: number | undefined) => void): () => void {
    this.#tokenListeners.add(listener);
    return () => { this.#tokenListeners.delete(listener); };
  }

  /** The token manager's hook: the held token was replaced by another. */
  tokenReplaced(previousExpiresAt: number | undefined): void {
    for (const listener of this.#tokenListeners) listener(previousExpiresAt);
  }

  /** PUT sys/leases/revoke {lease_id}. */
  revoke(leaseId: string): Promise<CallReply> {
    return this.#authed('PUT', 'sys/leases/revoke', () => this.#http.put('sys/leases/revoke', { lease_id: leaseId }));
  }

  async #authed(method: string, path: string, run: () => Promise<Reply>): Promise<CallReply> {
    const reply = await withToken(this.#session, method, path, run);
    switch (reply.kind) {
      case 'ok': return reply;
      case 'not_found': return { kind: 'not_found', reason: `${this.#http.where(method, path)}: HTTP 404` };
      case 'denied': return { kind: 'denied', reason: reply.message };
      case 'unavailable': return { kind: 'unavailable', reason: reply.reason };
      // A 404 for a path Vault does not serve (no such mount or engine in this namespace) is a refusal too.
      case 'rejected': return { kind: 'refused', status: reply.status, reason: reply.message };
    }
  }
}
