// Every value a set of resolutions holds, for the scrubber and for keeping secrets out of child environments.
import type { Resolution } from './store.js';

export function resolvedValues(resolutions: Iterable<Resolution>): string[] {
  const values: string[] = [];
  for (const resolution of resolutions) {
    if (resolution.status !== 'found') continue;
    if (typeof resolution.data === 'string') values.push(resolution.data);
    else values.push(...Object.values(resolution.data));
  }
  return values;
}
