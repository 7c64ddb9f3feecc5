// The library entry (`import { getSecret } from 'secrets-agent'`, README.md "Library"): the seed's functions on a
// shared default SecretManager configured from the environment, plus the classes for explicit use.
import type { BackendName } from './backends/backend.js';
import { chainCanServe, probeBackends } from './library/health.js';
import { SecretManager } from './library/manager.js';

export { SecretManager } from './library/manager.js';
export type { SecretManagerOptions } from './library/manager.js';
export { SecretRotationManager } from './library/rotation.js';
export type { RotationResult, RotationScheduleView, ScheduleOptions } from './library/rotation.js';
export type { BackendHealth } from './library/health.js';
export { AgentError, errorCodes, isAgentError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { BackendName } from './backends/backend.js';

let shared: SecretManager | undefined;

/** The default manager: the chain configured by the environment, created on first use. */
function defaultManager(): SecretManager {
  shared ??= new SecretManager();
  return shared;
}

/** One secret value through the chain (`exchange/binance/api_key`); `default` only when no backend has it. */
export function getSecret(path: string, options: { default?: string; backend?: BackendName } = {}): Promise<string> {
  return defaultManager().getSecret(path, options);
}

/** Every key of a secret (`exchange/binance`). */
export function getSecrets(path: string, options: { backend?: BackendName } = {}): Promise<Record<string, string>> {
  return defaultManager().getSecrets(path, options);
}

/** `exchange/<name>` with `api_key` and `api_secret` required, other keys included. */
export function getExchangeCredentials(name: string): Promise<Record<string, string> & { api_key: string; api_secret: string }> {
  return defaultManager().getExchangeCredentials(name);
}

/** The seed's health object: healthy when the chain can serve. */
export async function checkSecretBackend(manager: SecretManager = defaultManager()): Promise<{ status: 'healthy' | 'unhealthy'; backend: string; error?: string }> {
  try {
    const health = await probeBackends(await manager.probed());
    const primary = health[0];
    const backend = primary?.backend ?? 'none';
    if (chainCanServe(health)) return { status: 'healthy', backend };
    const failing = health.find((entry) => !entry.reachable || !entry.authenticated);
    return { status: 'unhealthy', backend, error: failing?.error ?? `${failing?.backend ?? backend} not reachable` };
  } catch (error) {
    return { status: 'unhealthy', backend: manager.backendName, error: (error as Error).message };
  }
}
