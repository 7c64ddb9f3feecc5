// Build the chain of backends from the configuration: only configured backends take part, in `chain`
// order, env always last-resort (DESIGN §5). A forced backend (`backend: file`) makes a chain of one.
import type { Config } from '../config/schema.js';
import { AgentError } from '../errors.js';
import type { Backend, BackendName } from './backend.js';
import { createAwsBackend } from './aws.js';
import { EnvBackend } from './env.js';
import type { Logger } from '../log/logger.js';
import { FileBackend } from './file.js';

export interface ChainPlan {
  readonly backends: Backend[];
  /** Configured backends this build cannot serve yet, for a warning (never silently ignored). */
  readonly skipped: BackendName[];
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

/** The chain for `config`, in order; `env` is the process environment the env backend reads. */
export function createChain(config: Config, env: Readonly<Record<string, string | undefined>>, log: Logger): ChainPlan {
  const forced = config.backend === 'auto' ? undefined : config.backend;
  const names = forced ? [forced] : config.chain.filter((name) => isConfigured(name, config));
  const backends: Backend[] = [];
  const skipped: BackendName[] = [];
  for (const name of names) {
    const backend = createBackend(name, config, env, log);
    if (backend) backends.push(backend);
    else if (forced) throw new AgentError('ERR_CONFIG_INVALID', `backend: "${name}" is not available in this version of secrets-agent - available backends are aws, file, env`, { details: { key: 'backend' } });
    else skipped.push(name);
  }
  return { backends, skipped };
}

function createBackend(name: BackendName, config: Config, env: Readonly<Record<string, string | undefined>>, log: Logger): Backend | undefined {
  switch (name) {
    case 'file':
      if (config.file.path === undefined) throw new AgentError('ERR_CONFIG_INVALID', 'backend: "file" needs file.path (SECRETS_AGENT_FILE)', { details: { key: 'file.path' } });
      return new FileBackend({ path: config.file.path });
    case 'env':
      return new EnvBackend({ env, prefix: config.env.prefix, map: config.env.map });
    case 'aws':
      return createAwsBackend({ config: config.aws, log });
    case 'vault':
      return undefined;
  }
}
