// `audit --all PREFIX`: every secret under a prefix, per writable backend of the chain, each listed by the
// chain's own backend instance (Vault walks its metadata tree with `?list=1`; AWS uses ListSecrets with a name
// filter on the backend's client).
import type { Backend } from '../backends/backend.js';
import { isWritable } from '../backends/writable.js';
import { AgentError } from '../errors.js';
import type { AgeTarget } from './ages.js';

/** More secrets than this under one prefix is a mistake (`--all ""` on a shared Vault), not an audit. */
export const LIST_LIMIT = 10_000;

/** `exchange/` or `/exchange` → `exchange`; `/` or `` → `` (everything). */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}

/** Every secret under `prefix` in every Vault and AWS backend of `backends`, as map targets. */
export async function listAll(backends: readonly Backend[], prefix: string): Promise<AgeTarget[]> {
  const under = normalizePrefix(prefix);
  const targets: AgeTarget[] = [];
  for (const backend of backends.filter(isWritable)) {
    const paths = await backend.listSecrets(under, LIST_LIMIT);
    if (paths === undefined) throw tooMany(backend.name, under);
    for (const path of paths) targets.push({ path, kind: 'map', backend: backend.name });
  }
  return targets;
}

function tooMany(backend: string, prefix: string): AgentError {
  return new AgentError('ERR_USAGE', `audit --all: more than ${LIST_LIMIT} secrets under "${prefix}" in ${backend}; give a narrower prefix`, { details: { backend, path: prefix } });
}
