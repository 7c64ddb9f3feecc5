// One walk of the chain for many requests at once (docs/design.md "The chain"): each round asks every backend
// for all the references currently waiting on it — in one batch where the backend can batch (AWS) — and applies
// the chain's rules to each answer: found → done; not found → next; unavailable → the last good value when this
// backend served the path (stale), else next; denied → stop with an error. A backend that cannot start (Vault
// sealed or unreachable at login) is unavailable for that read like any other outage. Provenance: the backend
// that served a path before (its owner) is the last one asked — unavailable there with no last good value, or
// not found there, fails the path instead of letting a lower backend serve it.
import type { Backend, Outcome, ReadMeta, SecretData, SecretRef } from '../backends/backend.js';
import { pathOfKey, refKey } from '../backends/backend.js';
import type { BackendName } from '../backends/backend.js';
import { AgentError } from '../errors.js';
import type { Limiter } from './limit.js';

export type Resolution =
  | { readonly status: 'found'; readonly data: SecretData; readonly backend: BackendName; readonly version?: string | undefined; readonly meta?: ReadMeta | undefined; readonly stale?: { readonly reason: string } }
  | { readonly status: 'not_found'; readonly tried: readonly BackendName[] }
  | { readonly status: 'failed'; readonly error: AgentError };

/** The last value a backend gave for a request: what a later outage of that backend falls back to. */
export interface LastGood {
  readonly data: SecretData;
  readonly backend: BackendName;
  readonly version?: string | undefined;
  readonly meta?: ReadMeta | undefined;
}

export interface WalkItem {
  readonly key: string;
  readonly ref: SecretRef;
  readonly candidates: readonly Backend[];
  /** The backend that served this path before (provenance); no backend after it in `candidates` is asked. */
  readonly owner?: BackendName | undefined;
  /**
   * The backend that served the same secret in the other form (`map:a/b` for `value:a/b/k`, and back): while it is
   * down no lower backend serves this one either; its "not found" moves on (it may never have had this key).
   */
  readonly related?: BackendName | undefined;
}

export interface WalkHooks {
  limiter(backend: Backend): Limiter;
  /** Start the backend once (login, token lookup); the reason when it cannot start now. */
  start(backend: Backend): Promise<string | undefined>;
  lastGood(key: string): LastGood | undefined;
  onFetch(backend: BackendName, path: string, status: Outcome['status'] | 'error', seconds: number): void;
  onUnavailable(backend: BackendName, path: string, reason: string): void;
}

interface Pending {
  item: WalkItem;
  index: number;
  tried: BackendName[];
  unavailable?: { backend: BackendName; reason: string };
}

/** Resolve every item through its candidates; never throws. */
export async function walkChain(items: readonly WalkItem[], hooks: WalkHooks): Promise<Map<string, Resolution>> {
  const results = new Map<string, Resolution>();
  let pending: Pending[] = [];
  for (const item of items) {
    const gone = ownerGone(item, hooks);
    if (gone) results.set(item.key, gone);
    else pending.push({ item, index: 0, tried: [] });
  }
  while (pending.length > 0) {
    const groups = new Map<Backend, Pending[]>();
    for (const entry of pending) {
      const backend = entry.item.candidates[entry.index];
      if (!backend) {
        results.set(entry.item.key, exhausted(entry));
        continue;
      }
      const group = groups.get(backend);
      if (group) group.push(entry);
      else groups.set(backend, [entry]);
    }
    const next: Pending[] = [];
    await Promise.all([...groups].map(async ([backend, entries]) => {
      const outcomes = await fetchGroup(backend, entries.map((entry) => entry.item.ref), hooks);
      for (const entry of entries) {
        const outcome = outcomes.get(refKey(entry.item.ref)) ?? { status: 'unavailable', reason: 'no answer' };
        const result = apply(entry, backend, outcome, hooks);
        if (result) results.set(entry.item.key, result);
        else next.push(entry);
      }
    }));
    pending = next;
  }
  return results;
}

/** The chain's rule for one answer; undefined means "ask the next backend". */
function apply(entry: Pending, backend: Backend, outcome: Outcome | AgentError, hooks: WalkHooks): Resolution | undefined {
  const { path } = entry.item.ref;
  entry.tried.push(backend.name);
  // Missing AWS credentials mean the backend cannot answer here: the chain moves on, loudly (the reason says where the SDK looked).
  if (outcome instanceof AgentError && outcome.code === 'ERR_NO_CREDENTIALS') outcome = { status: 'unavailable', reason: outcome.message };
  if (outcome instanceof AgentError) return { status: 'failed', error: outcome };
  switch (outcome.status) {
    case 'found':
      return { status: 'found', data: outcome.data, backend: backend.name, version: outcome.version, meta: outcome.meta };
    case 'error':
      return { status: 'failed', error: outcome.error };
    case 'denied':
      return { status: 'failed', error: new AgentError('ERR_SECRET_DENIED', `${backend.name} backend: permission denied for "${path}": ${outcome.reason}`, { details: { backend: backend.name, path } }) };
    case 'unavailable': {
      hooks.onUnavailable(backend.name, path, outcome.reason);
      const last = hooks.lastGood(entry.item.key);
      // A path stays with the backend that served it: an outage keeps its last value, never a lower backend's.
      if (last?.backend === backend.name) return { status: 'found', data: last.data, backend: last.backend, version: last.version, meta: last.meta, stale: { reason: outcome.reason } };
      if (entry.item.owner === backend.name || entry.item.related === backend.name) {
        const served = entry.item.owner === backend.name ? 'which it served before' : 'whose secret it served before in another form';
        const message = `${backend.name} backend unavailable while reading "${path}", ${served}; no lower backend serves it, the file keeps its content: ${outcome.reason}`;
        return { status: 'failed', error: new AgentError('ERR_BACKEND_UNAVAILABLE', message, { details: { backend: backend.name, path } }) };
      }
      entry.unavailable = { backend: backend.name, reason: outcome.reason };
      entry.index++;
      return undefined;
    }
    case 'not_found':
      if (entry.item.owner === backend.name) {
        const why = outcome.reason === undefined ? '' : ` (${outcome.reason})`;
        const message = `${backend.name} backend no longer has "${path}", which it served before${why}; no lower backend serves it and the file keeps its content - if it was deleted on purpose, change the template or start on a new volume`;
        return { status: 'failed', error: new AgentError('ERR_PROVENANCE_CONFLICT', message, { details: { backend: backend.name, path } }) };
      }
      entry.index++;
      return undefined;
  }
}

