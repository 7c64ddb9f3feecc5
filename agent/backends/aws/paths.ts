// docs/design.md for AWS: `a/b/key` is key `key` of the JSON secret `<prefix>a/b`, or else the whole value of the
// plain secret `<prefix>a/b/key`; `a/b` (a map) is every key of the JSON secret `<prefix>a/b`.
import type { SecretRef } from '../backend.js';
import { splitPath } from '../backend.js';

export interface SecretPlan {
  /** The JSON secret holding the key (value refs with at least two segments) or the whole map (map refs). */
  readonly json?: { readonly id: string; readonly key?: string };
  /** The plain secret whose whole SecretString is the value; tried only when the JSON secret does not exist. */
  readonly plain?: string;
}

/** Which secret ids can answer `ref`, in the order they are tried. */
export function planFor(ref: SecretRef, prefix: string): SecretPlan {
  if (ref.kind === 'map') return { json: { id: `${prefix}${ref.path}` } };
  const { secret, key } = splitPath(ref.path);
  // A one-segment path has no JSON secret to hold it: `<prefix>key` can only be a plain secret.
  if (secret === '') return { plain: `${prefix}${ref.path}` };
  return { json: { id: `${prefix}${secret}`, key }, plain: `${prefix}${ref.path}` };
}
