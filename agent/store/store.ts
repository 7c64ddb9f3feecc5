// The store turns every secret request of a cycle into at most one backend call per unique reference
// (one batch per backend where it can batch), shares requests already in flight, limits concurrency per
// backend, starts each backend before its first read (a backend that cannot start is unavailable for that
// read, and is started again at the next), remembers each path's last good value and the backend that served
// it (provenance), and retries what stays unavailable with exponential backoff and full jitter
// (docs/design.md "The chain", "Provenance", "The store"). Every command and the library resolve through it.
import type { Backend, BackendName, Outcome, SecretRef } from '../backends/backend.js';
import { refKey } from '../backends/backend.js';
import { isCallIdentity } from '../dynamic/identity.js';
import { LeaseKeeper } from '../dynamic/keeper.js';
import type { CallSource } from '../dynamic/keeper.js';
import type { DynamicClient } from '../backends/vault/dynamic-client.js';
import { AgentError } from '../errors.js';
import { backoffDelay } from '../util/backoff.js';
import { systemClock, systemRandom } from '../util/clock.js';
import type { Clock, Random } from '../util/clock.js';
import { walkChain } from './chain-walk.js';
import type { Resolution, WalkItem } from './chain-walk.js';
import { Limiter } from './limit.js';
import { StoreMemory } from './memory.js';

export type { Resolution } from './chain-walk.js';

/** One thing a template or command needs: a reference, optionally pinned to one backend. */
export interface SecretRequest {
  readonly ref: SecretRef;
  readonly backend?: BackendName | undefined;
}

export interface UnavailableEvent {
  readonly backend: BackendName;
  /** The paths the backend failed this round, in the order asked. */
  readonly paths: readonly string[];
  /** The first failure's reason, on one line. */
  readonly reason: string;
}

export interface StoreEvents {
  /**
   * A backend could not answer and the chain moved on (or served a stale value): once per backend per resolution
   * round, with every path it failed, so one outage is one warning per cycle, not one per path. Never a value.
   */
  onUnavailable?(event: UnavailableEvent): void;
  /** Every backend call, for `secret_requests_total` and `secret_request_duration_seconds`. */
  onFetch?(event: { backend: BackendName; path: string; status: Outcome['status'] | 'error'; seconds: number }): void;
  /** The backend that served a path answered "not found" for it: the path fails instead of falling lower. */
  onProvenanceConflict?(event: { backend: BackendName; path: string }): void;
}

export interface StoreOptions {
  chain: readonly Backend[];
  events?: StoreEvents;
  /** Calls in flight per backend (default 16). */
  concurrency?: number;
  /** Extra attempts for requests that end unavailable, spaced by backoff (default 0: the caller retries). */
  retry?: { min: number; max: number; attempts: number };
  clock?: Clock;
  random?: Random;
  /** Last good values and provenance; the running agent passes the same one to every store of an output directory. */
  memory?: StoreMemory;
  /**
   * A forced backend (`--backend`, `backend:` other than auto): the chain is that one backend, and every request is
   * pinned to it, so provenance is neither read nor recorded (docs/operations.md "The chain and provenance").
   */
  pinned?: boolean;
  /** Where `vault` helper calls go (default: asked once per resolution, nothing kept); `run` passes its lease keeper. */
  calls?: LeaseKeeper;
}

/** The identity of a request: `file|value:app/secret_key`, or `*|…` for the chain. */
/** One warning line per backend outage per round: the backend, how many paths, the first ones, the reason. */
export function describeOutage(event: UnavailableEvent): { fields: Record<string, unknown>; message: string } {
  const count = `${event.paths.length} path${event.paths.length === 1 ? '' : 's'}`;
  return {
    fields: { backend: event.backend, paths: event.paths.length, path: event.paths[0], reason: event.reason },
    message: `${event.backend} backend unavailable for ${count} (${namePaths(event.paths)}): ${event.reason}`,
  };
}

/** How many paths a warning about many paths names before it says "and N more". */
export const NAMED_PATHS = 3;

/** Why: a warning about thousands of paths names a few and counts the rest; GET /v1/status lists every one. */
export function namePaths(paths: readonly string[]): string {
  const shown = paths.slice(0, NAMED_PATHS).map((path) => `"${path}"`).join(', ');
  return paths.length > NAMED_PATHS ? `${shown} and ${paths.length - NAMED_PATHS} more` : shown;
}

export function requestKey(request: SecretRequest): string {
  return `${request.backend ?? '*'}|${refKey(request.ref)}`;
}

export class SecretStore {
  readonly #chain: readonly Backend[];
  readonly #events: StoreEvents;
  readonly #limiters = new Map<Backend, Limiter>();
  readonly #concurrency: number;
  readonly #retry: { min: number; max: number; attempts: number };
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #memory: StoreMemory;
  readonly #pinned: boolean;
  readonly #inflight = new Map<string, Promise<Resolution>>();
  readonly #starting = new Map<Backend, Promise<string | undefined>>();
  #calls: LeaseKeeper;

