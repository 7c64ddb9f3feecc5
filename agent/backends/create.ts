// Build the chain of backends from the configuration: only configured backends take part, in `chain`
// order (docs/design.md "The chain"). A forced backend (`backend: vault`) makes a chain of one; the config schema has
// already checked that a forced backend is configured.
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Backend, BackendName } from './backend.js';
import { EnvBackend } from './env.js';
import { FileBackend } from './file.js';
import type { VaultBackend } from './vault.js';

/** A backend named "vault" is always a VaultBackend: a type guard that does not load node-vault. */
export function isVault(backend: Backend | undefined): backend is VaultBackend {
  return backend?.name === 'vault';
}

/** Which backends are configured: Vault with an address, AWS with a region, file with a path, env always. */
export function isConfigured(name: BackendName, config: Config): boolean {
  switch (name) {
    case 'vault':
      return config.vault.address !== undefined;
    case 'aws':
      return config.aws.region !== undefined;
    case 'file':
      return config.file.path !== undefined;
    case 'env':
      return true;
  }
}

/**
 * The chain for `config`, in order; `env` is the process environment the env backend reads. The Vault and AWS
 * modules (node-vault, the AWS SDK) are loaded only when they take part: start-up and memory pay for what is used.
 */
export async function createChain(config: Config, env: Readonly<Record<string, string | undefined>>, log: Logger): Promise<Backend[]> {
  const names = config.backend === 'auto' ? config.chain.filter((name) => isConfigured(name, config)) : [config.backend];
  return Promise.all(names.map((name) => createBackend(name, config, env, log)));
}

async function createBackend(name: BackendName, config: Config, env: Readonly<Record<string, string | undefined>>, log: Logger): Promise<Backend> {
  switch (name) {
    case 'vault':
      return (await import('./vault.js')).createVaultBackend({ config: config.vault, log });
    case 'aws':
      return (await import('./aws.js')).createAwsBackend({ config: config.aws, log });
    case 'file':
      // The schema refuses `backend: file` without file.path; in auto mode file only takes part with one.
      return new FileBackend({ path: config.file.path ?? '' });
    case 'env':
      return new EnvBackend({ env, prefix: config.env.prefix, map: config.env.map, log: log.child({ component: 'env' }) });
  }
}
