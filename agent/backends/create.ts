// Build the chain of backends from the configuration: only configured backends take part, in `chain`
// order (DESIGN §5). A forced backend (`backend: vault`) makes a chain of one; the config schema has
// already checked that a forced backend is configured.
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { createAwsBackend } from './aws.js';
import type { Backend, BackendName } from './backend.js';
import { EnvBackend } from './env.js';
import { FileBackend } from './file.js';
import { createVaultBackend } from './vault.js';

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

/** The chain for `config`, in order; `env` is the process environment the env backend reads. */
export function createChain(config: Config, env: Readonly<Record<string, string | undefined>>, log: Logger): Backend[] {
  const names = config.backend === 'auto' ? config.chain.filter((name) => isConfigured(name, config)) : [config.backend];
  return names.map((name) => createBackend(name, config, env, log));
}

function createBackend(name: BackendName, config: Config, env: Readonly<Record<string, string | undefined>>, log: Logger): Backend {
  switch (name) {
    case 'vault':
      return createVaultBackend({ config: config.vault, log });
    case 'aws':
      return createAwsBackend({ config: config.aws, log });
    case 'file':
      // The schema refuses `backend: file` without file.path; in auto mode file only takes part with one.
      return new FileBackend({ path: config.file.path ?? '' });
    case 'env':
      return new EnvBackend({ env, prefix: config.env.prefix, map: config.env.map });
  }
}