  constructor(options: StoreOptions) {
    this.#chain = options.chain;
    this.#events = options.events ?? {};
    this.#concurrency = options.concurrency ?? 16;
    this.#retry = options.retry ?? { min: 250, max: 60_000, attempts: 0 };
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    this.#memory = options.memory ?? new StoreMemory();
    this.#pinned = options.pinned ?? false;
    this.#calls = options.calls ?? new LeaseKeeper({ keep: false, clock: this.#clock, random: this.#random });
  }

  /** Send `vault` helper calls to `keeper` (the running agent's lease keeper, which outlives reloads). */
  useCalls(keeper: LeaseKeeper): void {
    this.#calls = keeper;
  }

  /** Revoke the leases `vault` helper calls made through this store (`check --diff`: a dry run keeps nothing). */
  revokeCallLeases(): Promise<number> {
    return this.#calls.revokeAll();
  }

  /** What this store remembers between cycles (last good values, provenance). */
  get memory(): StoreMemory {
    return this.#memory;
  }

  /**
   * Start `backend` (Vault: log in or look the token up, then renew it) unless it already started; the reason when
   * it cannot start now. Concurrent callers share one attempt; a failed attempt is made again by the next caller.
   */
  start(backend: Backend): Promise<string | undefined> {
    if (!backend.start) return Promise.resolve(undefined);
    let starting = this.#starting.get(backend);
    if (!starting) {
      starting = backend.start().then(() => undefined, (error: unknown) => {
        this.#starting.delete(backend);
        return `${backend.name} backend could not start: ${(error as Error).message}`;
      });
      this.#starting.set(backend, starting);
    }
    return starting;
  }

