// The plan of a `migrate`: variables grouped per secret, each secret compared with what the backend holds,
// and then each secret written once (create-only, or merged with --overwrite) - never a value in the plan's
// printable parts, which are secret names, key names and variable names.
import { AgentError, isAgentError } from '../errors.js';
import type { EnvVariable } from './env-file.js';
import { exchangesIn, targetOf } from './env-map.js';
import type { Overrides } from './env-map.js';
import type { SecretWriter, StoredSecret } from './writer.js';

export interface Grouping {
  /** secret → key → value, in the order the variables appear. */
  readonly groups: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Variables with no place in the layout (listed, not migrated). */
  readonly unmapped: readonly string[];
  /** Variables the --map file leaves out on purpose. */
  readonly skipped: readonly string[];
}

/** What happens to one secret. */
export type Action = 'create' | 'unchanged' | 'merge' | 'conflict';

export interface SecretPlan {
  readonly secret: string;
  readonly data: Readonly<Record<string, string>>;
  readonly action: Action;
  /** Keys whose stored value differs, and keys the stored secret lacks (both empty for create). */
  readonly changed: readonly string[];
  readonly added: readonly string[];
  readonly existing?: StoredSecret;
}

export interface Written {
  readonly secret: string;
  readonly action: 'create' | 'merge';
  readonly version: string;
}

/** Why: a secret is written once with all its keys, so the variables are grouped first. */
export function groupVariables(variables: readonly EnvVariable[], overrides: Overrides, file: string): Grouping {
  const exchanges = exchangesIn(variables.map((variable) => variable.name));
  const groups = new Map<string, Map<string, string>>();
  const owners = new Map<string, string>();
  const unmapped: string[] = [];
  const skipped: string[] = [];
  for (const { name, value } of variables) {
    const target = targetOf(name, exchanges, overrides);
    if (target === undefined) unmapped.push(name);
    if (target === null) skipped.push(name);
    if (!target) continue;
    const slot = `${target.secret}/${target.key}`;
    const owner = owners.get(slot);
    if (owner !== undefined) throw new AgentError('ERR_MIGRATE_INPUT', `migrate: ${file}: ${owner} and ${name} both map to ${slot}; map one of them elsewhere with --map`, { details: { file, path: slot } });
    owners.set(slot, name);
    const group = groups.get(target.secret) ?? new Map<string, string>();
    groups.set(target.secret, group.set(target.key, value));
  }
  return { groups, unmapped, skipped };
}

/** Compare every group with the backend (reads only). */
export async function planMigration(writer: SecretWriter, groups: Grouping['groups'], overwrite: boolean): Promise<SecretPlan[]> {
  return Promise.all([...groups].map(async ([secret, keys]): Promise<SecretPlan> => {
    const data = Object.fromEntries(keys);
    const existing = await writer.read(secret);
    if (existing === undefined) return { secret, data, action: 'create', changed: [], added: [] };
    const changed = [...keys].filter(([key, value]) => Object.hasOwn(existing.data, key) && existing.data[key] !== value).map(([key]) => key);
    const added = [...keys.keys()].filter((key) => !Object.hasOwn(existing.data, key));
    const action: Action = changed.length === 0 && added.length === 0 ? 'unchanged' : overwrite ? 'merge' : 'conflict';
    return { secret, data, action, changed, added, existing };
  }));
}

/**
 * Write every `create` and `merge` of the plan, one write per secret, in order. A failure stops the run: the
 * secrets written before it are returned with the error, so the caller can say what already happened.
 */
export async function applyPlan(writer: SecretWriter, plans: readonly SecretPlan[]): Promise<{ written: Written[]; failure?: AgentError }> {
  const written: Written[] = [];
  for (const plan of plans) {
    try {
      if (plan.action === 'create') written.push({ secret: plan.secret, action: 'create', version: (await writer.create(plan.secret, plan.data)).version });
      if (plan.action === 'merge' && plan.existing) written.push({ secret: plan.secret, action: 'merge', version: (await writer.merge(plan.secret, plan.data, plan.existing)).version });
    } catch (error) {
      if (!isAgentError(error)) throw error;
      return { written, failure: new AgentError(error.code, `migrate: secret "${plan.secret}" in ${writer.backend}: ${error.message}`, { cause: error, details: { ...error.details, path: plan.secret } }) };
    }
  }
  return { written };
}
