// Health of the chain, for `secrets-agent health` and the seed's `checkSecretBackend()`.
import { isVault } from '../backends/create.js';
import type { Backend, BackendName } from '../backends/backend.js';

/** What probing needs from the store: its backends, and starting one the way every read starts it. */
export interface Probed {
  readonly backends: readonly Backend[];
  start(backend: Backend): Promise<string | undefined>;
}

export interface BackendHealth {
  backend: BackendName;
  reachable: boolean;
  /** Vault: the token is valid; other backends: reachable means authenticated. */
  authenticated: boolean;
  latencyMs: number;
  tokenTtlSeconds?: number;
  error?: string;
}

/** Probe every backend of the chain in order, started as a read would start it; never throws. */
export async function probeBackends(store: Probed): Promise<BackendHealth[]> {
  return Promise.all(store.backends.map(async (backend) => {
    const started = performance.now();
    let reachable = false;
    const cannotStart = await store.start(backend);
    let error = cannotStart;
    try {
      reachable = await backend.isAvailable();
    } catch (cause) {
      error ??= (cause as Error).message;
    }
    const health: BackendHealth = { backend: backend.name, reachable, authenticated: reachable && cannotStart === undefined, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    if (isVault(backend)) {
      const token = backend.tokenStatus();
      if (token.ttlSeconds !== undefined) health.tokenTtlSeconds = token.ttlSeconds;
      health.authenticated = health.authenticated && token.lastError === undefined;
      error ??= token.lastError;
    }
    if (error !== undefined) health.error = error;
    return health;
  }));
}

/** The chain can serve when a backend other than env answers, or env is all there is. */
export function chainCanServe(health: readonly BackendHealth[]): boolean {
  const stores = health.filter((entry) => entry.backend !== 'env');
  return stores.length === 0 ? health.length > 0 : stores.some((entry) => entry.reachable && entry.authenticated);
}