  /** Release every backend's sockets and timers. */
  async close(): Promise<void> {
    for (const backend of this.#chain) await backend.close?.();
  }

  /** The backends in chain order, for `health` and the library. */
  get backends(): readonly Backend[] {
    return this.#chain;
  }

  /** Resolve every request; each unique request is fetched once, however many templates share it. */
  async resolveAll(requests: Iterable<SecretRequest>): Promise<Map<string, Resolution>> {
    const unique = new Map<string, SecretRequest>();
    for (const request of requests) unique.set(requestKey(request), request);
    const mine = [...unique].filter(([key]) => !this.#inflight.has(key));
    const run = this.#resolveFresh(mine);
    for (const [key] of mine) this.#inflight.set(key, run.then((results) => results.get(key) ?? notAnswered(key)));
    try {
      const entries = await Promise.all([...unique.keys()].map(async (key) => [key, await (this.#inflight.get(key) ?? Promise.resolve(notAnswered(key)))] as const));
      return new Map(entries);
    } finally {
      await run.catch(() => undefined);
      for (const [key] of mine) this.#inflight.delete(key);
    }
  }

  /** Resolve one request through the chain (or its pinned backend). */
  async resolve(request: SecretRequest): Promise<Resolution> {
    return (await this.resolveAll([request])).get(requestKey(request)) ?? notAnswered(requestKey(request));
  }

  async #resolveFresh(all: ReadonlyArray<readonly [string, SecretRequest]>): Promise<Map<string, Resolution>> {
    // `vault` helper calls never walk the chain: they go to Vault through the lease keeper (docs/vault.md "Dynamic secrets").
    const calls = all.filter(([, request]) => isDynamicCall(request));
    const entries = calls.length === 0 ? all : all.filter(([, request]) => !isDynamicCall(request));
    const results = calls.length === 0 ? new Map<string, Resolution>() : await this.#resolveCalls(calls);
    const requests = new Map(entries);
    let items: WalkItem[] = [];
    for (const [key, request] of entries) {
      const candidates = this.#candidates(request);
      if (candidates instanceof AgentError) results.set(key, { status: 'failed', error: candidates });
      else if (request.ref.version !== undefined) items.push(this.#olderVersionItem(key, request, candidates));
      else items.push({ key, ref: request.ref, candidates, ...(this.#followsProvenance(request) ? this.#owners(request.ref) : {}) });
    }
    for (let attempt = 0; items.length > 0; attempt++) {
      const outages = new Map<BackendName, { paths: string[]; reason: string }>();
      const walked = await walkChain(items, this.#hooks(outages));
      for (const [backend, outage] of outages) this.#events.onUnavailable?.({ backend, ...outage });
      for (const [key, result] of walked) results.set(key, this.#remember(key, requests.get(key), result));
      if (attempt >= this.#retry.attempts) break;
      items = items.filter((item) => { const r = walked.get(item.key); return r?.status === 'failed' && r.error.code === 'ERR_BACKEND_UNAVAILABLE'; });
      if (items.length > 0) await this.#clock.sleep(backoffDelay(this.#retry, attempt, this.#random));
    }
    return results;
  }

  async #resolveCalls(calls: ReadonlyArray<readonly [string, SecretRequest]>): Promise<Map<string, Resolution>> {
    const vault = this.#chain.find((backend): backend is Backend & { dynamic: DynamicClient } => backend.name === 'vault' && 'dynamic' in backend);
    const source: CallSource | undefined = vault === undefined ? undefined : { client: vault.dynamic, start: () => this.start(vault) };
    const resolved = await this.#calls.resolve(calls.map(([, request]) => request.ref.path), source);
    const results = new Map<string, Resolution>();
    // Why no onFetch: a held lease is served without a request; the keeper counts what it sends (vault_lease_renewals_total).
    for (const [key, request] of calls) results.set(key, resolved.get(request.ref.path) ?? notAnswered(key));
    return results;
  }

  /** Keep a fresh value as the last good one and, for the chain, who served it; report provenance conflicts. */
  #remember(key: string, request: SecretRequest | undefined, result: Resolution): Resolution {
    if (result.status === 'found' && !result.stale) {
      this.#memory.lastGood.set(key, { data: result.data, backend: result.backend, version: result.version, meta: result.meta });
      // Only the chain has provenance: a pinned request asks its one backend whatever served the path before.
      if (request !== undefined && this.#followsProvenance(request) && request.ref.version === undefined) this.#memory.provenance.record(refKey(request.ref), result.backend);
    }
    if (result.status === 'failed' && result.error.code === 'ERR_PROVENANCE_CONFLICT') {
      const { backend, path } = result.error.details as { backend: BackendName; path: string };
      this.#events.onProvenanceConflict?.({ backend, path });
    }
    return result;
  }

  #hooks(outages: Map<BackendName, { paths: string[]; reason: string }>): Parameters<typeof walkChain>[1] {
    return {
      start: (backend) => this.start(backend),
      limiter: (backend) => {
        let limiter = this.#limiters.get(backend);
        if (!limiter) this.#limiters.set(backend, (limiter = new Limiter(this.#concurrency)));
        return limiter;
      },
      lastGood: (key) => this.#memory.lastGood.get(key),
      onFetch: (backend, path, status, seconds) => this.#events.onFetch?.({ backend, path, status, seconds }),
      onUnavailable: (backend, path, reason) => {
        const outage = outages.get(backend);
        if (outage) outage.paths.push(path);
        else outages.set(backend, { paths: [path], reason: reason.replace(/\s+/g, ' ').trim() });
      },
    };
  }

  // Why: an older version is the older version of the value the file already holds, so it is asked only of the
  // backend that serves the current one (its provenance), else of the backends that keep versions; it never records
  // provenance and its absence is plain "not found" (default= applies), not a conflict (docs/templates.md).
  /** The walk of a `version="previous"` request. */
  #olderVersionItem(key: string, request: SecretRequest, candidates: readonly Backend[]): WalkItem {
    const owner = this.#followsProvenance(request) ? this.#memory.provenance.owner(refKey({ kind: request.ref.kind, path: request.ref.path })) : undefined;
    const versioned = candidates.filter((backend) => (owner === undefined ? backend.name === 'vault' || backend.name === 'aws' : backend.name === owner));
    return { key, ref: request.ref, candidates: versioned };
  }

  // Why related: a template changed from {{secret "app/db/password"}} to (secrets "app/db") during an outage asks
  // for a reference nothing served yet; the secret's backend still holds it, so no lower one may serve it.
  /** The owner of `ref`, and the backend that served its secret in the other form (the highest in the chain). */
  #owners(ref: SecretRef): { owner: BackendName | undefined; related: BackendName | undefined } {
    const { provenance } = this.#memory;
    const owner = provenance.owner(refKey(ref));
    if (ref.kind === 'value') {
      const slash = ref.path.lastIndexOf('/');
      return { owner, related: slash < 0 ? undefined : provenance.owner(refKey({ kind: 'map', path: ref.path.slice(0, slash) })) };
    }
    const keys = new Set(provenance.ownersOfKeys(ref.path));
    return { owner, related: this.#chain.find((backend) => keys.has(backend.name))?.name };
  }

  /** Whether `request` walks the chain under provenance: not pinned by itself, nor by a forced backend. */
  #followsProvenance(request: SecretRequest): boolean {
    return request.backend === undefined && !this.#pinned;
  }

  #candidates(request: SecretRequest): readonly Backend[] | AgentError {
    if (request.backend === undefined) return this.#chain;
    const pinned = this.#chain.find((backend) => backend.name === request.backend);
    if (pinned) return [pinned];
    const names = this.#chain.map((backend) => backend.name).join(', ');
    return new AgentError('ERR_BACKEND_UNAVAILABLE', `backend "${request.backend}" is not configured (configured: ${names}) for "${request.ref.path}"`, { details: { backend: request.backend, path: request.ref.path } });
  }
}

/** A `vault` helper call (its path is the call's identity, `GET database/creds/x`), always pinned to Vault. */
function isDynamicCall(request: SecretRequest): boolean {
  return request.backend === 'vault' && isCallIdentity(request.ref.path);
}

function notAnswered(key: string): Resolution {
  return { status: 'failed', error: new AgentError('ERR_BACKEND_UNAVAILABLE', `no answer for ${key}`) };
}