// Why: the owner leaves the chain when a reload drops it or a restart finds it unconfigured (VAULT_ADDR unset); every
// backend left was below it or beside it, so none may serve the path. Like an outage of the owner: its last good
// value stays (stale), else the path fails and the file keeps its bytes.
/** The resolution of an item whose owner is no longer among its candidates; undefined when it is. */
function ownerGone(item: WalkItem, hooks: WalkHooks): Resolution | undefined {
  const { owner } = item;
  if (owner === undefined || item.candidates.some((backend) => backend.name === owner)) return undefined;
  const reason = `${owner} backend is no longer in the chain`;
  const last = hooks.lastGood(item.key);
  if (last?.backend === owner) return { status: 'found', data: last.data, backend: last.backend, version: last.version, meta: last.meta, stale: { reason } };
  const message = `${reason} and served "${item.ref.path}" before; no other backend serves it and the file keeps its content - if it moved on purpose, remove <output>/.secrets-agent/provenance.json while the agent is stopped`;
  return { status: 'failed', error: new AgentError('ERR_BACKEND_UNAVAILABLE', message, { details: { backend: owner, path: item.ref.path } }) };
}

function exhausted(entry: Pending): Resolution {
  const { path } = entry.item.ref;
  if (!entry.unavailable) return { status: 'not_found', tried: entry.tried };
  const { backend, reason } = entry.unavailable;
  return { status: 'failed', error: new AgentError('ERR_BACKEND_UNAVAILABLE', `${backend} backend unavailable while reading "${path}": ${reason} (tried ${entry.tried.join(', ')})`, { details: { backend, path } }) };
}

/** Ask one backend for many references: one batch call where it can, else one call each within its limit. */
async function fetchGroup(backend: Backend, refs: readonly SecretRef[], hooks: WalkHooks): Promise<Map<string, Outcome | AgentError>> {
  const unique = [...new Map(refs.map((ref) => [refKey(ref), ref])).values()];
  const outcomes = new Map<string, Outcome | AgentError>();
  const cannotStart = await hooks.start(backend);
  if (cannotStart !== undefined) {
    for (const ref of unique) {
      hooks.onFetch(backend.name, ref.path, 'unavailable', 0);
      outcomes.set(refKey(ref), { status: 'unavailable', reason: cannotStart });
    }
    return outcomes;
  }
  let single = unique;
  if (backend.fetchMany && unique.length > 1) {
    const started = process.hrtime.bigint();
    try {
      const batch = await hooks.limiter(backend).run(() => backend.fetchMany?.(unique) ?? Promise.resolve(new Map<string, Outcome>()));
      const seconds = elapsed(started) / Math.max(1, batch.size);
      for (const [key, outcome] of batch) {
        outcomes.set(key, outcome);
        hooks.onFetch(backend.name, pathOfKey(key), outcome.status, seconds);
      }
    } catch (error) {
      for (const ref of unique) outcomes.set(refKey(ref), asAgentError(error, backend.name, ref.path));
    }
    // A backend may leave out references it could not answer in bulk; those are asked one by one.
    single = unique.filter((ref) => !outcomes.has(refKey(ref)));
  }
  await Promise.all(single.map(async (ref) => {
    const started = process.hrtime.bigint();
    try {
      const outcome = await hooks.limiter(backend).run(() => backend.fetch(ref));
      hooks.onFetch(backend.name, ref.path, outcome.status, elapsed(started));
      outcomes.set(refKey(ref), outcome);
    } catch (error) {
      hooks.onFetch(backend.name, ref.path, 'error', elapsed(started));
      outcomes.set(refKey(ref), asAgentError(error, backend.name, ref.path));
    }
  }));
  return outcomes;
}

function elapsed(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function asAgentError(error: unknown, backend: BackendName, path: string): AgentError {
  if (error instanceof AgentError) return error;
  return new AgentError('ERR_BACKEND_UNAVAILABLE', `${backend} backend failed while reading "${path}": ${(error as Error).message}`, { cause: error, details: { backend, path } });
}
