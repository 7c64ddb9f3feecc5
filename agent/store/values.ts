// Every value a set of resolutions holds, for the scrubber and for keeping secrets out of child environments.
import { pathOfKey } from '../backends/backend.js';
import { stringLeaves } from '../dynamic/response.js';
import type { Resolution } from './store.js';

export function resolvedValues(resolutions: Iterable<Resolution>): string[] {
  const values: string[] = [];
  for (const resolution of resolutions) {
    if (resolution.status !== 'found') continue;
    // A vault helper's `data` may nest (a PKI `ca_chain` array): every string inside it is a value.
    if (typeof resolution.data === 'string') values.push(resolution.data);
    else stringLeaves(resolution.data, values);
  }
  return values;
}

/** The words the agent prints itself for these resolutions: every segment of every path (`database`, `postgres`). */
export function pathSegments(keys: Iterable<string>): Set<string> {
  const segments = new Set<string>();
  for (const key of keys) for (const segment of pathOfKey(key).split('/')) segments.add(segment);
  return segments;
}
