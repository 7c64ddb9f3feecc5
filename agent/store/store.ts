// The store turns every secret request of a cycle into at most one backend call per unique reference,
// walking the chain of backends in order (DESIGN §5): not found → next, unavailable → next with a
// warning, denied → stop. Later issues add caching, stale-on-error and retries here, behind the same API.
import type { Backend, BackendName, Outcome, SecretData, SecretRef } from '../backends/backend.js';
import { refKey } from '../backends/backend.js';
import { AgentError } from '../errors.js';

/** One thing a template or command needs: a reference, optionally pinned to one backend. */
export interface SecretRequest {
  readonly ref: SecretRef;
  readonly backend?: BackendName | undefined;
}

export type Resolution =
  | { readonly status: 'found'; readonly data: SecretData; readonly backend: BackendName; readonly version?: string | undefined }
  | { readonly status: 'not_found'; readonly tried: readonly BackendName[] }
  | { readonly status: 'failed'; readonly error: AgentError };

export interface StoreEvents {
  /** A backend could not answer and the chain moved on; for logs and metrics, never carries a value. */
  onUnavailable?(event: { backend: BackendName; path: string; reason: string }): void;
  /** Every backend call, for `secret_requests_total` and `secret_request_duration_seconds`. */
  onFetch?(event: { backend: BackendName; path: string; status: Outcome['status'] | 'error'; seconds: number }): void;
}

/** The identity of a request: `file|value:app/secret_key`, or `*|…` for the chain. */
export function requestKey(request: SecretRequest): string {
  return `${request.backend ?? '*'}|${refKey(request.ref)}`;
}

export class SecretStore {
  readonly #chain: readonly Backend[];
  readonly #events: StoreEvents;

  constructor(options: { chain: readonly Backend[]; events?: StoreEvents }) {
    this.#chain = options.chain;
    this.#events = options.events ?? {};
  }

  /** The backends in chain order, for `health` and the library. */
  get backends(): readonly Backend[] {
    return this.#chain;
  }

  /** Resolve every request; each unique request is fetched once, however many templates share it. */
  async resolveAll(requests: Iterable<SecretRequest>): Promise<Map<string, Resolution>> {
    const unique = new Map<string, SecretRequest>();
    for (const request of requests) unique.set(requestKey(request), request);
    const entries = await Promise.all(
      [...unique].map(async ([key, request]) => [key, await this.resolve(request)] as const),
    );
    return new Map(entries);
  }

  /** Walk the chain (or the one pinned backend) for one request. */
  async resolve(request: SecretRequest): Promise<Resolution> {
    const backends = this.#backendsFor(request);
    if (backends instanceof AgentError) return { status: 'failed', error: backends };
    const tried: BackendName[] = [];
    let lastUnavailable: { backend: BackendName; reason: string } | undefined;
    for (const backend of backends) {
      tried.push(backend.name);
      let outcome: Outcome;
      const started = process.hrtime.bigint();
      const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        outcome = await backend.fetch(request.ref);
      } catch (error) {
        this.#events.onFetch?.({ backend: backend.name, path: request.ref.path, status: 'error', seconds: seconds() });
        return { status: 'failed', error: asAgentError(error, backend.name, request.ref.path) };
      }
      this.#events.onFetch?.({ backend: backend.name, path: request.ref.path, status: outcome.status, seconds: seconds() });
      switch (outcome.status) {
        case 'found':
          return { status: 'found', data: outcome.data, backend: backend.name, version: outcome.version };
        case 'denied':
          return { status: 'failed', error: new AgentError('ERR_SECRET_DENIED', `${backend.name} backend: permission denied for "${request.ref.path}": ${outcome.reason}`, { details: { backend: backend.name, path: request.ref.path } }) };
        case 'unavailable':
          lastUnavailable = { backend: backend.name, reason: outcome.reason };
          this.#events.onUnavailable?.({ backend: backend.name, path: request.ref.path, reason: outcome.reason });
          break;
        case 'not_found':
          break;
      }
    }
    // Not found anywhere that answered: when a backend did not answer, the honest answer is "unavailable".
    if (lastUnavailable) {
      const { backend, reason } = lastUnavailable;
      return { status: 'failed', error: new AgentError('ERR_BACKEND_UNAVAILABLE', `${backend} backend unavailable while reading "${request.ref.path}": ${reason} (tried ${tried.join(', ')})`, { details: { backend, path: request.ref.path } }) };
    }
    return { status: 'not_found', tried };
  }

  #backendsFor(request: SecretRequest): readonly Backend[] | AgentError {
    if (request.backend === undefined) return this.#chain;
    const pinned = this.#chain.find((backend) => backend.name === request.backend);
    if (!pinned) {
      const names = this.#chain.map((backend) => backend.name).join(', ');
      return new AgentError('ERR_BACKEND_UNAVAILABLE', `backend "${request.backend}" is not configured (configured: ${names}) for "${request.ref.path}"`, { details: { backend: request.backend, path: request.ref.path } });
    }
    return [pinned];
  }
}

function asAgentError(error: unknown, backend: BackendName, path: string): AgentError {
  if (error instanceof AgentError) return error;
  return new AgentError('ERR_BACKEND_UNAVAILABLE', `${backend} backend failed while reading "${path}": ${(error as Error).message}`, { cause: error, details: { backend, path } });
}
