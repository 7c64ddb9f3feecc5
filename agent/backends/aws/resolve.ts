// Turns a cycle's references into outcomes with the fewest reads: first every JSON (or map) secret at once,
// then, batched too, the plain secrets of value references whose JSON secret does not exist.
import type { Outcome, ReadMeta, SecretRef } from '../backend.js';
import { readMeta, refKey } from '../backend.js';
import type { AgentError } from '../../errors.js';
import { isAgentError } from '../../errors.js';
import type { StoredValue } from './content.js';
import { jsonObject, notAnObject, secretText, stringMap, stringify } from './content.js';
import type { SecretPlan } from './paths.js';
import { planFor } from './paths.js';
import type { ReadResult, SecretReader } from './reader.js';

/** An outcome, or the AgentError a secret that exists but cannot be read as asked must raise. */
export type Resolved = Outcome | AgentError;

/** Why: each reference is settled from at most two reads, both shared with every other reference of the cycle. */
export async function resolveRefs(refs: readonly SecretRef[], options: { reader: SecretReader; prefix: string; region: string }): Promise<Map<string, Resolved>> {
  const plans = new Map(refs.map((ref) => [refKey(ref), { ref, plan: planFor(ref, options.prefix) }]));
  const firstIds = [...plans.values()].map(({ plan }) => plan.json?.id ?? plan.plain).filter((id): id is string => id !== undefined);
  const results = await options.reader.read(firstIds);
  const secondIds = [...plans.values()]
    .filter(({ plan }) => plan.json !== undefined && plan.plain !== undefined && results.get(plan.json.id)?.status === 'not_found')
    .map(({ plan }) => plan.plain)
    .filter((id): id is string => id !== undefined && !results.has(id));
  for (const [id, result] of await options.reader.read(secondIds)) results.set(id, result);
  const out = new Map<string, Resolved>();
  for (const [key, { ref, plan }] of plans) out.set(key, settle(ref, plan, results, options.region));
  return out;
}

/** The outcome of one reference from the reads of its secrets. */
function settle(ref: SecretRef, plan: SecretPlan, results: ReadonlyMap<string, ReadResult>, region: string): Resolved {
  const { json, plain } = plan;
  if (json !== undefined) {
    const result = results.get(json.id);
    if (result === undefined) return { status: 'unavailable', reason: `secret "${json.id}" in ${region} was not read` };
    if (result.status === 'found') return guard(() => fromJson(result.value, json.key, plain, region));
    if (result.status !== 'not_found' || plain === undefined) return asOutcome(result, ref.kind === 'map' ? `secret "${json.id}"${deleted(result)} does not exist in ${region}` : undefined);
  }
  if (plain === undefined) return { status: 'not_found' };
  const result = results.get(plain);
  if (result === undefined) return { status: 'unavailable', reason: `secret "${plain}" in ${region} was not read` };
  if (result.status === 'found') return guard(() => ({ status: 'found', data: secretText(result.value, region), ...version(result.value) }));
  const missing = json === undefined
    ? `secret "${plain}"${deleted(result)} does not exist in ${region}`
    : `neither the JSON secret "${json.id}"${deleted(results.get(json.id))} nor the plain secret "${plain}"${deleted(result)} exists in ${region}`;
  return asOutcome(result, missing);
}

/** Why: a secret marked for deletion is not found, and the reason says so (RestoreSecret brings it back). */
function deleted(result: ReadResult | undefined): string {
  return result?.status === 'not_found' && result.markedForDeletion === true ? ' (marked for deletion; RestoreSecret cancels that)' : '';
}

/** A key of a JSON secret (value refs) or all of its keys (map refs). */
function fromJson(stored: StoredValue, key: string | undefined, plain: string | undefined, region: string): Outcome {
  const object = jsonObject(secretText(stored, region));
  if (object === undefined) throw notAnObject(stored, region, { key, plain });
  if (key === undefined) return { status: 'found', data: stringMap(object), ...version(stored) };
  if (!Object.hasOwn(object, key)) return { status: 'not_found', reason: `secret "${stored.id}" in ${region} has no key "${key}"` };
  return { status: 'found', data: stringify(object[key]), ...version(stored) };
}

/** Why: exactOptionalPropertyTypes: `version` is present only when AWS sent a VersionId, `createdAt` only with a valid CreatedDate. */
function version(stored: StoredValue): { version?: string; meta: ReadMeta } {
  const meta = readMeta(stored.id, stored.createdDate);
  return stored.versionId === undefined ? { meta } : { version: stored.versionId, meta };
}

/** Why: data errors are values here, so one bad secret never hides the others of the batch. */
function guard(read: () => Outcome): Resolved {
  try {
    return read();
  } catch (error) {
    if (isAgentError(error)) return error;
    throw error;
  }
}

/** A failed read as the chain's outcome; AgentErrors (no credentials, malformed answers) pass through. */
function asOutcome(result: Exclude<ReadResult, { status: 'found' }>, notFoundReason: string | undefined): Resolved {
  switch (result.status) {
    case 'error':
      return result.error;
    case 'not_found':
      return notFoundReason === undefined ? { status: 'not_found', reason: result.reason } : { status: 'not_found', reason: notFoundReason };
    case 'denied':
    case 'unavailable':
      return { status: result.status, reason: result.reason };
  }
}
