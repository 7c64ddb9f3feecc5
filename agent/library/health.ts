// Health of the chain, for `secrets-agent health` and the seed's `checkSecretBackend()`.
import { isVault } from '../backends/create.js';
import type { Backend, BackendName } from '../backends/backend.js';

export interface BackendHealth {
  backend: BackendName;
  reachable: boolean;
  /** Vault: the token is valid; other backends: reachable means authenticated. */
  authenticated: boolean;
  latencyMs: number;
  tokenTtlSeconds?: number;
  error?: string;
}

/** Probe every backend of the chain in order; never throws. */
export async function probeBackends(backends: readonly Backend[]): Promise<BackendHealth[]> {
  return Promise.all(backends.map(async (backend) => {
    const started = performance.now();
    let reachable = false;
    let error: string | undefined;
    try {
      reachable = await backend.isAvailable();
    } catch (cause) {
      error = (cause as Error).message;
    }
    const health: BackendHealth = { backend: backend.name, reachable, authenticated: reachable, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    if (isVault(backend)) {
      const token = backend.tokenStatus();
      if (token.ttlSeconds !== undefined) health.tokenTtlSeconds = token.ttlSeconds;
      health.authenticated = reachable && token.lastError === undefined;
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
