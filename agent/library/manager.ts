// The library's SecretManager (README.md "Library"): the same configuration (env vars, SECRETS_AGENT_CONFIG), the
// same chain and store as the agent, in-process, for Node services that want secrets without files.
import type { Backend, BackendName, SecretRef } from '../backends/backend.js';
import { createChain } from '../backends/create.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { AgentError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import type { Logger } from '../log/logger.js';
import { Scrubber } from '../log/scrub.js';
import { SecretStore, describeOutage } from '../store/store.js';
import type { Resolution } from '../store/store.js';
import { libraryError } from './errors.js';
import type { Probed } from './health.js';

export interface SecretManagerOptions {
  /** Force one backend (like `--backend`); default `auto`, the chain. */
  backend?: 'auto' | BackendName;
  /** A config file; default SECRETS_AGENT_CONFIG when set. */
  config?: string;
  /** The environment to configure from and to read the env backend from; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where logs go (JSON lines); default stderr at the configured level. */
  log?: Logger;
}

export class SecretManager {
  readonly #options: SecretManagerOptions;
  #ready: Promise<{ config: Config; store: SecretStore; log: Logger; scrubber: Scrubber }> | undefined;

  constructor(options: SecretManagerOptions = {}) {
    this.#options = options;
  }

  /** The forced backend, or the first backend of the chain once configured ("auto" until then). */
  get backendName(): BackendName | 'auto' {
    return this.#options.backend ?? 'auto';
  }

  /** The primary backend: the forced one, or the first of the chain. */
  get backend(): { isAvailable(): Promise<boolean> } {
    return { isAvailable: async () => (await this.primary()).isAvailable() };
  }

  /** The backend `backend` stands for: the forced one, or the first of the chain. */
  async primary(): Promise<Backend> {
    const first = (await this.#setup()).store.backends[0];
    if (!first) throw new AgentError('ERR_CONFIG_INVALID', 'no backend is configured');
    return first;
  }

  /** The backends of the chain, in order. */
  async backends(): Promise<readonly Backend[]> {
    return (await this.#setup()).store.backends;
  }

  /** The chain for probing: its backends, started the way every read starts them. */
  async probed(): Promise<Probed> {
    return (await this.#setup()).store;
  }

  /** One value; `default` is returned only when no backend has the secret (never on an outage or a denial). */
  async getSecret(path: string, options: { default?: string; backend?: BackendName } = {}): Promise<string> {
    const resolution = await this.resolve({ kind: 'value', path }, options.backend);
    if (resolution.status === 'not_found' && options.default !== undefined) return options.default;
    if (resolution.status !== 'found') throw libraryError(path, resolution);
    if (typeof resolution.data !== 'string') throw new AgentError('ERR_BACKEND_DATA', `"${path}" is a map of keys, not a value; use getSecrets("${path}")`);
    return resolution.data;
  }

  /** Every key of a secret (`exchange/binance` → `{ api_key, api_secret, testnet }`). */
  async getSecrets(path: string, options: { backend?: BackendName } = {}): Promise<Record<string, string>> {
    const resolution = await this.resolve({ kind: 'map', path }, options.backend);
    if (resolution.status !== 'found') throw libraryError(path, resolution);
    if (typeof resolution.data === 'string') throw new AgentError('ERR_BACKEND_DATA', `"${path}" is a single value, not a map of keys; use getSecret("${path}")`);
    return { ...resolution.data };
  }

  /** `exchange/<name>`, which must hold `api_key` and `api_secret`; other keys (testnet, passphrase) come along. */
  async getExchangeCredentials(name: string): Promise<Record<string, string> & { api_key: string; api_secret: string }> {
    const data = await this.getSecrets(`exchange/${name}`);
    const missing = ['api_key', 'api_secret'].filter((key) => !Object.hasOwn(data, key));
    if (missing.length > 0) throw new AgentError('ERR_SECRET_NOT_FOUND', `Secret not found: exchange/${name}/${missing.join(', exchange/' + name + '/')}`, { details: { path: `exchange/${name}` } });
    return data as Record<string, string> & { api_key: string; api_secret: string };
  }

  /** Resolve one reference through the chain, for the rotation manager and the CLI. */
  async resolve(ref: SecretRef, backend?: BackendName): Promise<Resolution> {
    const { store, scrubber } = await this.#setup();
    const resolution = await store.resolve({ ref, backend });
    // Whatever this process logs from now on must not carry the value it just read.
    if (resolution.status === 'found') scrubber.add(typeof resolution.data === 'string' ? [resolution.data] : Object.values(resolution.data));
    return resolution;
  }

  /** The logger and configuration in use. */
  async context(): Promise<{ config: Config; log: Logger }> {
    const { config, log } = await this.#setup();
    return { config, log };
  }

  /** Release the backends' sockets and timers. */
  async close(): Promise<void> {
    if (!this.#ready) return;
    await (await this.#ready).store.close();
  }

  #setup(): Promise<{ config: Config; store: SecretStore; log: Logger; scrubber: Scrubber }> {
    this.#ready ??= (async () => {
      const env = this.#options.env ?? process.env;
      const backend = this.#options.backend;
      const config = await loadConfig({ file: this.#options.config, env, flags: backend === undefined ? {} : { backend }, cwd: process.cwd() });
      const scrubber = new Scrubber();
      const log = this.#options.log ?? createLogger({ level: config.log.level, format: config.log.format, scrubber });
      const backends = await createChain(config, env, log);
      // No backend is started here: the store starts each before its first read, as for every command, so a
      // backend that is down now (Vault sealed) is unavailable for that read and is started again by the next.
      const store = new SecretStore({
        chain: backends,
        retry: { ...config.retry, attempts: 2 },
        events: { onUnavailable: (event) => { const { fields, message } = describeOutage(event); log.warn(fields, message); } },
      });
      return { config, log, scrubber, store };
    })();
    return this.#ready;
  }
}
