// What a pass logs about the last good values it served (docs/operations.md "When something fails"): one warning
// per backend per pass, not one per path. During an outage every path a backend served is stale at once, and an
// agent holding 2,000 paths would otherwise write 2,000 lines every cycle, burying the line that says why. The
// store's outage warning has the same shape (agent/store/store.ts describeOutage); each path is also logged at debug
// level, and GET /v1/status lists every stale one.
import { namePaths } from '../store/store.js';

/** One path served from a backend's last good value. */
export interface StaleRead {
  readonly path: string;
  readonly backend: string;
  readonly version?: string | undefined;
  readonly reason: string;
}

export interface StaleLine {
  readonly msg: string;
  /** Structured fields of the line: names only, never a value. */
  readonly fields: { readonly backend: string; readonly paths: number; readonly path: string; readonly reason: string; readonly version?: string };
}

/** Why: grouped by backend in first-seen order; the reason shown is the first path's, as in the outage warning. */
export function staleLines(reads: Iterable<StaleRead>): StaleLine[] {
  const groups = new Map<string, StaleRead[]>();
  for (const read of reads) {
    const group = groups.get(read.backend);
    if (group === undefined) groups.set(read.backend, [read]);
    else group.push(read);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as StaleRead;
    const fields = { backend: first.backend, paths: group.length, path: first.path, reason: first.reason };
    if (group.length === 1) {
      // One path: the line operators grep for ("serving the last good value of "<path>" from <backend> (stale)").
      return { msg: `serving the last good value of "${first.path}" from ${first.backend} (stale): ${first.reason}`, fields: first.version === undefined ? fields : { ...fields, version: first.version } };
    }
    const named = namePaths(group.map((read) => read.path));
    return { msg: `serving the last good value of ${group.length} paths from ${first.backend} (stale) (${named}): ${first.reason}`, fields };
  });
}
