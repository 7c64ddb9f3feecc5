// secret_age_seconds{path}: how long ago the version the agent serves was written, from the creation time the
// data read already carried (Vault KV v2 `created_time`, AWS `CreatedDate`). No extra request: reading
// metadata for the gauge cost one more GET per secret (benchmarks: 40 → 80 Vault requests in a first cycle).
// The age is computed at scrape time, so it is exact whenever Prometheus asks, not as of the last cycle.
import type { Gauge } from 'prom-client';
import { isVersionKey, pathOfKey } from '../backends/backend.js';
import type { Resolution } from '../store/store.js';

export class SecretAgeBook {
  /** Template path → creation time (ms since the epoch) of the version served. */
  #created = new Map<string, number>();

  /** Replace the book with a cycle's resolutions; paths without a creation time (file, env, KV v1) drop out. */
  record(resolutions: ReadonlyMap<string, Resolution>): void {
    const created = new Map<string, number>();
    for (const [key, resolution] of resolutions) {
      // An older version (version="previous") is not what the path serves: its age is not the path's.
      if (isVersionKey(key)) continue;
      const at = resolution.status === 'found' && resolution.meta?.createdAt !== undefined ? Date.parse(resolution.meta.createdAt) : Number.NaN;
      if (!Number.isNaN(at)) created.set(pathOfKey(key), at);
    }
    this.#created = created;
  }

  /** Set the gauge to each path's age at `now`, whole seconds, never negative (a backend clock ahead of ours). */
  sample(gauge: Gauge<'path'>, now: number): void {
    gauge.reset();
    for (const [path, at] of this.#created) gauge.set({ path }, Math.max(0, Math.floor((now - at) / 1000)));
  }
}
